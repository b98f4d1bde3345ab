//! Parse + check any bytes: never panic, and the fast path agrees with the grammar.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    netsh::fuzzing::parse_and_check(data);
});
