//! The interactive shell.

use crate::cli::Cli;

pub fn run(_cli: &Cli) -> i32 {
    eprintln!("netsh: the interactive shell is not part of this build yet");
    2
}
