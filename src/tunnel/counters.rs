//! The tunnel's counters: packets and bytes each way, and drops by reason. The data-path threads
//! count into a plain local array and add it to the shared atomics once per batch, so the hot loop
//! does no atomic operation per packet.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Counter {
    /// IP packets read from the TUN and sent to a peer.
    TxPackets,
    TxBytes,
    /// IP packets received from peers and written to the TUN.
    RxPackets,
    RxBytes,
    /// A datagram from an address that holds no lease.
    DropUnknownPeer,
    /// An inner source address outside the sending peer's subnet.
    DropBadSource,
    /// An inner destination outside this host's own subnet: the tunnel relays only into it.
    DropForeignDst,
    /// Empty, or shorter than its IPv4 header or total length.
    DropTruncated,
    /// Bytes beyond the IPv4 total length.
    DropTrailing,
    /// Larger than flannel0's MTU.
    DropOversized,
    DropNotIpv4,
    /// TTL reached zero.
    DropTtl,
    /// A destination in no peer's subnet (answered with ICMP net unreachable).
    DropNoRoute,
    UnreachableSent,
    /// A vnet header the data path cannot use (from the kernel; should not happen).
    DropBadOffload,
    DropSendError,
    DropTunError,
}

pub const COUNT: usize = 17;

impl Counter {
    pub const ALL: [Counter; COUNT] = [
        Counter::TxPackets,
        Counter::TxBytes,
        Counter::RxPackets,
        Counter::RxBytes,
        Counter::DropUnknownPeer,
        Counter::DropBadSource,
        Counter::DropForeignDst,
        Counter::DropTruncated,
        Counter::DropTrailing,
        Counter::DropOversized,
        Counter::DropNotIpv4,
        Counter::DropTtl,
        Counter::DropNoRoute,
        Counter::UnreachableSent,
        Counter::DropBadOffload,
        Counter::DropSendError,
        Counter::DropTunError,
    ];

    /// The name `show tunnel` prints.
    pub fn name(self) -> &'static str {
        match self {
            Counter::TxPackets => "tx_packets",
            Counter::TxBytes => "tx_bytes",
            Counter::RxPackets => "rx_packets",
            Counter::RxBytes => "rx_bytes",
            Counter::DropUnknownPeer => "drop_unknown_peer",
            Counter::DropBadSource => "drop_bad_source",
            Counter::DropForeignDst => "drop_foreign_dst",
            Counter::DropTruncated => "drop_truncated",
            Counter::DropTrailing => "drop_trailing_bytes",
            Counter::DropOversized => "drop_oversized",
            Counter::DropNotIpv4 => "drop_not_ipv4",
            Counter::DropTtl => "drop_ttl_expired",
            Counter::DropNoRoute => "drop_no_route",
            Counter::UnreachableSent => "icmp_unreachable_sent",
            Counter::DropBadOffload => "drop_bad_offload",
            Counter::DropSendError => "drop_send_error",
            Counter::DropTunError => "drop_tun_error",
        }
    }
}

/// The shared counters of one tunnel.
#[derive(Default, Debug)]
pub struct Counters {
    values: [AtomicU64; COUNT],
}

impl Counters {
    pub fn add(&self, c: Counter, n: u64) {
        self.values[c as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut values = [0u64; COUNT];
        for (v, a) in values.iter_mut().zip(&self.values) {
            *v = a.load(Ordering::Relaxed);
        }
        Snapshot { values }
    }
}

/// A thread's own counts, added to the shared ones by `flush`.
#[derive(Default, Debug)]
pub struct Local {
    values: [u64; COUNT],
    dirty: bool,
}

impl Local {
    #[inline]
    pub fn add(&mut self, c: Counter, n: u64) {
        self.values[c as usize] += n;
        self.dirty = true;
    }

    pub fn flush(&mut self, to: &Counters) {
        if !self.dirty {
            return;
        }
        for (i, v) in self.values.iter_mut().enumerate() {
            if *v != 0 {
                to.values[i].fetch_add(*v, Ordering::Relaxed);
                *v = 0;
            }
        }
        self.dirty = false;
    }
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    values: [u64; COUNT],
}

impl Snapshot {
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }

    /// Every drop, whatever the reason.
    pub fn drops(&self) -> u64 {
        Counter::ALL
            .iter()
            .filter(|c| c.name().starts_with("drop_"))
            .map(|&c| self.get(c))
            .sum()
    }

    /// `(name, value)` pairs in a stable order, for `show tunnel` and JSON.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Counter::ALL.iter().map(|&c| (c.name(), self.get(c)))
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in self.pairs() {
            m.insert(k.to_string(), v.into());
        }
        serde_json::Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_counts_reach_the_shared_ones_on_flush() {
        let shared = Counters::default();
        let mut local = Local::default();
        local.add(Counter::RxPackets, 3);
        local.add(Counter::DropBadSource, 1);
        assert_eq!(shared.snapshot().get(Counter::RxPackets), 0);
        local.flush(&shared);
        local.flush(&shared);
        let s = shared.snapshot();
        assert_eq!(s.get(Counter::RxPackets), 3);
        assert_eq!(s.drops(), 1);
        assert_eq!(s.to_json()["drop_bad_source"], 1);
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }
}
