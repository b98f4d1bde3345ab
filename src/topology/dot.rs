//! The model as DOT for Graphviz: a cluster (box) per namespace holding a node per link (its name,
//! kind and addresses), edges for veth pairs, bridge ports (to their master), children on their
//! parents, and an ellipse per overlay joined to its devices.

use super::{End, Topology, ns_label};
use crate::ops::Ns;

/// A DOT string: quoted, with `"` and `\` escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The node id of a link: `netns/link` (`-` for netsh's own namespace).
fn node(ns: &Ns, link: &str) -> String {
    quoted(&format!("{}/{link}", ns.as_deref().unwrap_or("-")))
}

fn end_node(e: &End) -> String {
    node(&e.ns, &e.link)
}

pub fn render(t: &Topology) -> String {
    let mut out =
        String::from("graph lab {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    for (i, (ns, space)) in t.spaces.iter().enumerate() {
        out += &format!(
            "  subgraph cluster_{i} {{\n    label={};\n",
            quoted(ns_label(ns))
        );
        if space.links.is_empty() {
            // an empty namespace still shows as a box
            out += &format!("    {} [label=\"\", shape=point];\n", node(ns, ""));
        }
        for (name, l) in &space.links {
            let mut label = format!("{name}\n{}", l.kind_label());
            for a in &l.addresses {
                label += &format!("\n{a}");
            }
            out += &format!("    {} [label={}];\n", node(ns, name), quoted(&label));
        }
        out += "  }\n";
    }
    for (ns, name, l) in t.links() {
        let here = node(ns, name);
        if let Some(p) = &l.peer {
            // each pair once, from the end that sorts first
            let me = End {
                ns: ns.clone(),
                link: name.clone(),
            };
            if me < *p && t.link(p).is_some() {
                out += &format!("  {here} -- {} [label=\"veth\"];\n", end_node(p));
            }
        }
        if let Some(m) = &l.master {
            out += &format!("  {here} -- {} [label=\"port\"];\n", node(ns, m));
        }
        if let Some(p) = &l.parent
            && t.link(p).is_some()
        {
            out += &format!(
                "  {here} -- {} [style=dashed, label={}];\n",
                end_node(p),
                quoted(&format!("{} on", l.kind))
            );
        }
    }
    for (i, o) in t.overlays().iter().enumerate() {
        out += &format!(
            "  overlay_{i} [shape=ellipse, label={}];\n",
            quoted(&o.label)
        );
        for m in &o.members {
            out += &format!("  overlay_{i} -- {} [style=dotted];\n", end_node(m));
        }
    }
    out += "}\n";
    out
}
