//! `capture`: which packets to record on which link, for how long, and where they go; and the small
//! filter language that picks them. The filter is a subset of tcpdump's (pcap-filter) words, so a
//! dry run can hand it to tcpdump as it is.
//!
//! ```text
//! filter := term ("or" term)*
//! term   := factor ("and" factor)*
//! factor := "not" factor | "(" filter ")" | primitive
//! primitive := icmp | icmp6 | udp | tcp | arp | ip | ip6
//!            | [udp|tcp] port N | [src|dst] host ADDR
//! ```

use super::render::{InNs, Put, Quoted, Shown, put};
use super::{Name, Ns};
use std::fmt::{self, Display, Formatter};
use std::net::IpAddr;

/// One `capture` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Capture {
    pub ns: Ns,
    pub dev: Name,
    /// Stop after this many packets (that pass the filter).
    pub count: Option<u64>,
    /// Stop after this many seconds.
    pub seconds: Option<f64>,
    pub filter: Option<Filter>,
    /// A pcap file; `None`: one line (or JSON object) per packet on stdout.
    pub to: Option<String>,
}

impl Capture {
    /// As tcpdump in the background: `ip netns exec a tcpdump -i eth0 -c 4 -w a.pcap &`.
    pub(super) fn render(&self, out: &mut String) {
        InNs(&self.ns).put(out);
        if let Some(s) = self.seconds {
            put!(out, "timeout ", Shown(s), " ");
        }
        out.push_str("tcpdump");
        if self.to.is_none() {
            out.push_str(" -n -l");
        }
        put!(out, " -i ", Quoted(&self.dev));
        if let Some(n) = self.count {
            put!(out, " -c ", Shown(n));
        }
        if let Some(file) = &self.to {
            put!(out, " -w ", Quoted(file));
        }
        if let Some(f) = &self.filter {
            put!(out, " ", Quoted(&f.to_string()));
        }
        out.push_str(" &");
    }
}

/// A protocol word of the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Icmp,
    Icmp6,
    Udp,
    Tcp,
    Arp,
    Ip,
    Ip6,
}

impl Proto {
    pub const WORDS: &'static [&'static str] = &["icmp", "icmp6", "udp", "tcp", "arp", "ip", "ip6"];

    fn from_word(w: &str) -> Option<Proto> {
        Some(match w {
            "icmp" => Proto::Icmp,
            "icmp6" => Proto::Icmp6,
            "udp" => Proto::Udp,
            "tcp" => Proto::Tcp,
            "arp" => Proto::Arp,
            "ip" => Proto::Ip,
            "ip6" => Proto::Ip6,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            Proto::Icmp => "icmp",
            Proto::Icmp6 => "icmp6",
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
            Proto::Arp => "arp",
            Proto::Ip => "ip",
            Proto::Ip6 => "ip6",
        }
    }
}

/// Which end of a packet an address or port is looked for at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Either,
    Src,
    Dst,
}

/// A parsed filter. It is matched against a packet's outermost headers, as tcpdump matches it.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Proto(Proto),
    /// `[udp|tcp] port N`: either port of a UDP or TCP packet (of `proto`, when given).
    Port(Option<Proto>, u16),
    Host(End, IpAddr),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// Why a filter does not parse: the message, and the byte offset in the text it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    pub message: String,
    pub at: usize,
}

/// The help shown with a filter that does not parse.
pub const FILTER_HELP: &str = "a filter is icmp, icmp6, udp, tcp, arp, ip, ip6, `[udp|tcp] port N` or \
`[src|dst] host ADDR`, joined with and, or, not and parentheses, e.g. filter \"udp port 8472\"";

impl Filter {
    /// Reads a filter; the error says where in `text` it stops making sense.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = tokens(text);
        if tokens.is_empty() {
            return Err(FilterError {
                message: "the filter is empty".into(),
                at: 0,
            });
        }
        let mut p = Parser {
            tokens,
            next: 0,
            end: text.len(),
            depth: 0,
        };
        let f = p.or()?;
        match p.peek() {
            None => Ok(f),
            Some((at, w)) => Err(p.error(
                at,
                format!("`{w}` does not belong here: expected `and` or `or`"),
            )),
        }
    }
}

/// The words of a filter and where each starts; parentheses are words of their own.
fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let lone = c == '(' || c == ')';
        if c.is_whitespace() || lone {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
            if lone {
                out.push((i, &text[i..i + 1]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// Nesting deeper than this is refused: the parser recurses once per level.
const MAX_DEPTH: usize = 64;

struct Parser<'t> {
    tokens: Vec<(usize, &'t str)>,
    next: usize,
    end: usize,
    depth: usize,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<(usize, &'t str)> {
        self.tokens.get(self.next).copied()
    }

    fn take(&mut self) -> Option<(usize, &'t str)> {
        let t = self.peek();
        self.next += usize::from(t.is_some());
        t
    }

    fn error(&self, at: usize, message: String) -> FilterError {
        FilterError { message, at }
    }

    /// The next word, which must be there: `what` says what was expected.
    fn need(&mut self, what: &str) -> Result<(usize, &'t str), FilterError> {
        self.take().ok_or_else(|| FilterError {
            message: format!("the filter ends where {what} should follow"),
            at: self.end.saturating_sub(1),
        })
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some((_, "or"))) {
            self.next += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.factor()?;
        while matches!(self.peek(), Some((_, "and"))) {
            self.next += 1;
            left = Filter::And(Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Filter, FilterError> {
        let (at, w) = self.need("a protocol, `port`, `host` or `not`")?;
        match w {
            "not" | "(" => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.error(
                        at,
                        format!("the filter nests deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let f = if w == "not" {
                    Filter::Not(Box::new(self.factor()?))
                } else {
                    let inner = self.or()?;
                    match self.take() {
                        Some((_, ")")) => inner,
                        Some((at2, other)) => {
                            return Err(self.error(at2, format!("expected `)`, found `{other}`")));
                        }
                        None => return Err(self.error(at, "this `(` is never closed".into())),
                    }
                };
                self.depth -= 1;
                Ok(f)
            }
            "port" => Ok(Filter::Port(None, self.port()?)),
            "host" => Ok(Filter::Host(End::Either, self.address()?)),
            "src" | "dst" => {
                let end = if w == "src" { End::Src } else { End::Dst };
                if matches!(self.peek(), Some((_, "host"))) {
                    self.next += 1;
                }
                Ok(Filter::Host(end, self.address()?))
            }
            _ => match Proto::from_word(w) {
                Some(p @ (Proto::Udp | Proto::Tcp)) if matches!(self.peek(), Some((_, "port"))) => {
                    self.next += 1;
                    Ok(Filter::Port(Some(p), self.port()?))
                }
                Some(p) => Ok(Filter::Proto(p)),
                None => {
                    let mut message = format!("`{w}` is not a filter word");
                    let words = Proto::WORDS
                        .iter()
                        .copied()
                        .chain(["port", "host", "src", "dst", "not"]);
                    if let Some(d) = crate::base::diag::did_you_mean(w, words) {
                        message = format!("{message}; {d}");
                    }
                    Err(self.error(at, message))
                }
            },
        }
    }

    fn port(&mut self) -> Result<u16, FilterError> {
        let (at, w) = self.need("a port number")?;
        match w.parse::<u16>() {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(self.error(at, format!("`{w}` is not a port (1..65535)"))),
        }
    }

    fn address(&mut self) -> Result<IpAddr, FilterError> {
        let (at, w) = self.need("an address")?;
        w.parse()
            .map_err(|_| self.error(at, format!("`{w}` is not an IP address")))
    }
}

impl Display for Filter {
    /// As tcpdump reads it. tcpdump gives `and` and `or` the same precedence, so an `or` inside an
    /// `and` (and the other way round) is parenthesized.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let side = |f: &mut Formatter<'_>, x: &Filter, parens: bool| {
            if parens {
                write!(f, "({x})")
            } else {
                write!(f, "{x}")
            }
        };
        match self {
            Filter::Proto(p) => f.write_str(p.word()),
            Filter::Port(None, n) => write!(f, "port {n}"),
            Filter::Port(Some(p), n) => write!(f, "{} port {n}", p.word()),
            Filter::Host(End::Either, a) => write!(f, "host {a}"),
            Filter::Host(End::Src, a) => write!(f, "src host {a}"),
            Filter::Host(End::Dst, a) => write!(f, "dst host {a}"),
            Filter::Not(x) => {
                f.write_str("not ")?;
                side(f, x, matches!(**x, Filter::And(..) | Filter::Or(..)))
            }
            Filter::And(a, b) => {
                side(f, a, matches!(**a, Filter::Or(..)))?;
                f.write_str(" and ")?;
                side(f, b, matches!(**b, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(a, b) => {
                side(f, a, matches!(**a, Filter::And(..)))?;
                f.write_str(" or ")?;
                side(f, b, matches!(**b, Filter::And(..) | Filter::Or(..)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_back_as_tcpdump_reads_them() {
        for (text, shown) in [
            ("icmp", "icmp"),
            ("udp port 8472", "udp port 8472"),
            ("host 10.1.1.2 and icmp", "host 10.1.1.2 and icmp"),
            (
                "src 10.0.0.1 or dst host 10.0.0.2",
                "src host 10.0.0.1 or dst host 10.0.0.2",
            ),
            ("icmp or udp and port 53", "icmp or (udp and port 53)"),
            ("(icmp or udp) and not arp", "(icmp or udp) and not arp"),
            ("not (tcp or udp)", "not (tcp or udp)"),
            ("host 2001:db8::1", "host 2001:db8::1"),
        ] {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(f.to_string(), shown, "{text}");
            assert_eq!(Filter::parse(shown).as_ref(), Ok(&f), "{shown} reads back");
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = Filter::parse("icmp or udp and port 53").unwrap();
        assert_eq!(
            f,
            Filter::Or(
                Box::new(Filter::Proto(Proto::Icmp)),
                Box::new(Filter::And(
                    Box::new(Filter::Proto(Proto::Udp)),
                    Box::new(Filter::Port(None, 53))
                ))
            )
        );
    }

    #[test]
    fn a_bad_filter_says_where() {
        for (text, at, says) in [
            ("udp port x", 9, "not a port"),
            ("udp prot 1", 4, "does not belong"),
            ("icnp", 0, "did you mean `icmp`"),
            ("host 10.1.1", 5, "not an IP address"),
            ("icmp and", 7, "ends where"),
            ("(icmp", 0, "never closed"),
            ("", 0, "empty"),
            ("port 0", 5, "not a port"),
        ] {
            let e = Filter::parse(text).unwrap_err();
            assert_eq!(e.at, at, "{text}: {e:?}");
            assert!(e.message.contains(says), "{text}: {}", e.message);
        }
        let deep = format!("{}icmp", "not ".repeat(100));
        assert!(
            Filter::parse(&deep)
                .unwrap_err()
                .message
                .contains("nests deeper")
        );
    }

    #[test]
    fn a_capture_renders_as_tcpdump_in_the_background() {
        let mut c = Capture {
            ns: Some("a".into()),
            dev: "eth0".into(),
            count: Some(4),
            seconds: None,
            filter: None,
            to: Some("a.pcap".into()),
        };
        let mut out = String::new();
        c.render(&mut out);
        assert_eq!(out, "ip netns exec a tcpdump -i eth0 -c 4 -w a.pcap &");
        c.to = None;
        c.seconds = Some(2.5);
        c.filter = Some(Filter::parse("udp port 8472").unwrap());
        out.clear();
        c.render(&mut out);
        assert_eq!(
            out,
            "ip netns exec a timeout 2.5 tcpdump -n -l -i eth0 -c 4 'udp port 8472' &"
        );
    }
}
