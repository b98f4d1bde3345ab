//! The model as an SVG picture, laid out by layout-rs: a box per namespace (its name on top, a row
//! per link: name, kind, master or parent, addresses), a line for each veth pair and for each child
//! whose parent is in another namespace (dashed), and an ellipse per overlay joined to its devices
//! (dotted). Links within one namespace (a port's bridge, a VLAN's parent there) are said in the
//! row, since a line from a box to itself says nothing. The SVG is written here, not by the crate's
//! writer, so that it is the same bytes on every run (numbers rounded, one font size, sorted).

use super::{End, Link, Topology, ns_label};
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, RecordDef, ShapeKind};
use layout::topo::layout::VisualGraph;
use std::collections::BTreeMap;
use std::fmt::Write;

const FONT: usize = 14;

/// The text of a link's row.
fn row(name: &str, l: &Link, ns: &crate::ops::Ns) -> String {
    let mut s = format!("{name}: {}", l.kind_label());
    if let Some(m) = &l.master {
        let _ = write!(s, "\nport of {m}");
    }
    if let Some(p) = &l.parent {
        if p.ns == *ns {
            let _ = write!(s, "\non {}", p.link);
        } else {
            let _ = write!(s, "\non {} in {}", p.link, ns_label(&p.ns));
        }
    }
    if let Some(p) = &l.peer
        && p.ns == *ns
    {
        let _ = write!(s, "\npeer {}", p.link);
    }
    for a in &l.addresses {
        let _ = write!(s, "\n{a}");
    }
    s
}

/// A record's port for link `name`: `l:` before it, so that no port is the empty header's.
fn port(link: &str) -> Option<String> {
    Some(format!("l:{link}"))
}

fn line(class: &str, style: LineStyleKind, from: &End, to: Option<&End>) -> Arrow {
    Arrow {
        start: LineEndKind::None,
        end: LineEndKind::None,
        line_style: style,
        text: String::new(),
        look: StyleAttr::simple(),
        properties: Some(class.to_string()),
        src_port: port(&from.link),
        dst_port: to.and_then(|t| port(&t.link)),
    }
}

pub fn render(t: &Topology) -> String {
    let orientation = Orientation::TopToBottom;
    let mut vg = VisualGraph::new(Orientation::LeftToRight);
    let look = StyleAttr::new(Color::fast("black"), 1, Some(Color::fast("white")), 0, FONT);
    let mut handles = BTreeMap::new();
    for (ns, space) in &t.spaces {
        let mut fields = vec![RecordDef::new_text(ns_label(ns))];
        for (name, l) in &space.links {
            fields.push(RecordDef::Text(row(name, l, ns), port(name)));
        }
        let shape = ShapeKind::Record(RecordDef::Array(fields));
        let size = get_shape_size(orientation, &shape, FONT, false);
        let h = vg.add_node(Element::create(shape, look.clone(), orientation, size));
        handles.insert(ns.clone(), h);
    }
    for (ns, name, l) in t.links() {
        let me = End {
            ns: ns.clone(),
            link: name.clone(),
        };
        let Some(&from) = handles.get(ns) else {
            continue;
        };
        if let Some(p) = &l.peer
            && p.ns != *ns
            && let Some(&to) = handles.get(&p.ns)
            && let Some(other) = t.link(p)
        {
            // each pair once, drawn from the host's end to the bridge port's (switches right)
            let towards = match (l.master.is_some(), other.master.is_some()) {
                (false, true) => true,
                (true, false) => false,
                _ => me < *p,
            };
            if towards {
                vg.add_edge(line("veth", LineStyleKind::Normal, &me, Some(p)), from, to);
            }
        }
        if let Some(p) = &l.parent
            && p.ns != *ns
            && let Some(&to) = handles.get(&p.ns)
            && t.link(p).is_some()
        {
            vg.add_edge(
                line("parent", LineStyleKind::Dashed, &me, Some(p)),
                from,
                to,
            );
        }
    }
    for o in t.overlays() {
        let shape = ShapeKind::Circle(o.label.clone());
        let size = get_shape_size(orientation, &shape, FONT, false);
        let mut elem = Element::create(shape, look.clone(), orientation, size);
        elem.properties = Some("overlay".into());
        let h = vg.add_node(elem);
        for m in &o.members {
            if let Some(&from) = handles.get(&m.ns) {
                vg.add_edge(line("overlay", LineStyleKind::Dotted, m, None), from, h);
            }
        }
    }
    let mut out = Svg::default();
    if vg.num_nodes() > 0 {
        vg.do_it(false, false, false, &mut out);
    }
    out.finish()
}

/// A number as the picture writes it: one decimal, no `-0.0`.
fn num(x: f64) -> String {
    let s = format!("{:.1}", x);
    if s == "-0.0" { "0.0".into() } else { s }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// layout-rs's drawing calls written as SVG, with the picture's bounds kept as they come.
#[derive(Default)]
struct Svg {
    body: String,
    max: Option<(f64, f64)>,
}

impl Svg {
    fn grow(&mut self, x: f64, y: f64) {
        let (mx, my) = self.max.unwrap_or((0.0, 0.0));
        self.max = Some((mx.max(x), my.max(y)));
    }

    fn finish(self) -> String {
        let (w, h) = self.max.map_or((10.0, 10.0), |(x, y)| (x + 10.0, y + 10.0));
        let mut out = String::new();
        let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="monospace" font-size="{FONT}">"#,
            w = num(w),
            h = num(h)
        );
        out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
        out.push('\n');
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }
}

impl RenderBackend for Svg {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        _properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        self.grow(xy.x + size.x, xy.y + size.y);
        let fill = if look.fill_color.is_some() {
            "white"
        } else {
            "none"
        };
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="black"/>"#,
            num(xy.x),
            num(xy.y),
            num(size.x),
            num(size.y)
        );
    }

    fn draw_line(
        &mut self,
        start: Point,
        stop: Point,
        _look: &StyleAttr,
        _properties: Option<String>,
    ) {
        self.grow(start.x.max(stop.x), start.y.max(stop.y));
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
            num(start.x),
            num(start.y),
            num(stop.x),
            num(stop.y)
        );
    }

    fn draw_circle(
        &mut self,
        xy: Point,
        size: Point,
        _look: &StyleAttr,
        properties: Option<String>,
    ) {
        self.grow(xy.x + size.x / 2.0, xy.y + size.y / 2.0);
        let class = properties.unwrap_or_default();
        let _ = writeln!(
            self.body,
            r##"<ellipse class="{}" cx="{}" cy="{}" rx="{}" ry="{}" fill="#eef" stroke="black"/>"##,
            escape(&class),
            num(xy.x),
            num(xy.y),
            num(size.x / 2.0),
            num(size.y / 2.0)
        );
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        let lines: Vec<&str> = text.lines().collect();
        let step = look.font_size as f64 * 1.2;
        let first = xy.y - step * (lines.len().max(1) - 1) as f64 / 2.0;
        let _ = write!(
            self.body,
            r#"<text x="{}" y="{}" text-anchor="middle" dominant-baseline="middle">"#,
            num(xy.x),
            num(first)
        );
        for (i, l) in lines.iter().enumerate() {
            let dy = if i == 0 { 0.0 } else { step };
            let _ = write!(
                self.body,
                r#"<tspan x="{}" dy="{}">{}</tspan>"#,
                num(xy.x),
                num(dy),
                escape(l)
            );
        }
        self.body.push_str("</text>\n");
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        _head: (bool, bool),
        _look: &StyleAttr,
        properties: Option<String>,
        _text: &str,
    ) {
        if path.len() < 2 {
            return;
        }
        for p in path {
            self.grow(p.0.x.max(p.1.x), p.0.y.max(p.1.y));
        }
        let class = properties.unwrap_or_default();
        let mut d = format!(
            "M {} {} C {} {}, {} {}, {} {}",
            num(path[0].0.x),
            num(path[0].0.y),
            num(path[0].1.x),
            num(path[0].1.y),
            num(path[1].0.x),
            num(path[1].0.y),
            num(path[1].1.x),
            num(path[1].1.y)
        );
        for p in &path[2..] {
            let _ = write!(
                d,
                " S {} {}, {} {}",
                num(p.0.x),
                num(p.0.y),
                num(p.1.x),
                num(p.1.y)
            );
        }
        let dash = match (dashed, class.as_str()) {
            (true, "overlay") => r#" stroke-dasharray="2,4""#,
            (true, _) => r#" stroke-dasharray="6,4""#,
            (false, _) => "",
        };
        let _ = writeln!(
            self.body,
            r#"<path class="{}" d="{d}" fill="none" stroke="black"{dash}/>"#,
            escape(&class)
        );
    }

    fn create_clip(&mut self, _xy: Point, _size: Point, _rounded_px: usize) -> ClipHandle {
        0
    }
}
