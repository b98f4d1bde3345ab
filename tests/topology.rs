//! A picture of the lab: `netsh graph FILE` draws a script's lab from a dry run, `show topology`
//! the live one. The committed pictures of the book's labs (docs/topology/, written by
//! scripts/topology-pictures) are what netsh draws now; the quickstart's is XML naming each of its
//! namespaces and links; the live picture of a lab is the one its dry run draws; bad input is a
//! located error.

mod util;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use util::Netsh;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The book's examples and the quickstart: the labs docs/topology/ holds a picture of.
fn pictured_examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".netsh") && (name.starts_with("ch") || name == "quickstart.netsh")
        })
        .collect();
    out.sort();
    out
}

fn picture_of(example: &Path) -> PathBuf {
    let stem = example
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("a name");
    root().join("docs/topology").join(format!("{stem}.svg"))
}

fn graph(args: &[&str]) -> util::Out {
    let mut all = vec!["graph"];
    all.extend_from_slice(args);
    util::netsh(&all)
}

#[test]
fn the_committed_pictures_are_what_netsh_draws_now() {
    let examples = pictured_examples();
    assert!(examples.len() > 20, "the book's examples: {examples:?}");
    let mut stale = Vec::new();
    for ex in &examples {
        let drawn = graph(&[ex.to_str().expect("a path")]).ok().stdout;
        let committed = std::fs::read_to_string(picture_of(ex)).unwrap_or_default();
        if drawn != committed {
            stale.push(picture_of(ex).display().to_string());
        }
    }
    // and no picture of an example that is gone
    let wanted: BTreeSet<PathBuf> = examples.iter().map(|e| picture_of(e)).collect();
    for e in std::fs::read_dir(root().join("docs/topology")).expect("docs/topology/") {
        let p = e.expect("an entry").path();
        if !wanted.contains(&p) {
            stale.push(format!("{} (no such example)", p.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "pictures that differ from what netsh draws now (run scripts/topology-pictures):\n{}",
        stale.join("\n")
    );
}

/// The namespaces, links and veth pairs across namespaces a dry run of `script` makes, read from
/// the commands it prints (`ip netns add NS`, `ip -n NS link add NAME type KIND [peer name P netns
/// PNS]`) rather than from netsh's model.
fn made_by(script: &Path) -> (BTreeSet<String>, BTreeSet<String>, usize) {
    let out = util::netsh(&["--dry-run", script.to_str().expect("a path")]).ok();
    let (mut spaces, mut links, mut pairs) = (BTreeSet::new(), BTreeSet::new(), 0);
    for line in out.stdout.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["ip", "netns", "add", ns] => {
                spaces.insert(ns.to_string());
            }
            ["ip", "-n", ns, "link", "add", name, "type", kind, rest @ ..] => {
                links.insert(name.to_string());
                if let ("veth", ["peer", "name", peer, "netns", there, ..]) = (*kind, rest) {
                    links.insert(peer.to_string());
                    pairs += usize::from(there != ns);
                }
            }
            _ => {}
        }
    }
    (spaces, links, pairs)
}

#[test]
fn the_quickstarts_picture_is_xml_naming_every_namespace_and_link() {
    let quickstart = root().join("examples/quickstart.netsh");
    let svg = std::fs::read_to_string(picture_of(&quickstart)).expect("the committed picture");
    let doc = roxmltree::Document::parse(&svg).expect("the picture parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let (spaces, links, pairs) = made_by(&quickstart);
    assert!(
        spaces.len() >= 7 && links.len() >= 5,
        "{spaces:?} {links:?}"
    );
    for ns in &spaces {
        // a box's header is the namespace's name alone
        assert!(texts.contains(&ns.as_str()), "namespace {ns} in {texts:?}");
    }
    for link in &links {
        // a row starts `NAME: KIND`
        let row = format!("{link}: ");
        assert!(
            texts.iter().any(|t| t.starts_with(&row)),
            "link {link} in {texts:?}"
        );
    }
    let veth_lines = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "path" && n.attribute("class") == Some("veth"))
        .count();
    assert_eq!(veth_lines, pairs, "a line per veth pair between namespaces");
}

#[test]
fn graph_writes_dot_json_and_text_too() {
    let quickstart = root().join("examples/quickstart.netsh");
    let q = quickstart.to_str().expect("a path");
    let dot = graph(&["--format", "dot", q]).ok().stdout;
    assert!(dot.starts_with("graph lab {"), "{dot}");
    assert!(
        dot.contains(r#""docker1/eth0" -- "lan1/docker1" [label="veth"];"#),
        "{dot}"
    );
    assert!(
        dot.contains(r#""lan1/docker1" -- "lan1/sw" [label="port"];"#),
        "{dot}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&graph(&["--format", "json", q]).ok().stdout).expect("JSON");
    let names: Vec<&str> = json["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    let (spaces, _, _) = made_by(&quickstart);
    assert_eq!(names, spaces.iter().map(String::as_str).collect::<Vec<_>>());
    let text = graph(&["--format", "text", q]).ok().stdout;
    assert!(
        text.contains("  eth0             veth peer r1 in lan1 10.10.10.1/24\n"),
        "{text}"
    );
}

#[test]
fn graph_touches_nothing() {
    let ns = format!("topology-graph-{}", std::process::id());
    let r = Netsh::new()
        .arg("graph")
        .script(format!("netns add {ns}\nveth a peer b in {ns}\n"))
        .run()
        .ok();
    assert!(r.stdout.contains(&ns), "{}", r.stdout);
    assert!(!Path::new("/run/netns").join(&ns).exists());
}

#[test]
fn graph_of_a_script_that_does_not_parse_is_a_located_error_and_draws_nothing() {
    Netsh::new()
        .arg("graph")
        .script("netns add a\nveth a0 peer {\n")
        .run()
        .code(2)
        .stdout_is("")
        .stderr_has("main.netsh:2:")
        .stderr_has("nothing was drawn");
    Netsh::new()
        .arg("graph")
        .script("netns add a\nshow topology in a gif\n")
        .run()
        .code(2)
        .stdout_is("")
        .stderr_has("main.netsh:2:20")
        .stderr_has("usage: show topology [dot|svg|json] [in NS]");
}

#[test]
fn graph_of_a_missing_file_exits_2() {
    let missing = format!("/nonexistent-{}/lab.netsh", std::process::id());
    let r = graph(&[&missing]).code(2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains(&format!("cannot read {missing}")),
        "{}",
        r.stderr
    );
}

const LAB: &str = "switch lan
host h1 on lan addr 10.0.0.1/24
host h2 on lan addr 10.0.0.2/24
netns add c
veth up0 peer up1
macvlan private on up0 name mv0 in c
";

#[test]
fn show_topology_json_lists_a_sandbox_labs_namespaces_and_links() {
    requires!(Root);
    let r = Netsh::new()
        .sandbox()
        .script(format!(
            "{LAB}show topology json\nshow topology in h1 json\n"
        ))
        .run()
        .ok();
    let [all, h1] = r.json().try_into().expect("two JSON lines");
    // netsh's own namespace (the sandbox's) first, as `null`: it holds up0 and up1
    let spaces: Vec<Option<&str>> = all["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .map(|n| n["name"].as_str())
        .collect();
    assert_eq!(
        spaces,
        [None, Some("c"), Some("h1"), Some("h2"), Some("lan")],
        "{all}"
    );
    let link = |v: &serde_json::Value, ns: Option<&str>, name: &str| {
        v["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["name"].as_str() == ns)
            .flat_map(|n| n["links"].as_array().into_iter().flatten())
            .find(|l| l["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{ns:?}/{name} in {v}"))
    };
    let eth0 = link(&all, Some("h1"), "eth0");
    assert_eq!(eth0["kind"], "veth");
    assert_eq!(
        eth0["peer"],
        serde_json::json!({"netns": "lan", "link": "h1"})
    );
    assert_eq!(eth0["addresses"], serde_json::json!(["10.0.0.1/24"]));
    assert_eq!(link(&all, Some("lan"), "h1")["master"], "sw");
    assert_eq!(link(&all, Some("lan"), "sw")["kind"], "bridge");
    assert_eq!(
        link(&all, None, "up0")["peer"],
        serde_json::json!({"netns": null, "link": "up1"})
    );
    let mv = link(&all, Some("c"), "mv0");
    assert_eq!(
        (&mv["kind"], &mv["mode"]),
        (&"macvlan".into(), &"private".into())
    );
    assert_eq!(
        mv["parent"],
        serde_json::json!({"netns": null, "link": "up0"})
    );
    // `in h1`: that namespace alone, its veth still naming its peer
    let only: Vec<&str> = h1["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(only, ["h1"]);
    assert_eq!(link(&h1, Some("h1"), "eth0"), eth0);
}

#[test]
fn the_live_picture_of_a_lab_is_the_one_its_dry_run_draws() {
    requires!(Root);
    let live = Netsh::new()
        .sandbox()
        .script(format!("{LAB}show topology json\n"))
        .run()
        .ok()
        .json();
    let dry = Netsh::new()
        .args(["graph", "--format", "json"])
        .script(LAB)
        .run()
        .ok()
        .json();
    assert_eq!(live, dry);
    // and the SVG of both is one picture
    let live_svg = Netsh::new()
        .sandbox()
        .script(format!("{LAB}show topology svg\n"))
        .run()
        .ok()
        .stdout;
    let dry_svg = Netsh::new().arg("graph").script(LAB).run().ok().stdout;
    assert_eq!(live_svg, dry_svg);
}

#[test]
fn show_topology_in_a_missing_namespace_is_a_located_error() {
    requires!(Root);
    Netsh::new()
        .sandbox()
        .script("netns add a\nshow topology in nosuchns\n")
        .run()
        .fails_with("main.netsh:2:1: cannot open network namespace \"nosuchns\"");
}

#[test]
fn the_examples_page_links_each_book_labs_picture() {
    let page = std::fs::read_to_string(root().join("docs/EXAMPLES.md")).expect("docs/EXAMPLES.md");
    for ex in pictured_examples() {
        let stem = ex.file_stem().and_then(|s| s.to_str()).expect("a name");
        let link = format!("(topology/{stem}.svg)");
        assert!(page.contains(&link), "docs/EXAMPLES.md lacks {link}");
    }
}
