//! The model as JSON: `{"namespaces": [{"name", "links": [...]}], "overlays": [...]}`, sorted by
//! name; netsh's own namespace has the name `null`.

use super::{End, Topology};
use serde_json::{Map, Value, json};

fn end(e: &End) -> Value {
    json!({ "netns": e.ns.as_deref(), "link": e.link.as_str() })
}

pub fn render(t: &Topology) -> Value {
    let namespaces: Vec<Value> = t
        .spaces
        .iter()
        .map(|(ns, space)| {
            let links: Vec<Value> = space
                .links
                .iter()
                .map(|(name, l)| {
                    let mut o = Map::new();
                    o.insert("name".into(), json!(name.as_str()));
                    o.insert("kind".into(), json!(l.kind));
                    if let Some(m) = l.mode {
                        o.insert("mode".into(), json!(m));
                    }
                    if let Some(id) = l.id {
                        o.insert("id".into(), json!(id));
                    }
                    if let Some(p) = l.port {
                        o.insert("port".into(), json!(p));
                    }
                    if let Some(p) = &l.parent {
                        o.insert("parent".into(), end(p));
                    }
                    if let Some(p) = &l.peer {
                        o.insert("peer".into(), end(p));
                    }
                    if let Some(m) = &l.master {
                        o.insert("master".into(), json!(m.as_str()));
                    }
                    let addrs: Vec<String> = l.addresses.iter().map(|a| a.to_string()).collect();
                    o.insert("addresses".into(), json!(addrs));
                    o.insert("up".into(), json!(l.up));
                    Value::Object(o)
                })
                .collect();
            json!({ "name": ns.as_deref(), "links": links })
        })
        .collect();
    let overlays: Vec<Value> = t
        .overlays()
        .iter()
        .map(|o| json!({ "label": o.label, "members": o.members.iter().map(end).collect::<Vec<_>>() }))
        .collect();
    json!({ "namespaces": namespaces, "overlays": overlays })
}
