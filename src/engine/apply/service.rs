//! Applying service Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::base::json_stream::Type;
use crate::engine::flannel_runtime::Flannel;
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::ndp::Answer;
use crate::ops::{Ns, Op, ServiceOp};
use crate::probe::http;
use crate::sys::sysctl;
use std::time::Duration;

impl RealWorld {
    /// `proxy-ndp PREFIX on IF [for NETWORK]`: proxy_ndp=1 and a responder answering for the
    /// whole prefix, or for the addresses of it NETWORK (of the same host) has handed out.
    pub(in crate::engine) fn ndp_responder(
        &mut self,
        ns: &Ns,
        prefix: ipnet::IpNet,
        dev: &str,
        network: Option<&str>,
    ) -> Result<(), RunError> {
        let ipnet::IpNet::V6(prefix) = prefix else {
            return Err(RunError::new(format!(
                "proxy-ndp needs an IPv6 prefix, not {prefix}"
            )));
        };
        let answer = match network {
            None => Answer::Every,
            Some(n) => {
                self.docker.check_ndp_prefix(ns, n, prefix)?;
                Answer::HandedOut {
                    network: n.to_string(),
                    addrs: self
                        .docker
                        .handed_out(ns, n, prefix.trunc())
                        .into_iter()
                        .collect(),
                }
            }
        };
        // sysctl(8) writes the dots of a link name (eth1.19) as slashes
        let key = format!("net.ipv6.conf.{}.proxy_ndp", dev.replace('.', "/"));
        sysctl::set(ns.as_deref(), &key, "1")?;
        if let Some(r) = self.ndp.get(&(ns.clone(), dev.to_string())) {
            r.add(prefix, answer);
            return Ok(());
        }
        let r = crate::ndp::Responder::start(ns.as_deref(), dev, prefix, answer)?;
        self.ndp.insert((ns.clone(), dev.to_string()), r);
        self.services += 1;
        Ok(())
    }

    /// Hands each responder that answers for a network the addresses that network holds now:
    /// called after anything that attaches, removes or brings back containers or networks.
    pub(in crate::engine) fn sync_ndp(&self) {
        for ((host, _), r) in &self.ndp {
            for (network, prefix) in r.networks() {
                let now = self.docker.handed_out(host, &network, prefix);
                r.hand_out(&network, prefix, now.into_iter().collect());
            }
        }
    }

    /// Carries out a service Op, recording nothing (`record_service` records around it).
    pub(in crate::engine) fn dispatch_service(&mut self, op: &ServiceOp) -> Result<(), RunError> {
        match op {
            ServiceOp::Http { ns, port, text } => {
                http::serve(ns.as_deref(), *port, text)?;
                self.services += 1;
                Ok(())
            }
            ServiceOp::Wait => {
                let overlays = self.flannel.as_ref().map_or(0, Flannel::services);
                if self.services + overlays + self.captures_running() == 0 {
                    self.print(
                        Type::Note,
                        "netsh: no services are running; nothing to wait for",
                    );
                    return Ok(());
                }
                self.print(Type::Note, "netsh: services running; press Ctrl-C to stop");
                // SIGINT or SIGTERM ends the wait as it stops any statement: the run rolls back
                loop {
                    crate::sys::signals::sleep(Duration::from_secs(3600))?;
                }
            }
            ServiceOp::Ndp {
                ns,
                prefix,
                dev,
                network,
            } => self.ndp_responder(ns, *prefix, dev, network.as_deref()),
        }
    }

    /// Applies a service Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_service(
        &mut self,
        whole: &Op,
        op: &ServiceOp,
    ) -> Result<Applied, RunError> {
        // a service is a thread of this process, gone when netsh exits: starting one is no change
        // of state (a re-run starts it again and still changes nothing), and the journal gets no
        // step for it (`record_all`)
        let service = || Undo::Service(format!("{} (stops when netsh exits)", op.what()));
        match op {
            ServiceOp::Http { .. } => {
                self.dispatch(whole)?;
                Ok(Applied {
                    changed: false,
                    undo: vec![service()],
                    journaled: false,
                })
            }
            // the responder sets the link's proxy_ndp: that is a change when it was off, undone
            // by putting the old value back (in the journal too)
            ServiceOp::Ndp { ns, dev, .. } => {
                let key = format!("net.ipv6.conf.{}.proxy_ndp", dev.replace('.', "/"));
                let old = sysctl::get(ns.as_deref(), &key)?;
                let was_on = old.trim() == "1";
                self.dispatch(whole)?;
                let mut undo = vec![service()];
                if !was_on {
                    undo.push(Undo::Op(Op::Sysctl(crate::ops::SysctlOp::Set {
                        ns: ns.clone(),
                        key: key.into(),
                        value: old.trim().into(),
                    })));
                }
                Ok(Applied {
                    changed: !was_on,
                    undo,
                    journaled: false,
                })
            }
            // they show or check, and change nothing
            ServiceOp::Wait => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
        }
    }
}
