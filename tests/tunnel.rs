//! The udp tunnel's data path in namespaces of its own (needs root): flannel's wire format both
//! ways, the peer and inner-source checks, TTL, ICMP net unreachable, peers changing while running,
//! and a TCP stream across two tunnels (TSO split, UDP GSO/GRO, GRO coalescing). Both data paths.

mod util;

use netsh::sys::netns;
use netsh::tunnel::{Counter, DataPath, PeerTable, UdpBackend, UdpConfig, spawn_udp_backend, wire};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("ip runs");
    assert!(st.success(), "ip {args:?} failed");
}

/// Two hosts, `a` (192.168.77.1) and `b` (192.168.77.2 and .3), joined by a veth pair.
struct Lab {
    a: String,
    b: String,
}

impl Lab {
    fn new() -> Lab {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let lab = Lab {
            a: format!("tnl{pid}-{n}a"),
            b: format!("tnl{pid}-{n}b"),
        };
        ip(&["netns", "add", &lab.a]);
        ip(&["netns", "add", &lab.b]);
        ip(&[
            "-n", &lab.a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
            &lab.b,
        ]);
        ip(&[
            "-n",
            &lab.a,
            "addr",
            "add",
            "192.168.77.1/24",
            "dev",
            "eth0",
        ]);
        ip(&[
            "-n",
            &lab.b,
            "addr",
            "add",
            "192.168.77.2/24",
            "dev",
            "eth0",
        ]);
        ip(&[
            "-n",
            &lab.b,
            "addr",
            "add",
            "192.168.77.3/24",
            "dev",
            "eth0",
        ]);
        for ns in [&lab.a, &lab.b] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
        }
        lab
    }

    fn run<T: Send>(&self, ns: &str, f: impl FnOnce() -> T + Send) -> T {
        netns::run_in(Some(ns), f).expect("enter namespace")
    }

    fn udp(&self, ns: &str, addr: &str) -> UdpSocket {
        let addr = addr.to_string();
        let s = self.run(ns, move || UdpSocket::bind(addr.as_str()).expect("bind"));
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s
    }

    /// A tunnel in `ns` owning `local` (10.5.X.0) with the given peers; flannel0 configured as
    /// flannel does: the lease's address with the network's prefix, MTU 1472, up.
    fn tunnel(&self, ns: &str, local: &str, peers: &[(&str, &str)], path: DataPath) -> UdpBackend {
        let table = PeerTable::new();
        for (net, public) in peers {
            table.set(net.parse().unwrap(), public.parse().unwrap());
        }
        let config = UdpConfig {
            mtu: 1472,
            path,
            local_subnet: Some(format!("{local}/24").parse().unwrap()),
            ..UdpConfig::default()
        };
        let t = spawn_udp_backend(Some(ns), config, table).expect("tunnel starts");
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{local}/16"),
            "dev",
            "flannel0",
        ]);
        ip(&["-n", ns, "link", "set", "flannel0", "mtu", "1472", "up"]);
        t
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

/// An IPv4/UDP packet with correct checksums.
fn udp_packet(src: &str, dst: &str, ttl: u8, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let (s, d): (Ipv4Addr, Ipv4Addr) = (src.parse().unwrap(), dst.parse().unwrap());
    let total = 28 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    wire::put16(&mut p, 2, total as u16);
    wire::put16(&mut p, 4, 0x4242);
    p[8] = ttl;
    p[9] = wire::PROTO_UDP;
    p[12..16].copy_from_slice(&s.octets());
    p[16..20].copy_from_slice(&d.octets());
    wire::fix_ipv4_checksum(&mut p[..20]);
    wire::put16(&mut p, 20, sport);
    wire::put16(&mut p, 22, dport);
    wire::put16(&mut p, 24, (8 + payload.len()) as u16);
    p[28..].copy_from_slice(payload);
    let sum = wire::csum_add(
        wire::pseudo_header(
            u32::from(s),
            u32::from(d),
            wire::PROTO_UDP,
            8 + payload.len(),
        ),
        &p[20..],
    );
    wire::put16(&mut p, 26, !wire::csum_fold(sum));
    p
}

/// A packet socket on `dev` in `ns` that sees IPv4 packets the kernel receives from it.
fn sniffer(lab: &Lab, ns: &str, dev: &str) -> OwnedFd {
    let dev = std::ffi::CString::new(dev).unwrap();
    lab.run(ns, move || {
        // SAFETY: plain socket calls with valid arguments; the fd is owned right away.
        unsafe {
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM,
                (libc::ETH_P_IP as u16).to_be() as i32,
            );
            assert!(fd >= 0, "packet socket");
            let fd = OwnedFd::from_raw_fd(fd);
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
            sll.sll_ifindex = libc::if_nametoindex(dev.as_ptr()) as i32;
            assert!(sll.sll_ifindex > 0);
            let r = libc::bind(
                fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            assert_eq!(r, 0, "bind packet socket");
            let tv = libc::timeval {
                tv_sec: 2,
                tv_usec: 0,
            };
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            );
            fd
        }
    })
}

/// The next incoming (not outgoing) packet the sniffer sees whose destination is `dst`.
fn sniff(fd: &OwnedFd, dst: [u8; 4]) -> Vec<u8> {
    let mut buf = vec![0u8; 70000];
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        // SAFETY: buf and sll are valid for their lengths.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
                &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                &mut len,
            )
        };
        assert!(n >= 0, "no packet arrived on the TUN side");
        let p = &buf[..n as usize];
        if sll.sll_pkttype != libc::PACKET_OUTGOING && p.len() >= 20 && p[16..20] == dst {
            return p.to_vec();
        }
    }
    panic!("no packet for {dst:?} arrived on the TUN side");
}

/// Waits until `c` of the tunnel reaches `want` (counters are published when a thread idles).
fn wait_counter(t: &UdpBackend, c: Counter, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while t.counters().get(c) < want {
        assert!(
            Instant::now() < deadline,
            "{} stayed at {} (wanted {want}); counters {:?}",
            c.name(),
            t.counters().get(c),
            t.counters().to_json()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wire_format_and_checks(path: DataPath) {
    let lab = Lab::new();
    let t = lab.tunnel(&lab.a, "10.5.1.0", &[("10.5.2.0/24", "192.168.77.2")], path);
    let sniff_fd = sniffer(&lab, &lab.a, "flannel0");
    let app_a = lab.udp(&lab.a, "10.5.1.0:9000");
    let peer = lab.udp(&lab.b, "192.168.77.2:8285");
    let stranger = lab.udp(&lab.b, "192.168.77.3:8285");
    let to_a = "192.168.77.1:8285";

    // (1) a hand-built datagram arrives on the TUN side as the same IP packet, TTL one less
    let sent = udp_packet("10.5.2.5", "10.5.1.0", 64, 1234, 9000, b"hello flannel");
    peer.send_to(&sent, to_a).unwrap();
    let got = sniff(&sniff_fd, [10, 5, 1, 0]);
    let expected = udp_packet("10.5.2.5", "10.5.1.0", 63, 1234, 9000, b"hello flannel");
    assert_eq!(
        got, expected,
        "the packet on flannel0 is the datagram's payload, TTL decremented"
    );
    let mut buf = [0u8; 100];
    let (n, from) = app_a
        .recv_from(&mut buf)
        .expect("the kernel accepted the packet");
    assert_eq!(&buf[..n], b"hello flannel");
    assert_eq!(from.to_string(), "10.5.2.5:1234");

    // (2) a packet written to the TUN leaves as one datagram to the right peer, payload = packet
    let app = lab.udp(&lab.a, "10.5.1.0:4321");
    app.send_to(b"to the peer", "10.5.2.7:7777").unwrap();
    let (n, from) = peer
        .recv_from(&mut buf)
        .expect("a datagram reaches the peer");
    assert_eq!(from.to_string(), "192.168.77.1:8285");
    let p = &buf[..n];
    let info = wire::parse_ipv4(p).expect("the payload is one whole IPv4 packet");
    assert_eq!(Ipv4Addr::from(info.src), Ipv4Addr::new(10, 5, 1, 0));
    assert_eq!(Ipv4Addr::from(info.dst), Ipv4Addr::new(10, 5, 2, 7));
    assert_eq!(info.ttl, 63, "TTL decremented on the way out (64 - 1)");
    assert_eq!(info.protocol, wire::PROTO_UDP);
    assert_eq!((wire::be16(p, 20), wire::be16(p, 22)), (4321, 7777));
    assert_eq!(&p[28..], b"to the peer");
    assert_eq!(wire::csum_fold(wire::csum_add(0, &p[..20])), 0xffff);
    wait_counter(&t, Counter::TxPackets, 1);
    wait_counter(&t, Counter::RxPackets, 1);

    // (3) a subnet nobody leases: ICMP net unreachable back to the sender
    let lost = lab.udp(&lab.a, "10.5.1.0:4322");
    lost.connect("10.5.9.9:7777").unwrap();
    // net unreachable is a soft error for UDP: Linux reports it only with IP_RECVERR
    let one: libc::c_int = 1;
    // SAFETY: an int option on an open socket.
    let r = unsafe {
        libc::setsockopt(
            lost.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_RECVERR,
            &one as *const libc::c_int as *const libc::c_void,
            4,
        )
    };
    assert_eq!(r, 0);
    lost.send(b"anyone?").unwrap();
    let err = lost
        .recv(&mut buf)
        .expect_err("an ICMP error, not an answer");
    assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH), "{err}");
    wait_counter(&t, Counter::UnreachableSent, 1);
    assert!(t.counters().get(Counter::DropNoRoute) >= 1);

    // (4) what must be dropped is dropped and counted, and nothing reaches the application
    app_a
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let good = udp_packet("10.5.2.5", "10.5.1.0", 64, 1234, 9000, b"good");
    stranger.send_to(&good, to_a).unwrap();
    wait_counter(&t, Counter::DropUnknownPeer, 1);
    let spoofed = udp_packet("10.5.3.5", "10.5.1.0", 64, 1234, 9000, b"spoofed");
    peer.send_to(&spoofed, to_a).unwrap();
    wait_counter(&t, Counter::DropBadSource, 1);
    peer.send_to(&good[..good.len() - 2], to_a).unwrap();
    wait_counter(&t, Counter::DropTruncated, 1);
    let mut v6 = vec![0u8; 48];
    v6[0] = 0x60;
    peer.send_to(&v6, to_a).unwrap();
    wait_counter(&t, Counter::DropNotIpv4, 1);
    let dying = udp_packet("10.5.2.5", "10.5.1.0", 1, 1234, 9000, b"dying");
    peer.send_to(&dying, to_a).unwrap();
    wait_counter(&t, Counter::DropTtl, 1);
    let big = udp_packet("10.5.2.5", "10.5.1.0", 64, 1234, 9000, &[7u8; 1460]);
    peer.send_to(&big, to_a).unwrap();
    wait_counter(&t, Counter::DropOversized, 1);
    assert!(
        app_a.recv_from(&mut buf).is_err(),
        "a dropped packet reached the application"
    );

    // (5) leases come and go while the tunnel runs
    t.peers().remove("10.5.2.0/24".parse().unwrap());
    let before = t.counters().get(Counter::DropUnknownPeer);
    peer.send_to(&good, to_a).unwrap();
    wait_counter(&t, Counter::DropUnknownPeer, before + 1);
    t.peers().set(
        "10.5.2.0/24".parse().unwrap(),
        "192.168.77.3".parse().unwrap(),
    );
    stranger.send_to(&good, to_a).unwrap();
    app_a
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let (n, _) = app_a
        .recv_from(&mut buf)
        .expect("the new leaseholder gets through");
    assert_eq!(&buf[..n], b"good");
    let c = t.counters();
    assert_eq!(
        c.get(Counter::DropSendError) + c.get(Counter::DropTunError),
        0
    );
    t.stop();
    let left = Command::new("ip")
        .args(["-n", &lab.a, "link", "show", "flannel0"])
        .output()
        .unwrap();
    assert!(!left.status.success(), "flannel0 outlived the tunnel");
}

#[test]
fn fast_path_wire_format_and_checks() {
    requires!(Root);
    wire_format_and_checks(DataPath::Fast);
}

#[test]
fn simple_path_wire_format_and_checks() {
    requires!(Root);
    wire_format_and_checks(DataPath::Simple);
}

/// A leased peer (its PublicIP can be spoofed) sends packets whose inner destination is outside
/// this host's subnet: here the host's own underlay address. They must be dropped and counted,
/// not handed to the kernel, which would deliver them to the host (or route them on).
fn only_the_own_subnet_is_a_destination(path: DataPath) {
    let lab = Lab::new();
    let t = lab.tunnel(&lab.a, "10.5.1.0", &[("10.5.2.0/24", "192.168.77.2")], path);
    // one socket for the would-be destination (192.168.77.1) and the marker (10.5.1.0) alike
    let listener = lab.udp(&lab.a, "0.0.0.0:9001");
    let peer = lab.udp(&lab.b, "192.168.77.2:8285");
    let to_a = "192.168.77.1:8285";

    let foreign = udp_packet("10.5.2.5", "192.168.77.1", 64, 1234, 9001, b"foreign");
    for _ in 0..3 {
        peer.send_to(&foreign, to_a).unwrap();
    }
    wait_counter(&t, Counter::DropForeignDst, 3);
    // the tunnel handles one sender's datagrams in order and the kernel takes its TUN writes in
    // order, so when the marker arrives a delivered foreign packet would have arrived before it
    let marker = udp_packet("10.5.2.5", "10.5.1.0", 64, 1234, 9001, b"marker");
    peer.send_to(&marker, to_a).unwrap();
    let mut buf = [0u8; 100];
    let (n, _) = listener
        .recv_from(&mut buf)
        .expect("the marker is delivered");
    assert_eq!(
        &buf[..n],
        b"marker",
        "a packet for the host's underlay address came through the tunnel"
    );
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.recv_from(&mut buf).is_err(),
        "more than the marker arrived"
    );
    // counters are published when a thread idles, not with each packet
    wait_counter(&t, Counter::RxPackets, 1);

    // an empty datagram is counted (as truncated); bytes past the total length as trailing
    peer.send_to(&[], to_a).unwrap();
    wait_counter(&t, Counter::DropTruncated, 1);
    let mut long = marker.clone();
    long.extend_from_slice(b"junk");
    peer.send_to(&long, to_a).unwrap();
    wait_counter(&t, Counter::DropTrailing, 1);
    let c = t.counters();
    assert_eq!(c.get(Counter::DropOversized), 0);
    assert_eq!(c.get(Counter::RxPackets), 1);
    assert_eq!(c.to_json()["drop_foreign_dst"], 3);
}

#[test]
fn fast_path_delivers_only_into_its_subnet() {
    requires!(Root);
    only_the_own_subnet_is_a_destination(DataPath::Fast);
}

#[test]
fn simple_path_delivers_only_into_its_subnet() {
    requires!(Root);
    only_the_own_subnet_is_a_destination(DataPath::Simple);
}

fn tcp_across_two_tunnels(path: DataPath, bytes: usize) {
    let lab = Lab::new();
    let ta = lab.tunnel(&lab.a, "10.5.1.0", &[("10.5.2.0/24", "192.168.77.2")], path);
    let tb = lab.tunnel(&lab.b, "10.5.2.0", &[("10.5.1.0/24", "192.168.77.1")], path);
    let listener = lab.run(&lab.b, || TcpListener::bind("10.5.2.0:5001").unwrap());
    let data: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    let mut c = lab.run(&lab.a, || {
        TcpStream::connect_timeout(&"10.5.2.0:5001".parse().unwrap(), Duration::from_secs(5))
            .expect("connect across the tunnel")
    });
    c.write_all(&data).unwrap();
    drop(c);
    let got = server.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the stream arrived changed");
    let (ca, cb) = (ta.counters(), tb.counters());
    assert!(ca.get(Counter::TxBytes) as usize > bytes);
    assert!(cb.get(Counter::RxBytes) as usize > bytes);
    assert_eq!(
        ca.drops() + cb.drops() - ca.get(Counter::DropNotIpv4) - cb.get(Counter::DropNotIpv4),
        0,
        "drops: {:?} {:?}",
        ca.to_json(),
        cb.to_json()
    );
    if path == DataPath::Fast {
        let f = ta.features();
        assert!(f.vnet_hdr && f.tso, "TUN offloads were refused: {f:?}");
        // the cargo feature `tun-rs` swaps in the crate's TUN offloads, and only it
        assert_eq!(f.tun_rs, cfg!(feature = "tun-rs"), "{f:?}");
    }
}

#[test]
fn fast_path_carries_a_tcp_stream() {
    requires!(Root);
    tcp_across_two_tunnels(DataPath::Fast, 16 << 20);
}

#[test]
fn simple_path_carries_a_tcp_stream() {
    requires!(Root);
    tcp_across_two_tunnels(DataPath::Simple, 2 << 20);
}

#[test]
fn a_taken_port_is_an_error_not_a_panic() {
    requires!(Root);
    let lab = Lab::new();
    let _hold = lab.udp(&lab.a, "0.0.0.0:8285");
    let err = spawn_udp_backend(Some(&lab.a), UdpConfig::default(), PeerTable::new())
        .err()
        .expect("the port is taken");
    assert!(format!("{err:?}").contains("8285"), "{err:?}");
    let _ = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
}
