//! The udp tunnel's receive path (checks, TTL, GRO coalescing) and TSO splitter on any bytes:
//! never panic, and only sound IPv4 packets from the sender's own subnet reach the TUN.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    netsh::tunnel::fuzz::tunnel_rx(data);
});
