//! The folders of src/ are layers: src/lib.rs lists them bottom-up, and a folder may import only the
//! folders listed before it. This test reads every source file and fails on an import that looks
//! up (or sideways into a later folder), naming the file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn layers(root: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("a source folder") {
        let p = e.expect("an entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a file names as `crate::X` (also inside `use crate::{X, Y}`).
fn imported(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.insert(ident(item.trim()));
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

#[test]
fn no_folder_imports_a_folder_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let order = layers(root);
    assert!(order.len() > 10, "src/lib.rs lists the folders: {order:?}");
    let rank = |m: &str| order.iter().position(|o| o == m);
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root.join("src")).expect("under src");
        let Some(top) = rel.iter().next().and_then(|t| t.to_str()) else {
            continue;
        };
        let Some(here) = rank(top) else {
            continue; // lib.rs, main.rs, bin/
        };
        let text = std::fs::read_to_string(f).expect("a source file");
        for m in imported(&text) {
            if let Some(there) = rank(&m)
                && there > here
            {
                wrong.push(format!("{} imports {m}", rel.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that look up the layers of src/lib.rs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_and_plain_imports() {
    let seen = imported("use crate::{ops::Op, base};\nlet x = crate::engine::real::f();");
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec!["base", "engine", "ops"]
    );
}
