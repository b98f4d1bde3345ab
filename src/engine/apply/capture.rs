//! Carrying out `capture`: the recording starts in its own thread (probe/capture/) and the run keeps
//! it until the script ends. It changes nothing in the kernel, so it has no undo step.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::ops::Capture;
use crate::probe::capture::Recording;

impl RealWorld {
    pub(in crate::engine) fn start_capture(&mut self, c: &Capture) -> Result<(), RunError> {
        let r = Recording::start(c, self.opts.json)?;
        self.captures.push(r);
        Ok(())
    }

    /// How many captures are still recording (`wait` keeps them going).
    pub(in crate::engine) fn captures_running(&self) -> usize {
        self.captures.iter().filter(|r| r.running()).count()
    }

    /// Stops every capture, writes what each still had queued, and says what each recorded.
    pub(in crate::engine) fn stop_captures(&mut self) {
        for r in std::mem::take(&mut self.captures) {
            let (what, to) = (r.what.clone(), r.to.clone());
            let o = r.stop();
            let into = to.map(|f| format!(" to {f}")).unwrap_or_default();
            let plural = if o.packets == 1 { "" } else { "s" };
            let mut line = format!(
                "netsh: capture on {what}: {} packet{plural}{into}",
                o.packets
            );
            if o.dropped > 0 {
                line += &format!(", {} dropped by the kernel", o.dropped);
            }
            if let Some(e) = o.error {
                line += &format!(" (stopped early: {e})");
            }
            eprintln!("{line}");
        }
    }
}
