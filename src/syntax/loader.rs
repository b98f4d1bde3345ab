//! Reading scripts: the main file, `-c` text, stdin, and the files they `source`, with the checks that
//! belong to reading (a file that is missing, not UTF-8, or sources itself in a cycle).

use crate::base::diag::{Code, Diag};
use crate::base::source::{SourceMap, Span};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Default)]
pub struct Loader {
    /// The files being sourced right now, outermost first: a file already here is a cycle.
    stack: Vec<PathBuf>,
}

/// Turns bytes into script text, or says where the first invalid UTF-8 byte is.
/// A whole file, as `std::fs::read` reads it, into a buffer whose pages are made present first
/// (see pages.rs).
pub fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata().map_or(0, |m| m.len() as usize);
    let mut bytes = Vec::with_capacity(size + 1);
    crate::base::pages::populate(&mut bytes, size);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

pub fn decode(bytes: Vec<u8>) -> Result<String, usize> {
    String::from_utf8(bytes).map_err(|e| e.utf8_error().valid_up_to())
}

impl Loader {
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Marks the main script, so that a file sourcing it back is a cycle.
    pub fn set_main(&mut self, path: &Path) {
        self.stack = vec![path.canonicalize().unwrap_or_else(|_| path.to_path_buf())];
    }

    /// Reads a file named by `source` (relative to the sourcing file's directory) into the map.
    /// Call `leave_source` when its statements are done.
    pub fn enter_source(
        &mut self,
        path: &str,
        at: Span,
        map: &mut SourceMap,
    ) -> Result<(Arc<String>, u32), Diag> {
        let dir = map.file_of(at).dir.clone();
        let full = if Path::new(path).is_absolute() {
            PathBuf::from(path)
        } else {
            dir.join(path)
        };
        let canon = full.canonicalize().map_err(|e| {
            Diag::new(
                Code::SourceNotFound,
                at,
                format!("cannot read `{path}`: {e}"),
            )
            .label("sourced here")
            .help(format!("a relative path is looked up in {}", dir.display()))
        })?;
        if let Some(i) = self.stack.iter().position(|p| *p == canon) {
            let chain: Vec<String> = self.stack[i..]
                .iter()
                .chain(std::iter::once(&canon))
                .map(|p| p.display().to_string())
                .collect();
            return Err(Diag::new(
                Code::SourceCycle,
                at,
                format!("`{path}` is already being sourced: {}", chain.join(" → ")),
            )
            .label("sources itself again")
            .help("files may source each other only without cycles"));
        }
        let name = full.display().to_string();
        if let Some(id) = map.find(&name) {
            // read once per run: the check pass loaded it, the evaluator reuses it
            self.stack.push(canon);
            let f = map.file(id);
            return Ok((f.text.clone(), f.base));
        }
        let bytes = read_whole(&canon).map_err(|e| {
            Diag::new(
                Code::SourceNotFound,
                at,
                format!("cannot read `{path}`: {e}"),
            )
            .label("sourced here")
        })?;
        let text = decode(bytes).map_err(|offset| {
            Diag::new(
                Code::InvalidUtf8,
                at,
                format!("`{path}` is not UTF-8 text (invalid byte at offset {offset})"),
            )
            .label("sourced here")
        })?;
        let id = map
            .add(
                &name,
                canon.parent().unwrap_or(Path::new(".")),
                Arc::new(text),
            )
            .map_err(|m| Diag::new(Code::SourceNotFound, at, m))?;
        self.stack.push(canon);
        let f = map.file(id);
        Ok((f.text.clone(), f.base))
    }

    pub fn leave_source(&mut self) {
        self.stack.pop();
    }
}
