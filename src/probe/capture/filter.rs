//! Whether a packet passes a capture's filter (`ops::Filter`), judged on its outermost headers as
//! tcpdump judges it: `icmp` does not pick ICMP carried inside VXLAN.

use super::decode::Decoded;
use crate::ops::{End, Filter, Proto};

pub fn passes(f: &Filter, d: &Decoded) -> bool {
    match f {
        Filter::Proto(p) => is(d, *p),
        Filter::Port(proto, port) => {
            proto.is_none_or(|p| is(d, p)) && (d.sport == Some(*port) || d.dport == Some(*port))
        }
        Filter::Host(end, a) => match end {
            End::Either => d.src == Some(*a) || d.dst == Some(*a),
            End::Src => d.src == Some(*a),
            End::Dst => d.dst == Some(*a),
        },
        Filter::Not(x) => !passes(x, d),
        Filter::And(a, b) => passes(a, d) && passes(b, d),
        Filter::Or(a, b) => passes(a, d) || passes(b, d),
    }
}

fn is(d: &Decoded, p: Proto) -> bool {
    match p {
        Proto::Ip => d.network == "ip",
        Proto::Ip6 => d.network == "ip6",
        Proto::Arp => d.network == "arp",
        Proto::Icmp => d.network == "ip" && d.proto.as_deref() == Some("icmp"),
        Proto::Icmp6 => d.network == "ip6" && d.proto.as_deref() == Some("icmp6"),
        Proto::Udp => d.proto.as_deref() == Some("udp"),
        Proto::Tcp => d.proto.as_deref() == Some("tcp"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode::{LinkType, decode};
    use super::*;

    /// An Ethernet frame of 10.1.1.1 to 10.1.1.2 around `body` (decode.rs builds it).
    fn eth_ipv4(proto: u8, body: &[u8]) -> Vec<u8> {
        super::super::decode::tests::frame([10, 1, 1, 1], [10, 1, 1, 2], proto, body)
    }

    #[test]
    fn filters_pick_by_protocol_port_and_host() {
        let ping = decode(&eth_ipv4(1, &[8, 0, 0, 0, 0, 1, 0, 1]), LinkType::Ethernet);
        let mut vx = vec![0x9c, 0x40, 0x21, 0x18, 0, 16, 0, 0];
        vx.extend([0x08, 0, 0, 0, 0, 0, 1, 0]);
        let vxlan = decode(&eth_ipv4(17, &vx), LinkType::Ethernet);
        let yes = |text: &str, d: &Decoded| passes(&Filter::parse(text).unwrap(), d);
        assert!(yes("icmp", &ping));
        assert!(!yes("udp", &ping));
        assert!(yes("udp port 8472", &vxlan));
        assert!(yes("port 40000", &vxlan));
        assert!(!yes("tcp port 8472", &vxlan));
        assert!(!yes("udp port 53", &vxlan));
        assert!(yes("host 10.1.1.2 and icmp", &ping));
        assert!(yes("src 10.1.1.1", &ping));
        assert!(!yes("dst 10.1.1.1", &ping));
        assert!(!yes("host 10.9.9.9 or arp", &ping));
        assert!(yes("not udp", &ping));
        assert!(!yes("icmp6 or ip6", &ping));
    }
}
