//! The files a run has read, in one address space: every span is a byte range in it, so an AST node
//! names its file and position with two `u32`s (the idea rustc's `SourceMap` uses).

use crate::base::error::RunError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A byte range in the source map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: u32, end: u32) -> Span {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn len(self) -> u32 {
        self.end - self.start
    }
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

pub struct SourceFile {
    /// What diagnostics call the file: its path as given, `-c`, `<stdin>` or `<repl>`.
    pub name: String,
    /// The directory `source` paths are relative to.
    pub dir: PathBuf,
    /// Shared, never copied: a big script is read once and its text kept once.
    pub text: Arc<String>,
    pub base: u32,
}

impl SourceFile {
    pub fn end(&self) -> u32 {
        self.base + self.text.len() as u32
    }
    /// 1-based line and column of a map offset inside this file.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let local = (offset - self.base) as usize;
        let before = &self.text[..local.min(self.text.len())];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

#[derive(Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId(pub usize);

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file; fails only when the map would pass 4 GiB, the reach of a `u32` span.
    pub fn add(&mut self, name: &str, dir: &Path, text: Arc<String>) -> Result<FileId, RunError> {
        let base = self.files.last().map_or(0, |f| f.end() + 1);
        if (base as u64) + (text.len() as u64) >= u32::MAX as u64 {
            return Err(RunError::new(format!(
                "{name}: the scripts of one run must stay under 4 GiB"
            )));
        }
        self.files.push(SourceFile {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            text,
            base,
        });
        Ok(FileId(self.files.len() - 1))
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    #[inline]
    pub fn file_of(&self, span: Span) -> &SourceFile {
        // most spans are in the newest file (the script being run, or the REPL's latest line)
        if let Some(last) = self.files.last()
            && span.start >= last.base
        {
            return last;
        }
        let i = self.files.partition_point(|f| f.base <= span.start);
        &self.files[i.saturating_sub(1)]
    }

    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files.iter().position(|f| f.name == name).map(FileId)
    }

    #[inline]
    pub fn text(&self, span: Span) -> &str {
        let f = self.file_of(span);
        &f.text[(span.start - f.base) as usize..(span.end - f.base) as usize]
    }

    /// `file:line:col` of a span's start.
    pub fn locate(&self, span: Span) -> String {
        let f = self.file_of(span);
        let (l, c) = f.line_col(span.start);
        format!("{}:{l}:{c}", f.name)
    }
}
