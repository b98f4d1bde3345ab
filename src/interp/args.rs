//! A statement's arguments after expansion and typing, looked up by the names the signature gives them.

use crate::base::error::ArgAt;
use crate::base::source::Span;
use crate::check::bind::Slot;
use crate::check::signatures::Sig;
use crate::check::tape::TapedArgs;
use crate::check::types::Val;
use crate::interp::value::Value;
use crate::ops::Name;
use ipnet::IpNet;
use smallvec::SmallVec;
use std::net::IpAddr;

pub struct Args<'a> {
    pub sig: &'static Sig,
    /// Typed arguments in the order they were written: (name, value). Literal words are borrowed from
    /// the source; a statement rarely has more than eight arguments, so they stay on the stack.
    pub vals: SmallVec<[(&'static str, Val<'a>); 8]>,
    /// Where each of `vals` was written.
    pub spans: SmallVec<[Span; 8]>,
    /// Further words, for statements that take them (echo, exec, help).
    pub rest: Vec<Value>,
    /// The trailing `in NS`, if given.
    pub ns: Option<Name>,
    /// Where that `NS` was written, when it was expanded from a variable.
    pub ns_span: Option<Span>,
}

impl<'a> Args<'a> {
    /// No arguments yet, for `sig`.
    pub fn new(sig: &'static Sig) -> Args<'a> {
        Args {
            sig,
            vals: SmallVec::new(),
            spans: SmallVec::new(),
            rest: Vec::new(),
            ns: None,
            ns_span: None,
        }
    }

    pub fn key(sig: &'static Sig, slot: Slot) -> &'static str {
        match slot {
            Slot::Pos(i) => sig.pos[i as usize].name,
            Slot::Opt(i) => sig.opts[i as usize].key,
            Slot::Ns => "in",
            Slot::Rest => "...",
        }
    }

    pub fn get(&self, key: &str) -> Option<&Val<'a>> {
        self.vals.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
    pub fn all<'k>(&'k self, key: &'k str) -> impl Iterator<Item = &'k Val<'a>> + 'k {
        self.vals
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| v)
    }
    /// An argument as text; short text (a name) is kept inline, with no allocation.
    pub fn text(&self, key: &str) -> Option<Name> {
        self.get(key).map(Val::name)
    }
    /// An argument as text that is not a name (a path, a key, a password).
    pub fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(Val::text)
    }
    /// A required argument: the binder has made sure it is there.
    pub fn must(&self, key: &str) -> Name {
        self.text(key).unwrap_or_default()
    }
    /// A required argument of free text (a URL, a network's name).
    pub fn must_string(&self, key: &str) -> String {
        self.string(key).unwrap_or_default()
    }
    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn int(&self, key: &str) -> Option<u64> {
        match self.get(key) {
            Some(Val::Int(n)) => Some(*n),
            _ => None,
        }
    }
    pub fn float(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(Val::Float(f)) => Some(*f),
            Some(Val::Int(n)) => Some(*n as f64),
            _ => None,
        }
    }
    pub fn ip(&self, key: &str) -> Option<IpAddr> {
        match self.get(key) {
            Some(Val::Ip(a)) => Some(*a),
            _ => None,
        }
    }
    pub fn net(&self, key: &str) -> Option<IpNet> {
        match self.get(key) {
            Some(Val::Net(n)) => Some(*n),
            _ => None,
        }
    }
    pub fn mac(&self, key: &str) -> Option<[u8; 6]> {
        match self.get(key) {
            Some(Val::Mac(m)) => Some(*m),
            _ => None,
        }
    }
    /// Where the argument a run-time error names was written: the one with its value, else the
    /// first with its keyword.
    pub fn span_of(&self, at: &ArgAt) -> Option<Span> {
        let same = |v: &Val| {
            let text = v.text();
            text == at.value
                || matches!((text.parse::<IpNet>(), at.value.parse::<IpNet>()), (Ok(a), Ok(b)) if a.trunc() == b.trunc())
        };
        let keyed = || {
            self.vals
                .iter()
                .zip(&self.spans)
                .filter(|((k, _), _)| *k == at.key)
        };
        keyed()
            .find(|((_, v), _)| same(v))
            .or_else(|| keyed().next())
            .map(|(_, span)| *span)
    }
    pub fn rest_words(&self) -> Vec<String> {
        self.rest.iter().map(Value::flat).collect()
    }
}

impl<'a> TapedArgs<'a> for Args<'a> {
    fn begin(&mut self, sig: &'static Sig) {
        self.sig = sig;
        self.vals.clear();
        self.spans.clear();
        self.rest.clear();
        self.ns = None;
        self.ns_span = None;
    }
    fn push(&mut self, slot: Slot, val: Val<'a>) {
        self.vals.push((Args::key(self.sig, slot), val));
    }
    fn set_ns(&mut self, ns: Name) {
        self.ns = Some(ns);
    }
}
