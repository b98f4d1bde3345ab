//! Checked lines kept for the run. The check pass scans, binds and types every statement; for a
//! top-level line of plain words it writes what it found here (the statement, each argument's slot
//! and typed value) so that the run does not scan, bind and type the line a second time. Everything
//! else (blocks, loops, variables, strings) the run parses again, as before.
//!
//! The tape is a byte encoding in blocks. The run reads it front to back and frees each block once
//! read, so the tape and what the run builds up (a dry run's record of what it made) are not both
//! whole at once.

use crate::base::source::Span;
use crate::check::bind::Slot;
use crate::check::signatures::{Sig, TABLE};
use crate::check::types::Val;
use crate::ops::Name;
use crate::syntax::parser::PlainLine;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Above glibc's 128 KiB threshold, so each block is mapped by itself and goes back to the system
/// when the run frees it (all blocks are made, in the check pass, before any is freed).
const BLOCK: usize = 256 * 1024;

/// The slot byte of the trailing `in NS`; positionals and options count up from these.
const SLOT_NS: u8 = 255;
const SLOT_OPT: u8 = 64;

/// Value tags.
const TEXT: u8 = 0;
const INT: u8 = 1;
const FLOAT: u8 = 2;
const IP4: u8 = 3;
const IP6: u8 = 4;
const NET4: u8 = 5;
const NET6: u8 = 6;
const MAC: u8 = 7;
const DEFAULT: u8 = 8;
const FLAG: u8 = 9;

#[derive(Default)]
pub struct Tape {
    blocks: VecDeque<Vec<u8>>,
    /// The entry being written, copied into a block once whole (entries never straddle blocks).
    entry: Vec<u8>,
    /// Whether the entry being written can still be kept; where its argument count goes and how
    /// many have come; where its statement starts (map offset) and its line's successor (file
    /// offset).
    writing: bool,
    count_at: usize,
    nargs: usize,
    stmt_start: u32,
    next: usize,
    /// Where the last recorded line's successor starts: entries store their offsets from it.
    written_to: usize,
    /// How far the front block has been read.
    read_at: usize,
}

impl Tape {
    /// Starts the entry of a checked line. `base` is the map offset of the file's first byte,
    /// `span` the statement's span. The typed arguments follow through `arg`, and `commit` keeps
    /// the entry; a line the encoding cannot hold is left out, and the run parses it again.
    pub fn begin(&mut self, line: PlainLine, base: u32, span: Span, sig: &'static Sig) {
        self.writing = false;
        let Some(index) = table_index(sig) else {
            return;
        };
        let (Some(start), Some(end)) = (span.start.checked_sub(base), span.end.checked_sub(base))
        else {
            return;
        };
        let (start, end) = (start as usize, end as usize);
        if line.start < self.written_to || start < line.start || end > line.next {
            return;
        }
        let e = &mut self.entry;
        e.clear();
        varint(e, (line.start - self.written_to) as u64);
        varint(e, (start - line.start) as u64);
        varint(e, (end - start) as u64);
        varint(e, (line.next - end) as u64);
        varint(e, index as u64);
        self.count_at = e.len();
        e.push(0);
        (self.writing, self.nargs) = (true, 0);
        (self.stmt_start, self.next) = (span.start, line.next);
    }

    /// One typed argument of the line begun: its slot, the word it was written as, its value.
    pub fn arg(&mut self, slot: Slot, word: Span, val: &Val) {
        let slot = match slot {
            Slot::Pos(i) if i < SLOT_OPT => i,
            Slot::Opt(i) if i < SLOT_NS - SLOT_OPT => SLOT_OPT + i,
            Slot::Ns => SLOT_NS,
            _ => {
                self.writing = false;
                return;
            }
        };
        if self.writing {
            self.entry.push(slot);
            self.writing = value(&mut self.entry, val, word, self.stmt_start);
            self.nargs += 1;
        }
    }

    /// Keeps the line begun if all of its `nargs` arguments came, typed.
    pub fn commit(&mut self, nargs: usize) {
        let Ok(count) = u8::try_from(nargs) else {
            return;
        };
        if !std::mem::take(&mut self.writing) || self.nargs != nargs {
            return;
        }
        self.entry[self.count_at] = count;
        if self
            .blocks
            .back()
            .is_none_or(|b| b.len() + self.entry.len() > b.capacity())
        {
            let mut block = Vec::with_capacity(BLOCK);
            crate::base::pages::populate(&mut block, BLOCK);
            self.blocks.push_back(block);
        }
        if let Some(block) = self.blocks.back_mut() {
            block.extend_from_slice(&self.entry);
        }
        self.written_to = self.next;
    }

    /// The tape for reading; the entry buffer is let go.
    pub fn finish(self) -> Tape {
        Tape {
            blocks: self.blocks,
            ..Tape::default()
        }
    }

    /// The next recorded line, which starts at or after `from` (the successor of the last one
    /// read), its text borrowed from the file's `text`. A block is freed once read through. If an
    /// entry does not fit the text, the rest of the tape is dropped: the run parses the rest.
    pub fn next_line<'a, A: TapedArgs<'a>>(
        &mut self,
        from: usize,
        text: &'a str,
        args: &mut A,
    ) -> Option<Recorded> {
        let block = self.blocks.front()?;
        let mut r = Reader {
            bytes: block,
            at: self.read_at,
        };
        let Some(line) = r.line(from, text, args) else {
            self.blocks.clear();
            return None;
        };
        self.read_at = r.at;
        if self.read_at == block.len() {
            self.blocks.pop_front();
            self.read_at = 0;
        }
        Some(line)
    }
}

/// What a recorded line's statement and typed arguments are read into (the interpreter's `Args`).
pub trait TapedArgs<'a> {
    /// Forgets the last line's arguments: what follows are `sig`'s.
    fn begin(&mut self, sig: &'static Sig);
    /// An argument, in the slot of `sig` it fills.
    fn push(&mut self, slot: Slot, val: Val<'a>);
    /// The trailing `in NS`.
    fn set_ns(&mut self, ns: Name);
}

/// Where a recorded line is; its typed arguments are read into the caller's `TapedArgs`.
pub struct Recorded {
    pub plain: PlainLine,
    /// The statement, as file offsets.
    pub start: usize,
    pub end: usize,
}

fn table_index(sig: &'static Sig) -> Option<usize> {
    let offset = (sig as *const Sig as usize).checked_sub(TABLE.as_ptr() as usize)?;
    let index = offset / size_of::<Sig>();
    TABLE
        .get(index)
        .filter(|s| std::ptr::eq(*s, sig))
        .map(|_| index)
}

fn slot_exists(sig: &Sig, slot: Slot) -> bool {
    match slot {
        Slot::Pos(i) => (i as usize) < sig.pos.len(),
        Slot::Opt(i) => (i as usize) < sig.opts.len(),
        _ => true,
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Encodes a value; text is kept as where its word lies from the statement's start (a text value
/// read from a literal word is that word's whole text, borrowed). False if the value is not its
/// word's text as written: the tape holds no copies.
fn value(e: &mut Vec<u8>, val: &Val, word: Span, stmt_start: u32) -> bool {
    match val {
        Val::Text(Cow::Borrowed(t))
            if t.len() == word.len() as usize && word.start >= stmt_start =>
        {
            e.push(TEXT);
            varint(e, (word.start - stmt_start) as u64);
            varint(e, word.len() as u64);
        }
        Val::Text(_) => return false,
        Val::Int(n) => {
            e.push(INT);
            varint(e, *n);
        }
        Val::Float(f) => {
            e.push(FLOAT);
            e.extend_from_slice(&f.to_le_bytes());
        }
        Val::Ip(IpAddr::V4(a)) => {
            e.push(IP4);
            e.extend_from_slice(&a.octets());
        }
        Val::Ip(IpAddr::V6(a)) => {
            e.push(IP6);
            e.extend_from_slice(&a.octets());
        }
        Val::Net(IpNet::V4(n)) => {
            e.push(NET4);
            e.extend_from_slice(&n.addr().octets());
            e.push(n.prefix_len());
        }
        Val::Net(IpNet::V6(n)) => {
            e.push(NET6);
            e.extend_from_slice(&n.addr().octets());
            e.push(n.prefix_len());
        }
        Val::Mac(m) => {
            e.push(MAC);
            e.extend_from_slice(m);
        }
        Val::Default => e.push(DEFAULT),
        Val::Flag => e.push(FLAG),
    }
    true
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.bytes.get(self.at..self.at + N)?;
        self.at += N;
        s.try_into().ok()
    }
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        // nearly every offset and number on the tape is below 128: one byte, read inline
        let first = self.byte()?;
        if first < 0x80 {
            return Some(u64::from(first));
        }
        self.long_varint(first)
    }
    #[cold]
    fn long_varint(&mut self, first: u8) -> Option<u64> {
        let mut n = u64::from(first & 0x7f);
        let mut shift = 7;
        while shift < 64 {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(n);
            }
            shift += 7;
        }
        None
    }
    fn offset(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }

    /// A line and its arguments.
    fn line<'a, A: TapedArgs<'a>>(
        &mut self,
        from: usize,
        text: &'a str,
        args: &mut A,
    ) -> Option<Recorded> {
        let line_start = from.checked_add(self.offset()?)?;
        let start = line_start.checked_add(self.offset()?)?;
        let end = start.checked_add(self.offset()?)?;
        let next = end.checked_add(self.offset()?)?;
        let sig = TABLE.get(self.offset()?)?;
        args.begin(sig);
        for _ in 0..self.byte()? {
            let slot = match self.byte()? {
                SLOT_NS => Slot::Ns,
                i if i >= SLOT_OPT => Slot::Opt(i - SLOT_OPT),
                i => Slot::Pos(i),
            };
            let val = self.value(text, start)?;
            match (slot, val) {
                (Slot::Ns, Val::Text(ns)) => args.set_ns(ns.as_ref().into()),
                (Slot::Ns, _) => return None,
                (slot, val) => {
                    if !slot_exists(sig, slot) {
                        return None;
                    }
                    args.push(slot, val);
                }
            }
        }
        Some(Recorded {
            plain: PlainLine {
                start: line_start,
                next,
            },
            start,
            end,
        })
    }

    fn value<'a>(&mut self, text: &'a str, stmt_start: usize) -> Option<Val<'a>> {
        Some(match self.byte()? {
            TEXT => {
                let from = stmt_start.checked_add(self.offset()?)?;
                let to = from.checked_add(self.offset()?)?;
                Val::Text(Cow::Borrowed(text.get(from..to)?))
            }
            INT => Val::Int(self.varint()?),
            FLOAT => Val::Float(f64::from_le_bytes(self.take()?)),
            IP4 => Val::Ip(Ipv4Addr::from(self.take::<4>()?).into()),
            IP6 => Val::Ip(Ipv6Addr::from(self.take::<16>()?).into()),
            NET4 => {
                let a = Ipv4Addr::from(self.take::<4>()?);
                Val::Net(Ipv4Net::new(a, self.byte()?).ok()?.into())
            }
            NET6 => {
                let a = Ipv6Addr::from(self.take::<16>()?);
                Val::Net(Ipv6Net::new(a, self.byte()?).ok()?.into())
            }
            MAC => Val::Mac(self.take()?),
            DEFAULT => Val::Default,
            FLAG => Val::Flag,
            _ => return None,
        })
    }
}
