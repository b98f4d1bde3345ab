//! `netsh-tunnel`: the udp tunnel's data path on its own, for benchmarks and tests (the language's
//! `overlay udp` starts the same thing as a service). Runs until SIGINT/SIGTERM, then prints the
//! counters and the peak RSS as one JSON line on stdout.
//!
//! netsh-tunnel --subnet SUBNET [--ns NS] [--tun flannel0] [--port 8285] [--mtu 1472]
//!              [--icmp-source IP] [--peer SUBNET=PUBLICIP]... [--socket-buffer BYTES] [--simple]
//!
//! `--subnet` is this host's own lease: received packets are delivered only to it.

use netsh::tunnel::{DataPath, PeerTable, UdpConfig, spawn_udp_backend};
use nix::sys::signal::{SigSet, Signal};

fn usage(msg: &str) -> ! {
    eprintln!("netsh-tunnel: {msg}");
    eprintln!(
        "usage: netsh-tunnel --subnet SUBNET [--ns NS] [--tun NAME] [--port N] [--mtu N] \
         [--icmp-source IP] [--peer SUBNET=PUBLICIP]... [--socket-buffer BYTES] [--simple]"
    );
    std::process::exit(2)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let mut config = UdpConfig::default();
    let peers = PeerTable::new();
    let mut ns = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--ns" => ns = Some(val()),
            "--tun" => config.tun = val(),
            "--port" => config.port = val().parse().unwrap_or_else(|_| usage("bad --port")),
            "--mtu" => config.mtu = val().parse().unwrap_or_else(|_| usage("bad --mtu")),
            "--icmp-source" => {
                config.icmp_source =
                    Some(val().parse().unwrap_or_else(|_| usage("bad --icmp-source")))
            }
            "--peer" => {
                let v = val();
                let (net, ip) = v
                    .split_once('=')
                    .unwrap_or_else(|| usage("--peer SUBNET=IP"));
                peers.set(
                    net.parse().unwrap_or_else(|_| usage("bad --peer subnet")),
                    ip.parse().unwrap_or_else(|_| usage("bad --peer address")),
                );
            }
            "--socket-buffer" => {
                config.socket_buffer = val()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --socket-buffer"))
            }
            "--subnet" => {
                config.local_subnet = Some(val().parse().unwrap_or_else(|_| usage("bad --subnet")))
            }
            "--simple" => config.path = DataPath::Simple,
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if config.local_subnet.is_none() {
        // without it every received packet would be dropped as foreign
        usage("--subnet is required (this host's own subnet)");
    }
    // block the signals before any thread starts, then wait for one here
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    if set.thread_block().is_err() {
        usage("cannot block signals");
    }
    let tunnel = match spawn_udp_backend(ns.as_deref(), config, peers) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("netsh-tunnel: {e:?}");
            std::process::exit(1);
        }
    };
    eprintln!("netsh-tunnel: running, {:?}", tunnel.features());
    let _ = set.wait();
    let counters = tunnel.counters();
    let features = tunnel.features();
    tunnel.stop();
    let mut out = counters.to_json();
    if let Some(m) = out.as_object_mut() {
        m.insert("peak_rss_kib".into(), peak_rss_kib().into());
        m.insert("features".into(), format!("{features:?}").into());
    }
    println!("{out}");
}
