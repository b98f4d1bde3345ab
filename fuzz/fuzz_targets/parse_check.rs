//! Parse + check any bytes: never panic, the fast path agrees with the grammar (and its wide scanner
//! with its scalar one), and a straight-line script dry-runs the same from the check pass's tape as
//! parsed again.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    netsh::app::fuzzing::parse_and_check(data);
});
