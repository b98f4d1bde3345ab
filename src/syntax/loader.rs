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
/// Stops at `MAX_SCRIPT` bytes (`/dev/zero` would otherwise be read until memory runs out).
pub fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let size = file
        .metadata()
        .map_or(0, |m| m.len() as usize)
        .min(MAX_SCRIPT);
    let mut bytes = Vec::with_capacity(size + 1);
    crate::base::pages::populate(&mut bytes, size);
    file.take(MAX_SCRIPT as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_SCRIPT {
        return Err(std::io::Error::other("it is larger than 256 MiB"));
    }
    Ok(bytes)
}

/// The largest script or sourced file netsh reads.
pub const MAX_SCRIPT: usize = 256 << 20;

/// Where text stops being UTF-8: the byte offset, and the line and column (1-based) of that byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8 {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NotUtf8 {
            offset,
            line,
            column,
        } = self;
        write!(
            f,
            "invalid byte at line {line}, column {column}, byte offset {offset}"
        )
    }
}

/// Script text from bytes; a UTF-8 byte-order mark at the start is dropped (editors on Windows
/// write one), so spans and columns count from the first character after it.
pub fn decode(mut bytes: Vec<u8>) -> Result<String, NotUtf8> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let good = &e.as_bytes()[..offset];
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // the prefix is valid UTF-8: count characters, not bytes, for the column
        let column = std::str::from_utf8(&good[line_start..]).map_or(0, |t| t.chars().count()) + 1;
        NotUtf8 {
            offset,
            line: good.iter().filter(|&&b| b == b'\n').count() + 1,
            column,
        }
    })
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
        if !canon.is_file() {
            return Err(Diag::new(
                Code::SourceNotFound,
                at,
                format!("`{path}` is not a regular file"),
            )
            .label("sourced here")
            .help("`source` reads script files only"));
        }
        let bytes = read_whole(&canon).map_err(|e| {
            Diag::new(
                Code::SourceNotFound,
                at,
                format!("cannot read `{path}`: {e}"),
            )
            .label("sourced here")
        })?;
        let text = decode(bytes).map_err(|bad| {
            Diag::new(
                Code::InvalidUtf8,
                at,
                format!("`{path}` is not UTF-8 text ({bad})"),
            )
            .label("sourced here")
        })?;
        let id = map
            .add(
                &name,
                canon.parent().unwrap_or(Path::new(".")),
                Arc::new(text),
            )
            .map_err(|m| Diag::new(Code::SourceNotFound, at, m.message))?;
        self.stack.push(canon);
        let f = map.file(id);
        Ok((f.text.clone(), f.base))
    }

    pub fn leave_source(&mut self) {
        self.stack.pop();
    }
}
