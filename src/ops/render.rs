//! Ops as the commands a person would type: iproute2 (`ip`, `bridge`), `sysctl`, `etcdctl`, a shell.
//! This is what `--dry-run` prints; the output is a shell script that does the same thing where such
//! commands exist, and a `#` comment naming netsh's own service where they do not.
//!
//! A line is written straight onto a `String` from small pieces (`IpCmd`, `Quoted`, `Addr`, ...)
//! that each push their bytes (`Put`), not through `core::fmt`: a dry run of a big script renders one
//! line per statement, and the formatting machinery was the largest cost of the whole run.

use super::*;
use ipnet::IpNet;
use std::fmt::{self, Display, Formatter, Write};
use std::net::IpAddr;

/// A piece of a dry-run line that writes itself onto it.
pub(super) trait Put {
    fn put(&self, out: &mut String);
}

impl Put for str {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Put for String {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

/// A name in an Op (a link, a namespace, a sysctl key) is a word a script chose: quoted for the
/// shell when it needs it, so a dry run can be pasted (`ip link add 'x;id' type bridge`).
impl Put for super::Name {
    fn put(&self, out: &mut String) {
        Quoted(self).put(out);
    }
}

impl<T: Put + ?Sized> Put for &T {
    fn put(&self, out: &mut String) {
        (**self).put(out);
    }
}

macro_rules! put_integers {
    ($($t:ty),*) => {$(
        impl Put for $t {
            fn put(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
put_integers!(u8, u16, u32, usize);

/// Any other value, through its `Display` (the pieces seldom printed).
pub(super) struct Shown<T>(pub(super) T);

impl<T: Display> Put for Shown<T> {
    fn put(&self, out: &mut String) {
        // writing to a String cannot fail
        let _ = write!(out, "{}", self.0);
    }
}

/// Writes pieces one after another onto a line.
macro_rules! put {
    ($out:expr $(, $piece:expr)* $(,)?) => {{
        $( $crate::ops::render::Put::put(&$piece, $out); )*
    }};
}
pub(super) use put;

/// `Display` for a piece, through its `Put`: for the few places that format one on its own.
macro_rules! display_by_put {
    ($($t:ident),*) => {$(
        impl Display for $t<'_> {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                let mut s = String::new();
                self.put(&mut s);
                f.write_str(&s)
            }
        }
    )*};
}
display_by_put!(Quoted, Mac);

/// Whether a word can go to a POSIX shell as it is.
pub(super) fn shell_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&c))
}

/// A word quoted for a POSIX shell when it needs it.
pub struct Quoted<'a>(pub &'a str);

impl Put for Quoted<'_> {
    fn put(&self, out: &mut String) {
        if shell_safe(self.0) {
            return out.push_str(self.0);
        }
        out.push('\'');
        for (i, piece) in self.0.split('\'').enumerate() {
            if i > 0 {
                out.push_str(r"'\''");
            }
            out.push_str(piece);
        }
        out.push('\'');
    }
}

/// Text inside a `#` comment: a newline would end the comment and run the rest as a command, so
/// line breaks are written as `\n`.
pub(super) struct Commented<'a>(pub(super) &'a str);

impl Put for Commented<'_> {
    fn put(&self, out: &mut String) {
        for c in self.0.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    Quoted(s).put(&mut out);
    out
}

/// A MAC address as ip(8) writes it: 02:42:ac:11:00:02.
pub fn format_mac(m: &[u8; 6]) -> String {
    Mac(m).to_string()
}

/// A MAC address as `02:42:ac:11:00:02`.
pub struct Mac<'a>(pub &'a [u8; 6]);

impl Put for Mac<'_> {
    fn put(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// An address, IPv4 written digit by digit (std's `Display` goes through the formatting machinery
/// once per octet).
pub(super) struct Addr<'a>(pub(super) &'a IpAddr);

impl Put for Addr<'_> {
    fn put(&self, out: &mut String) {
        match self.0 {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    octet.put(out);
                }
            }
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => put_ipv6(v6, out),
            IpAddr::V6(_) => Shown(self.0).put(out),
        }
    }
}

/// An IPv6 address as std writes it (RFC 5952: lowercase hex, the longest run of two or more zero
/// groups, the first of equals, as `::`), without `core::fmt`. IPv4-mapped addresses are not
/// handled here.
pub(super) fn put_ipv6(a: &std::net::Ipv6Addr, out: &mut String) {
    let groups = a.segments();
    let (mut best, mut run) = ((0, 0), (0, 0)); // (start, length) of zero runs
    for (i, &g) in groups.iter().enumerate() {
        if g == 0 {
            run = if run.1 == 0 {
                (i, 1)
            } else {
                (run.0, run.1 + 1)
            };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let hex = |out: &mut String, chunk: &[u16]| {
        for (i, &g) in chunk.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            let digits = (16 - g.leading_zeros()).div_ceil(4).max(1);
            for d in (0..digits).rev() {
                out.push(char::from(
                    b"0123456789abcdef"[usize::from(g >> (4 * d) & 0xf)],
                ));
            }
        }
    };
    if best.1 > 1 {
        hex(out, &groups[..best.0]);
        out.push_str("::");
        hex(out, &groups[best.0 + best.1..]);
    } else {
        hex(out, &groups);
    }
}

/// A network as `ADDRESS/LENGTH`.
pub(super) struct Net<'a>(pub(super) &'a IpNet);

impl Put for Net<'_> {
    fn put(&self, out: &mut String) {
        put!(out, Addr(&self.0.addr()), "/", self.0.prefix_len());
    }
}

/// `ip` or `ip -n NS`.
pub(super) struct IpCmd<'a>(pub(super) &'a Ns);

impl Put for IpCmd<'_> {
    fn put(&self, out: &mut String) {
        match self.0 {
            Some(n) => put!(out, "ip -n ", Quoted(n)),
            None => out.push_str("ip"),
        }
    }
}

/// `ip netns exec NS ` for commands that have no `-n` of their own; nothing outside a namespace.
pub(super) struct InNs<'a>(pub(super) &'a Ns);

impl Put for InNs<'_> {
    fn put(&self, out: &mut String) {
        if let Some(n) = self.0 {
            put!(out, "ip netns exec ", Quoted(n), " ");
        }
    }
}

/// ` in NS` for netsh's own comments; nothing outside a namespace.
pub(super) struct InSuffix<'a>(pub(super) &'a Ns);

impl Put for InSuffix<'_> {
    fn put(&self, out: &mut String) {
        if let Some(n) = self.0 {
            put!(out, " in ", n);
        }
    }
}

/// ` KEY VALUE` when the value is given.
pub(super) fn opt<T: Put>(out: &mut String, key: &str, v: Option<T>) {
    if let Some(v) = v {
        put!(out, " ", key, " ", v);
    }
}

/// ` WORD` when the flag is set.
pub(super) fn flag(out: &mut String, word: &str, set: bool) {
    if set {
        out.push_str(word);
    }
}

impl Put for Route {
    fn put(&self, out: &mut String) {
        match &self.dest {
            Dest::Default(_) => out.push_str("default"),
            Dest::Net(n) => Net(n).put(out),
        }
        opt(out, "via", self.via.as_ref().map(Addr));
        opt(out, "dev", self.dev.as_ref());
        flag(out, " onlink", self.onlink);
        opt(out, "metric", self.metric);
        opt(out, "table", self.table);
        opt(out, "src", self.src.as_ref().map(Addr));
    }
}

pub(super) fn shell_words(out: &mut String, argv: &[String]) {
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        Quoted(a).put(out);
    }
}

impl Op {
    /// Writes the Op as the command a person would type, without a newline, onto `out`.
    pub fn render(&self, out: &mut String) {
        match self {
            Op::Netns(op) => op.render(out),
            Op::Link(op) => op.render(out),
            Op::Addr(op) => op.render(out),
            Op::Route { ns, action, route } => {
                let v6 = matches!(route.dest, Dest::Default(Family::V6)) && route.via.is_none();
                let family = if v6 { " -6" } else { "" };
                put!(
                    out,
                    IpCmd(ns),
                    family,
                    " route ",
                    action.word(),
                    " ",
                    **route
                );
            }
            Op::Neigh(op) => op.render(out),
            Op::Sysctl(op) => op.render(out),
            Op::Probe(op) => op.render(out),
            Op::Service(op) => op.render(out),
            Op::Flannel(op) => op.render(out),
            Op::Docker(op) => op.render(out),
        }
    }
}

impl Display for Op {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        self.render(&mut line);
        f.write_str(&line)
    }
}

impl Display for Route {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        self.put(&mut line);
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::put_ipv6;
    use std::net::Ipv6Addr;

    #[test]
    fn ipv6_addresses_are_written_as_std_writes_them() {
        let mut rng = crate::base::test_rng::Xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..200_000 {
            // zero groups are common in real addresses and decide where `::` goes
            let groups: [u16; 8] = std::array::from_fn(|_| match rng.below(4) {
                0 | 1 => 0,
                2 => rng.below(16) as u16,
                _ => rng.next_u64() as u16,
            });
            let a = Ipv6Addr::from(groups);
            if a.to_ipv4_mapped().is_some() {
                continue;
            }
            let mut out = String::new();
            put_ipv6(&a, &mut out);
            assert_eq!(out, a.to_string(), "{groups:x?}");
        }
    }
}
