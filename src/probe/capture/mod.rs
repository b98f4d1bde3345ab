//! `capture`: a thread inside the link's namespace reads every frame of the link from a packet socket
//! (pnet's datalink channel, AF_PACKET) and writes those that pass the filter to a pcap file or to
//! stdout, while the script goes on. A plain thread, as the NDP responder's: the socket must be made
//! inside the namespace, and the loop blocks on that one socket only.
//!
//! `start` returns once the socket listens, so a `ping` on the next line is recorded whole. The
//! recording stops at its count or time, or when `stop` is called (the script ended, or failed and is
//! about to be rolled back): what the kernel queued until then is still written, then the file is
//! flushed. A recording dropped is stopped the same way; a process killed outright takes the thread
//! and its socket with it, and nothing else holds the namespace.

pub mod decode;
mod filter;
mod sink;
mod socket;

use crate::base::error::RunError;
use crate::ops::Capture;
use crate::sys::netns;
use decode::decode;
use sink::{Sink, Target};
use socket::{OpenError, PacketSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// What a finished recording did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Packets written (that passed the filter).
    pub packets: u64,
    /// Packets the kernel dropped because netsh did not read them fast enough.
    pub dropped: u64,
    /// Why it stopped early (the link went away, the disk is full).
    pub error: Option<String>,
}

/// A capture running in its thread.
pub struct Recording {
    /// `eth0 in a`, for messages.
    pub what: String,
    /// Where the packets go: the pcap file, or stdout.
    pub to: Option<String>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Outcome>>,
}

impl Recording {
    /// Starts recording as `c` says; `json` prints packets on stdout as JSON objects. Errors (an
    /// unknown link or namespace, a file that cannot be written) leave nothing running.
    pub fn start(c: &Capture, json: bool) -> Result<Recording, RunError> {
        let what = match &c.ns {
            Some(ns) => format!("{} in {ns}", c.dev),
            None => c.dev.to_string(),
        };
        let ns_file = match &c.ns {
            Some(n) => Some(netns::open(n)?),
            None => None,
        };
        let target = c.to.as_deref().map(Target::open).transpose()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, started) = mpsc::channel::<Result<(), OpenError>>();
        let job = Job {
            dev: c.dev.to_string(),
            ns: c.ns.as_ref().map(|n| n.to_string()),
            count: c.count,
            until: c.seconds.map(Duration::from_secs_f64),
            filter: c.filter.clone(),
            json,
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("capture-{}", c.dev))
            .spawn(move || {
                if let Some(f) = ns_file
                    && let Err(e) = nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
                {
                    let _ = ready.send(Err(OpenError::Os(format!(
                        "cannot enter the namespace: {}",
                        e.desc()
                    ))));
                    if let Some(t) = target {
                        t.abandon();
                    }
                    return Outcome::default();
                }
                let socket = match socket::open(&job.dev) {
                    Ok(s) => s,
                    Err(e) => {
                        if let Some(t) = target {
                            t.abandon();
                        }
                        let _ = ready.send(Err(e));
                        return Outcome::default();
                    }
                };
                let sink = match target {
                    Some(t) => Sink::pcap(t, socket.link),
                    None => Ok(Sink::Lines {
                        json: job.json,
                        dev: job.dev.clone(),
                        ns: job.ns.clone(),
                    }),
                };
                match sink {
                    Ok(sink) => {
                        let _ = ready.send(Ok(()));
                        job.record(socket, sink)
                    }
                    Err(e) => {
                        let _ = ready.send(Err(OpenError::Os(e)));
                        Outcome::default()
                    }
                }
            })
            .map_err(|e| RunError::new(format!("cannot start the capture: {e}")))?;
        let whence =
            c.ns.as_ref()
                .map(|n| format!(" in {n}"))
                .unwrap_or_default();
        let failed = match started.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => None,
            Ok(Err(OpenError::NoSuchLink)) => Some(
                RunError::new(format!("Cannot find device \"{}\"{whence}", c.dev))
                    .at("if", c.dev.to_string()),
            ),
            Ok(Err(OpenError::Os(e))) => {
                Some(RunError::new(format!("cannot capture on {what}: {e}")))
            }
            Err(_) => Some(RunError::new(format!(
                "the capture on {what} did not start"
            ))),
        };
        if let Some(e) = failed {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
            return Err(e);
        }
        Ok(Recording {
            what,
            to: c.to.clone(),
            stop,
            thread: Some(thread),
        })
    }

    /// Whether it is still recording (it has not reached its count or time).
    pub fn running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops it (at once, or when it has stopped on its own) and says what it recorded. What the
    /// kernel queued before the call is still written.
    pub fn stop(mut self) -> Outcome {
        self.finish()
    }

    fn finish(&mut self) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(outcome)) => outcome,
            Some(Err(_)) => Outcome {
                error: Some("the capture thread failed".into()),
                ..Default::default()
            },
            None => Outcome::default(),
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// What the capture thread does, and the flag that stops it.
struct Job {
    dev: String,
    ns: Option<String>,
    count: Option<u64>,
    until: Option<Duration>,
    filter: Option<crate::ops::Filter>,
    json: bool,
    stop: Arc<AtomicBool>,
}

impl Job {
    fn record(self, mut socket: PacketSocket, mut sink: Sink) -> Outcome {
        let began = Instant::now();
        let mut out = Outcome::default();
        let mut spare = vec![0u8; socket::SNAPLEN];
        let link = socket.link;
        let decodes = self.filter.is_some() || sink.reads_packets();
        let mut take = |frame: &[u8], out: &mut Outcome| -> Result<(), String> {
            let time = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let decoded = decodes.then(|| decode(frame, link));
            if let (Some(f), Some(d)) = (&self.filter, &decoded)
                && !filter::passes(f, d)
            {
                return Ok(());
            }
            sink.put(time, frame, link, decoded.as_ref())?;
            out.packets += 1;
            Ok(())
        };
        loop {
            if self.count.is_some_and(|c| out.packets >= c)
                || self.until.is_some_and(|u| began.elapsed() >= u)
            {
                break;
            }
            let taken = if self.stop.load(Ordering::Relaxed) {
                // the script ended: what is queued arrived before, and is written; then it stops
                match socket.queued(&mut spare) {
                    Some(n) => take(&spare[..n], &mut out),
                    None => break,
                }
            } else {
                match socket.rx.next() {
                    Ok(frame) => take(frame, &mut out),
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                    Err(e) => Err(format!("cannot read from {}: {e}", self.dev)),
                }
            };
            if let Err(e) = taken {
                out.error = Some(e);
                break;
            }
        }
        out.dropped = socket.dropped();
        drop(take);
        if let Err(e) = sink.finish() {
            out.error.get_or_insert(e);
        }
        out
    }
}
