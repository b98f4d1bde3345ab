//! The model as text for a terminal: each namespace, then a line per link (name, kind, what it is
//! joined to, addresses), then the overlays.

use super::{Topology, ns_label};

pub fn render(t: &Topology) -> String {
    let mut out = String::new();
    for (ns, space) in &t.spaces {
        out += ns_label(ns);
        out.push('\n');
        for (name, l) in &space.links {
            let mut line = format!("  {name:<16} {}", l.kind_label());
            if let Some(p) = &l.peer {
                line += &format!(" peer {} in {}", p.link, ns_label(&p.ns));
            }
            if let Some(p) = &l.parent {
                line += &format!(" on {} in {}", p.link, ns_label(&p.ns));
            }
            if let Some(m) = &l.master {
                line += &format!(" master {m}");
            }
            for a in &l.addresses {
                line += &format!(" {a}");
            }
            out += line.trim_end();
            out.push('\n');
        }
    }
    for o in t.overlays() {
        let members: Vec<String> = o
            .members
            .iter()
            .map(|m| format!("{} in {}", m.link, ns_label(&m.ns)))
            .collect();
        out += &format!("overlay {}: {}\n", o.label, members.join(", "));
    }
    out
}
