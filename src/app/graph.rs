//! `netsh graph FILE [--format svg|dot|json|text]`: checks the script, runs it dry into the
//! topology model (interp/sketch.rs) and prints the picture. Nothing is applied: a script that does
//! not check exits 2, one that fails in its dry run exits 1, each with its located diagnostics.

use crate::app::cli::report;
use crate::app::session::Session;
use crate::interp::sketch::Sketch;
use crate::ops::Picture;
use crate::syntax::loader::decode;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub fn run(file: &str, format: &str, args: Vec<String>, json: bool) -> i32 {
    let picture = Picture::from_word(format).unwrap_or(Picture::Svg);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let (name, dir, bytes) = if file == "-" {
        let mut buf = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
            eprintln!("netsh: cannot read standard input: {e}");
            return 2;
        }
        ("<stdin>".to_string(), cwd, buf)
    } else {
        match crate::syntax::loader::read_whole(Path::new(file)) {
            Ok(b) => {
                let dir = Path::new(file)
                    .parent()
                    .map(Path::to_path_buf)
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(cwd);
                (file.to_string(), dir, b)
            }
            Err(e) => {
                eprintln!("netsh: cannot read {file}: {e}");
                return 2;
            }
        }
    };
    let text = match decode(bytes) {
        Ok(t) => t,
        Err(bad) => {
            eprintln!(
                "netsh: {name}:{}:{}: the script is not UTF-8 text (invalid byte at offset {}); nothing was drawn",
                bad.line, bad.column, bad.offset
            );
            return 2;
        }
    };
    let mut session = Session::new(args);
    if name != "<stdin>" {
        session.loader.set_main(Path::new(&name));
    }
    let id = match session.add(&name, &dir, text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("netsh: {e}");
            return 2;
        }
    };
    let errors = session.check(id);
    if !errors.is_empty() {
        report(&errors, &session, json);
        eprintln!(
            "netsh: {} error{} found; nothing was drawn",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        return 2;
    }
    let mut sketch = Sketch::new();
    if let Err(d) = session.run(id, &mut sketch) {
        report(std::slice::from_ref(&d), &session, json);
        return 1;
    }
    let drawn = crate::topology::render(&sketch.topology.pictured(), picture);
    match std::io::stdout().lock().write_all(drawn.as_bytes()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("netsh: cannot write: {e}");
            1
        }
    }
}
