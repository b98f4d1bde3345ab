//! Text to syntax tree: the source map, the chunker, the pest grammar and the AST.
pub mod ast;
pub mod chunker;
pub mod fast;
pub mod parser;
#[cfg(target_arch = "x86_64")]
mod simd_line;
pub mod source;
