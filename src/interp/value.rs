//! Values and variables: what `$name` holds, and how words expand.

use crate::syntax::range::{BadRange, range};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    List(Vec<Value>),
}

impl Value {
    /// The value as one string: a list's items joined by spaces, as a shell would.
    pub fn flat(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::List(items) => items.iter().map(Value::flat).collect::<Vec<_>>().join(" "),
        }
    }

    /// The items a `for` loop walks: a list's items, a range's numbers, or the value itself.
    pub fn items(self) -> Result<Vec<Value>, BadRange> {
        let mut out = Vec::new();
        self.walk_into(&mut out)?;
        Ok(out)
    }

    fn walk_into(self, out: &mut Vec<Value>) -> Result<(), BadRange> {
        match self {
            Value::List(items) => items.into_iter().try_for_each(|v| v.walk_into(out)),
            Value::Str(s) => {
                match range(&s)? {
                    Some((a, b)) => out.extend((a..=b).map(|n| Value::Str(n.to_string()))),
                    None => out.push(Value::Str(s)),
                }
                Ok(())
            }
        }
    }

    /// How many strings the value holds, nested lists included.
    pub fn leaves(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(items) => items.iter().map(Value::leaves).sum(),
        }
    }

    /// Truth for `if $x` and `expect $x`: anything but "", "0", "false" and the empty list.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !(s.is_empty() || s == "0" || s == "false"),
            Value::List(l) => !l.is_empty(),
        }
    }
}

/// The most strings a list may hold (nested lists included), and the longest a word may grow by
/// interpolation: a list or word doubled in a loop stops here instead of exhausting memory.
pub const MAX_ITEMS: usize = 1_000_000;
pub const MAX_WORD: usize = 16 << 20;

/// One level of variables: the script's globals, or a procedure call's parameters and locals.
#[derive(Default, Debug)]
pub struct Frame {
    pub vars: rustc_hash::FxHashMap<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lists_expand_for_loops() {
        let items = Value::Str("1..4".into()).items().unwrap();
        assert_eq!(
            items.iter().map(Value::flat).collect::<Vec<_>>(),
            ["1", "2", "3", "4"]
        );
        let l = Value::List(vec![Value::Str("a".into()), Value::Str("2..3".into())]);
        assert_eq!(l.leaves(), 2);
        assert_eq!(l.items().unwrap().len(), 3);
        assert!(Value::Str("4..1".into()).items().is_err());
        assert!(!Value::Str("0".into()).truthy());
    }
}
