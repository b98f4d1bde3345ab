//! Text to syntax tree: reading files, the chunker, the line fast path, the pest grammar and the AST.
pub mod ast;
pub mod chunker;
pub mod plain;
pub mod loader;
pub mod parser;
pub mod range;
#[cfg(target_arch = "x86_64")]
mod simd_line;
