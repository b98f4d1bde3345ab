//! Kernel errors in the kernel's own words. The kernel explains many failures in a netlink extended
//! ack (an `NLMSGERR_ATTR_MSG` string such as "Unknown device type"); rtnetlink hands back the raw
//! error payload, so the TLVs are parsed here. Without such a string the errno's text stands in,
//! as `RTNETLINK answers: File exists` does for ip(8).

use crate::base::error::{Kind, RunError};
use rtnetlink::packet_core::ErrorMessage;
use std::fmt;

/// An error the kernel returned for one netlink request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno (EEXIST = 17).
    pub errno: i32,
    /// The extended ack's message, when the kernel gave one.
    pub text: Option<String>,
}

const NLMSG_HDRLEN: usize = 16;
const NLMSGERR_ATTR_MSG: u16 = 1;

impl KernelError {
    pub fn from_errno(errno: i32) -> KernelError {
        KernelError {
            errno: errno.abs(),
            text: None,
        }
    }

    /// From an NLMSG_ERROR payload. The sockets are opened with NETLINK_CAP_ACK, so the echoed
    /// request is only its 16-byte header and the extended-ack TLVs follow it; an uncapped echo (the
    /// whole request) is handled too by skipping the request's own length.
    pub fn from_message(e: &ErrorMessage) -> KernelError {
        KernelError::from_raw(e.raw_code(), &e.header)
    }

    /// From an NLMSG_ERROR's code and the bytes after it (the echoed request's header, then the
    /// extended-ack TLVs), as a socket read by hand gives them (wire.rs).
    pub fn from_raw(code: i32, body: &[u8]) -> KernelError {
        let errno = code.abs();
        let text = ext_ack_message(body.get(NLMSG_HDRLEN..).unwrap_or(&[])).or_else(|| {
            let len = body
                .get(0..4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize)?;
            ext_ack_message(body.get(align4(len)..)?)
        });
        KernelError { errno, text }
    }

    pub fn is(&self, errno: nix::errno::Errno) -> bool {
        self.errno == errno as i32
    }

    /// The errno's symbolic name (EEXIST) and description (File exists).
    pub fn errno_text(&self) -> String {
        // strerror's words (nix's table says "on transport endpoint" for EOPNOTSUPP, glibc does not)
        crate::base::error::io_text(&std::io::Error::from_raw_os_error(self.errno))
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = format!("{:?}", nix::errno::Errno::from_raw(self.errno));
        match &self.text {
            Some(t) => write!(f, "{t} ({name}: {})", self.errno_text()),
            None => write!(f, "{} ({name})", self.errno_text()),
        }
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Finds the NLMSGERR_ATTR_MSG string among netlink TLVs.
fn ext_ack_message(mut tlvs: &[u8]) -> Option<String> {
    while tlvs.len() >= 4 {
        let len = u16::from_ne_bytes([tlvs[0], tlvs[1]]) as usize;
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & 0x3fff;
        if len < 4 || len > tlvs.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let raw = &tlvs[4..len];
            let raw = raw.split(|b| *b == 0).next().unwrap_or(raw);
            let s = String::from_utf8_lossy(raw)
                .trim()
                .trim_end_matches('.')
                .to_string();
            return (!s.is_empty()).then_some(s);
        }
        tlvs = tlvs.get(align4(len)..).unwrap_or(&[]);
    }
    None
}

/// A RunError saying what netsh tried and what the kernel answered, with help for the usual causes.
pub fn kernel(what: impl fmt::Display, e: &KernelError) -> RunError {
    use nix::errno::Errno::*;
    let err = RunError::errno(e.errno, format!("{what}: {e}"));
    let errno = nix::errno::Errno::from_raw(e.errno);
    match errno {
        EEXIST => err.help("it exists already; delete it first, or use `replace` where the statement has one"),
        ENODEV => err.help("no such device: check the link's name and the namespace it lives in (`show links in NS`)"),
        ENETUNREACH => err.help("the gateway is not on a connected network: add an address in its subnet first, or say `onlink`"),
        EPERM | EACCES => err.help("netsh needs root (CAP_NET_ADMIN) for this"),
        EADDRNOTAVAIL => err.help("that address is not configured there (`show addrs`)"),
        ESRCH => err.help("no such entry (`show routes` / `show neigh` lists what there is)"),
        _ => err,
    }
}

/// For Ops another part of netsh carries out (flannel, the store, Docker networks).
pub fn not_supported(what: &str, issue: &str) -> RunError {
    RunError::of(
        Kind::NotSupported,
        format!("{what} is not available in this build of the runtime yet"),
    )
    .help(format!(
        "it belongs to {issue}; `--dry-run` shows the commands it stands for"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroI32;

    fn tlv(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn error(header: Vec<u8>, code: i32) -> ErrorMessage {
        let mut e = ErrorMessage::default();
        e.code = NonZeroI32::new(code);
        e.header = header;
        e
    }

    #[test]
    fn the_extended_ack_message_is_found_after_a_capped_header() {
        let mut payload = vec![0u8; 16];
        payload[0] = 32; // the request was 32 bytes, capped to its header
        payload.extend(tlv(2, &7u32.to_ne_bytes())); // NLMSGERR_ATTR_OFFS first
        payload.extend(tlv(1, b"Unknown device type\0"));
        let e = KernelError::from_message(&error(payload, -95));
        assert_eq!(e.errno, 95);
        assert_eq!(e.text.as_deref(), Some("Unknown device type"));
        assert!(e.to_string().starts_with("Unknown device type (EOPNOTSUPP"));
    }

    #[test]
    fn an_uncapped_echo_is_skipped_by_its_length() {
        let mut payload = vec![0u8; 24];
        payload[0] = 24;
        payload.extend(tlv(1, b"Nexthop has invalid gateway\0"));
        let e = KernelError::from_message(&error(payload, -22));
        assert_eq!(e.text.as_deref(), Some("Nexthop has invalid gateway"));
    }

    #[test]
    fn without_an_ack_message_the_errno_speaks() {
        let e = KernelError::from_message(&error(vec![0u8; 16], -17));
        assert_eq!(e.text, None);
        assert_eq!(e.to_string(), "File exists (EEXIST)");
        let run = kernel("cannot add link v1", &e);
        assert!(run.message.contains("File exists"));
        assert!(run.help.is_some());
    }

    #[test]
    fn garbage_after_the_header_is_no_message() {
        let e = KernelError::from_message(&error(vec![0xff; 19], -1));
        assert_eq!(e.text, None);
    }
}
