//! Applying probe Ops: carrying each out, and recording how to undo it.

use crate::base::diag::Code;
use crate::base::error::RunError;
use crate::base::json_stream::{self, Type};
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::ops::{Check, Ns, Op, ProbeOp};
use crate::probe::http;
use crate::probe::ping::{Outcome, Probe};
use crate::probe::show;
use crate::sys::exec;
use std::net::IpAddr;
use std::time::Duration;

/// Time between probes of `expect reach` / `no-reach` and `ping`.
const PROBE_INTERVAL: Duration = Duration::from_millis(200);

impl RealWorld {
    /// An address, or the name of a container this run made.
    pub(in crate::engine) fn resolve(&self, target: &str, v6: bool) -> Result<IpAddr, RunError> {
        if let Ok(ip) = target.parse::<IpAddr>() {
            return Ok(ip);
        }
        let bare = target.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(ip);
        }
        match self.containers.get(target) {
            Some(m) if v6 => m.v6.map(IpAddr::V6).ok_or_else(|| RunError::new(format!("container {target} has no IPv6 address"))),
            Some(m) => Ok(IpAddr::V4(m.v4)),
            None => Err(RunError::new(format!("cannot resolve `{target}`: it is neither an address nor a container made by this script"))
                .help("use an IP address, or the name given to `container NAME`")),
        }
    }

    pub(in crate::engine) fn probe(
        &self,
        from: &Ns,
        target: IpAddr,
        src: Option<IpAddr>,
        timeout: f64,
    ) -> Result<Outcome, RunError> {
        let timeout = Duration::from_secs_f64(timeout.clamp(0.05, 3600.0));
        let count = (timeout.as_secs_f64() / PROBE_INTERVAL.as_secs_f64())
            .ceil()
            .max(1.0) as u32;
        crate::probe::ping::run(
            from.as_deref(),
            Probe {
                target,
                src,
                count,
                interval: PROBE_INTERVAL,
                wait: PROBE_INTERVAL.min(timeout),
                until_reply: true,
            },
        )
    }

    pub(in crate::engine) fn ping(
        &mut self,
        from: &Ns,
        target: &str,
        src: Option<IpAddr>,
        count: u32,
        timeout: f64,
    ) -> Result<(), RunError> {
        let ip = self.resolve(target, src.is_some_and(|s| s.is_ipv6()))?;
        let wait = Duration::from_secs_f64(timeout.clamp(0.05, 3600.0));
        let probe = Probe {
            target: ip,
            src,
            count: count.max(1),
            interval: PROBE_INTERVAL,
            wait,
            until_reply: false,
        };
        // each reply is shown as it comes (in text; --json gives the summary's record)
        let mut shown = |r: crate::probe::ping::Reply| {
            if !json_stream::json() {
                let ms = r.rtt.as_secs_f64() * 1000.0;
                let line = format!("reply from {}: seq={} time={ms:.3} ms", r.from, r.seq);
                json_stream::text(Type::Ping, &line);
            }
        };
        let o = crate::probe::ping::run_with(from.as_deref(), probe, &mut shown)?;
        let whence = from
            .as_deref()
            .map(|n| format!(" from {n}"))
            .unwrap_or_default();
        let ms: Vec<f64> = o.rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        let loss = (o.received * 100)
            .checked_div(o.sent)
            .map_or(100, |got| 100 - got.min(100));
        if json_stream::json() {
            let v = serde_json::json!({"ping": ip.to_string(), "from": from, "sent": o.sent, "received": o.received, "loss_percent": loss, "rtt_ms": ms, "error": o.send_error});
            json_stream::record(Type::Ping, v);
        } else {
            let mut line = format!(
                "ping {ip}{whence}: {} sent, {} received, {loss}% loss",
                o.sent, o.received
            );
            if !ms.is_empty() {
                let min = ms.iter().cloned().fold(f64::MAX, f64::min);
                let max = ms.iter().cloned().fold(0.0, f64::max);
                let avg = ms.iter().sum::<f64>() / ms.len() as f64;
                line += &format!(", rtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms");
            }
            self.print(Type::Ping, &line);
        }
        if o.interrupted {
            return crate::sys::signals::check();
        }
        if o.received == 0 {
            let why = o.send_error.map(|e| format!(": {e}")).unwrap_or_default();
            return Err(RunError::new(format!(
                "no reply from {ip}{whence} to {} probes{why}",
                o.sent
            )));
        }
        Ok(())
    }

    pub(in crate::engine) fn expect(
        &mut self,
        from: &Ns,
        target: &str,
        src: Option<IpAddr>,
        timeout: f64,
        check: &Check,
    ) -> Result<(), RunError> {
        let whence = from
            .as_deref()
            .map(|n| format!(" from {n}"))
            .unwrap_or_else(|| " from this namespace".into());
        let failed = |msg: String| RunError::new(msg).with_code(Code::ExpectFailed);
        let (ok, detail) = match check {
            Check::Reach | Check::NoReach => {
                let ip = self.resolve(target, src.is_some_and(|s| s.is_ipv6()))?;
                let o = self.probe(from, ip, src, timeout)?;
                if o.interrupted {
                    crate::sys::signals::check()?;
                }
                let reached = o.received > 0;
                let want = *check == Check::Reach;
                if reached != want {
                    let msg = if want {
                        match o.send_error {
                            Some(e) => format!(
                                "expected {ip} to be reachable{whence}, but the echo request could not be sent: {e}"
                            ),
                            None => format!(
                                "expected {ip} to be reachable{whence}, but {} echo requests over {timeout}s got no reply",
                                o.sent
                            ),
                        }
                    } else {
                        let rtt = o
                            .rtts
                            .first()
                            .map(|d| format!(" in {:.3} ms", d.as_secs_f64() * 1000.0))
                            .unwrap_or_default();
                        format!(
                            "expected {ip} to be unreachable{whence}, but it answered an echo request{rtt}"
                        )
                    };
                    return Err(failed(msg).help("`show routes in NS`, `show neigh in NS` and `show links in NS` show what the namespace has"));
                }
                (true, if want { "reachable" } else { "unreachable" })
            }
            Check::Http {
                url,
                contains,
                status,
            } => {
                let u = http::parse_url(url)?;
                let ip = self.resolve(&u.host, false)?;
                let t = Duration::from_secs_f64(timeout.clamp(0.05, 3600.0));
                let a = match http::get(from.as_deref(), &u, ip, t)? {
                    Ok(a) => a,
                    Err(e) => {
                        return Err(failed(format!(
                            "expected {url}{whence} to contain {contains:?}, but {e}"
                        )));
                    }
                };
                // success is a 2xx status unless the statement names the status it expects
                let wanted = match status {
                    Some(code) => a.status == *code,
                    None => (200..300).contains(&a.status),
                };
                let shown: String = a.body.trim().chars().take(200).collect();
                if !wanted {
                    let want = status.map_or("a 2xx status".to_string(), |c| format!("status {c}"));
                    return Err(failed(format!(
                        "expected {url}{whence} to answer with {want}, but it answered {:?} with {shown:?}",
                        a.status_line()
                    ))
                    .at("url", url.as_str())
                    .help(format!("to expect this answer, add `status {}`", a.status)));
                }
                if !a.body.contains(contains.as_str()) {
                    return Err(failed(format!(
                        "expected {url}{whence} to contain {contains:?}, but it answered {:?} with {shown:?}",
                        a.status_line()
                    )));
                }
                (true, "answered")
            }
        };
        // the run's reporter writes the check's line or record (app/report.rs)
        let _ = (ok, detail);
        Ok(())
    }

    pub(in crate::engine) fn show(
        &mut self,
        ns: &Ns,
        what: &str,
        json: bool,
    ) -> Result<(), RunError> {
        if what == "networks" {
            let rows = self.docker.rows(ns);
            json_stream::show(what, ns.as_deref(), json, rows, crate::docker::text);
            return Ok(());
        }
        if what == "tunnel" {
            return self.flannel()?.show_tunnel(ns, json);
        }
        if matches!(what, "leases" | "config") {
            let f = self.flannel()?;
            if let Some(r) = f.show(what, json) {
                return r;
            }
        }
        let nl = self.nl(ns)?;
        let rows = self.rt.block_on(show::rows(&nl, what))?;
        let text = show::text(what, &rows);
        json_stream::show(
            what,
            ns.as_deref(),
            json,
            show::as_ip_json(what, rows),
            |_| text,
        );
        Ok(())
    }

    /// Carries out a probe Op, recording nothing (`record_probe` records around it).
    pub(in crate::engine) fn dispatch_probe(&mut self, op: &ProbeOp) -> Result<(), RunError> {
        match op {
            ProbeOp::Exec { ns, argv } if json_stream::json() => {
                // the program's output becomes a record: nothing raw reaches standard output
                let (output, status) =
                    exec::run_collected(ns.as_deref(), argv, self.hosts.as_deref())?;
                json_stream::record(
                    Type::Exec,
                    serde_json::json!({"ns": ns, "argv": argv, "output": output}),
                );
                status
            }
            ProbeOp::Exec { ns, argv } => exec::run(ns.as_deref(), argv, self.hosts.as_deref()),
            ProbeOp::Show { ns, what, json } => self.show(ns, what, *json),
            ProbeOp::Echo(text) => {
                self.print(Type::Echo, text);
                Ok(())
            }
            ProbeOp::Ping {
                from,
                target,
                src,
                count,
                timeout,
            } => self.ping(from, target, *src, *count, *timeout),
            ProbeOp::Expect {
                from,
                target,
                src,
                timeout,
                check,
            } => self.expect(from, target, *src, *timeout, check),
            ProbeOp::Dump { ns } => {
                let text = self.dump_script(ns)?;
                if json_stream::json() {
                    json_stream::record(Type::Dump, serde_json::json!({"ns": ns, "script": text}));
                } else {
                    self.print(Type::Dump, &text);
                }
                Ok(())
            }
            ProbeOp::Topology { ns, picture } => {
                let text = self.topology(ns, *picture)?;
                // under --json a picture is a `show` record's text (DOT, SVG, or the JSON model)
                self.print(Type::Show, text.trim_end_matches('\n'));
                Ok(())
            }
            ProbeOp::State { ns, timeout, check } => self.expect_state(ns, *timeout, check),
            ProbeOp::Capture(c) => self.start_capture(c),
        }
    }

    /// Applies a probe Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_probe(
        &mut self,
        whole: &Op,
        op: &ProbeOp,
    ) -> Result<Applied, RunError> {
        match op {
            ProbeOp::Exec { argv, .. } => {
                self.dispatch(whole)?;
                Ok(Applied {
                    changed: false,
                    undo: vec![Undo::Kept(format!("whatever `{}` changed", argv.join(" ")))],
                    journaled: false,
                })
            }
            // they show or check, and change nothing
            ProbeOp::Show { .. }
            | ProbeOp::Echo(_)
            | ProbeOp::Ping { .. }
            | ProbeOp::Expect { .. }
            | ProbeOp::Dump { .. }
            | ProbeOp::Topology { .. }
            | ProbeOp::Capture(_)
            | ProbeOp::State { .. } => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
        }
    }
}
