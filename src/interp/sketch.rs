//! `netsh graph FILE`: a dry run that draws instead of printing. Each Op goes to the topology model
//! (src/topology/) and to a silent dry run, whose model answers `exists` as in `--dry-run`; the
//! kernel is never touched.

use crate::base::error::RunError;
use crate::interp::world::{DryRun, World};
use crate::ops::{ObjectKind, Op};
use crate::topology::Topology;

pub struct Sketch {
    dry: DryRun<std::io::Sink>,
    pub topology: Topology,
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch {
            dry: DryRun::new(std::io::sink()),
            topology: Topology::new(),
        }
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::new()
    }
}

impl World for Sketch {
    fn apply(&mut self, op: &Op) -> Result<(), RunError> {
        self.topology.apply(op);
        self.dry.apply(op)
    }

    fn exists(
        &mut self,
        kind: ObjectKind,
        target: &str,
        ns: Option<&str>,
    ) -> Result<bool, RunError> {
        self.dry.exists(kind, target, ns)
    }

    fn capture(&mut self, _ns: Option<&str>, _argv: &[String]) -> Result<String, RunError> {
        Ok(String::new())
    }

    fn say(&mut self, _text: &str) {}

    fn is_dry(&self) -> bool {
        true
    }
}
