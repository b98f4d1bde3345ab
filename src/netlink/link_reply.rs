//! A link message (RTM_NEWLINK) read by hand: the few fields pipelined requests need (index, name,
//! up, MTU, MAC address). A link message carries some sixty attributes (counters, per-family
//! settings); decoding all of them through netlink-packet-route was most of netsh's own work per
//! request, and these five are all a lookup or a `link set`'s undo step use.

/// What a link message says about the fields netsh reads from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkBrief {
    pub index: u32,
    pub name: Option<String>,
    pub up: bool,
    pub mtu: Option<u32>,
    pub address: Option<[u8; 6]>,
}

/// struct ifinfomsg: family, pad, type, index, flags, change.
const IFINFOMSG_LEN: usize = 16;
const IFF_UP: u32 = 1;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
/// The attribute type without the NLA_F_NESTED and NLA_F_NET_BYTEORDER bits.
const NLA_TYPE_MASK: u16 = 0x3fff;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads the body of an RTM_NEWLINK message (what follows the netlink header); `None` when it is
/// too short to be one.
pub fn parse(body: &[u8]) -> Option<LinkBrief> {
    let index = u32_at(body, 4)?;
    let flags = u32_at(body, 8)?;
    let mut brief = LinkBrief {
        index,
        up: flags & IFF_UP != 0,
        ..LinkBrief::default()
    };
    let mut attrs = body.get(IFINFOMSG_LEN..)?;
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > attrs.len() {
            break;
        }
        let value = &attrs[4..len];
        match kind {
            IFLA_IFNAME => {
                let raw = value.split(|b| *b == 0).next().unwrap_or(value);
                brief.name = Some(String::from_utf8_lossy(raw).into_owned());
            }
            IFLA_MTU => brief.mtu = u32_at(value, 0),
            IFLA_ADDRESS if value.len() == 6 => {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(value);
                brief.address = Some(mac);
            }
            _ => {}
        }
        attrs = attrs.get((len + 3) & !3..).unwrap_or(&[]);
    }
    Some(brief)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::Emitable;
    use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

    fn emitted(m: &LinkMessage) -> Vec<u8> {
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        buf
    }

    #[test]
    fn the_fields_read_by_hand_are_those_netlink_packet_route_writes() {
        let mut m = LinkMessage::default();
        m.header.index = 42;
        m.header.flags = LinkFlags::Up | LinkFlags::Broadcast;
        m.attributes.push(LinkAttribute::TxQueueLen(1000));
        m.attributes.push(LinkAttribute::IfName("veth42".into()));
        m.attributes.push(LinkAttribute::Mtu(1400));
        m.attributes
            .push(LinkAttribute::Address(vec![2, 0x42, 0xac, 0x11, 0, 2]));
        let b = parse(&emitted(&m)).expect("a link message");
        assert_eq!(b.index, 42);
        assert!(b.up);
        assert_eq!(b.name.as_deref(), Some("veth42"));
        assert_eq!(b.mtu, Some(1400));
        assert_eq!(b.address, Some([2, 0x42, 0xac, 0x11, 0, 2]));
    }

    #[test]
    fn a_down_link_without_attributes_and_garbage_do_not_panic() {
        let mut m = LinkMessage::default();
        m.header.index = 7;
        let b = parse(&emitted(&m)).expect("a bare header");
        assert_eq!((b.index, b.up, b.name, b.mtu), (7, false, None, None));
        assert_eq!(parse(&[1, 2, 3]), None);
        // an attribute that claims more bytes than there are ends the walk
        let mut bad = emitted(&m);
        bad.extend_from_slice(&[200, 0, 3, 0, b'x']);
        assert_eq!(parse(&bad).map(|b| b.name), Some(None));
    }
}
