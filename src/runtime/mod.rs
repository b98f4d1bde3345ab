//! The kernel runtime: applies Ops over netlink inside namespaces. (Built in the runtime issue.)

use crate::cli::Cli;
use crate::interp::world::World;

/// The world a real (not dry) run acts on.
pub fn world(_cli: &Cli) -> Result<Box<dyn World>, String> {
    Err(
        "the kernel runtime is not part of this build yet; run with --dry-run to see the commands"
            .into(),
    )
}
