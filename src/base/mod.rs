//! What every layer uses: source text and spans, diagnostics, the run-time error, big buffers.
pub mod diag;
pub mod error;
pub mod hash;
pub mod json_stream;
pub mod pages;
pub mod safe_file;
pub mod source;
#[cfg(test)]
pub(crate) mod test_rng;
