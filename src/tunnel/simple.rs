//! The simple data path, flannel's own design kept for comparison (`DataPath::Simple`): one thread
//! polls the TUN and the socket, and moves one packet per syscall each way: `read(tun)` +
//! `sendto()`, `recvfrom()` + `write(tun)`. No offloads, no batches. Same checks and counters as
//! the fast path.

use super::counters::{Counter, Local};
use super::fast::{read_fd, write_fd};
use super::{Shared, checks, icmp, wire};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;

fn recv_from(fd: RawFd, buf: &mut [u8]) -> std::io::Result<(usize, Ipv4Addr, bool)> {
    // SAFETY: sockaddr_in is plain data; buf and sa are valid for their lengths.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut sl = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let r = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            libc::MSG_TRUNC,
            &mut sa as *mut libc::sockaddr_in as *mut libc::sockaddr,
            &mut sl,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = r as usize;
    Ok((
        n.min(buf.len()),
        Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
        n > buf.len(),
    ))
}

pub(super) fn run(tun: RawFd, sock: RawFd, sh: Shared) {
    let cfg = &sh.config;
    let rules = cfg.rx_rules();
    let mut peers = sh.peers.reader();
    let mut local = Local::default();
    let mut buf = vec![0u8; wire::MAX_PACKET + 1];
    let mut icmp_buf = [0u8; 128];
    let mut fds = [
        libc::pollfd {
            fd: tun,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: sock,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: sh.stop.fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    while !sh.stop.stopping() {
        local.flush(&sh.counters);
        // SAFETY: three valid pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) } < 0 {
            continue;
        }
        if fds[2].revents != 0 {
            break;
        }
        if fds[0].revents != 0
            && let Ok(n) = read_fd(tun, &mut buf)
        {
            let pkt = &mut buf[..n];
            match checks::check_tx(pkt) {
                Err(c) => local.add(c, 1),
                Ok(info) => match peers.refresh().route(info.dst) {
                    None => {
                        local.add(Counter::DropNoRoute, 1);
                        let from = cfg.icmp_source.unwrap_or(Ipv4Addr::from(info.dst));
                        if let Some(l) = icmp::net_unreachable(pkt, from, &mut icmp_buf)
                            && write_fd(tun, &icmp_buf[..l]).is_ok()
                        {
                            local.add(Counter::UnreachableSent, 1);
                        }
                    }
                    Some(peer) => {
                        icmp::decrement_ttl(pkt);
                        let dst = SocketAddrV4::new(peer, cfg.port);
                        match super::udp::send_to(sock, pkt, dst) {
                            Ok(()) => {
                                local.add(Counter::TxPackets, 1);
                                local.add(Counter::TxBytes, n as u64);
                            }
                            Err(_) => local.add(Counter::DropSendError, 1),
                        }
                    }
                },
            }
        }
        if fds[1].revents != 0
            && let Ok((n, from, truncated)) = recv_from(sock, &mut buf)
        {
            let pkt = &mut buf[..n];
            if truncated {
                local.add(Counter::DropOversized, 1);
                continue;
            }
            match checks::check_rx(peers.refresh(), from, pkt, &rules) {
                Err(c) => local.add(c, 1),
                Ok(_) => {
                    icmp::decrement_ttl(pkt);
                    match write_fd(tun, pkt) {
                        Ok(()) => {
                            local.add(Counter::RxPackets, 1);
                            local.add(Counter::RxBytes, n as u64);
                        }
                        Err(_) => local.add(Counter::DropTunError, 1),
                    }
                }
            }
        }
    }
    local.flush(&sh.counters);
}
