//! Values and variables: what `$name` holds, and how words expand.

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
    pub fn items(self) -> Vec<Value> {
        match self {
            Value::List(items) => items.into_iter().flat_map(Value::items).collect(),
            Value::Str(s) => match range(&s) {
                Some((a, b)) => (a..=b).map(|n| Value::Str(n.to_string())).collect(),
                None => vec![Value::Str(s)],
            },
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

/// The largest range a script may write: far above any lab, far below what would exhaust memory.
pub const MAX_RANGE: i64 = 1_000_000;

/// `1..4` → (1, 4); only ranges a script can sensibly iterate.
pub fn range(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once("..")?;
    let (a, b) = (a.parse::<i64>().ok()?, b.parse::<i64>().ok()?);
    (a <= b && b - a <= MAX_RANGE).then_some((a, b))
}

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
        let items = Value::Str("1..4".into()).items();
        assert_eq!(
            items.iter().map(Value::flat).collect::<Vec<_>>(),
            ["1", "2", "3", "4"]
        );
        let l = Value::List(vec![Value::Str("a".into()), Value::Str("2..3".into())]);
        assert_eq!(l.items().len(), 3);
        assert_eq!(range("4..1"), None);
        assert_eq!(range("1..99999999999"), None);
        assert!(!Value::Str("0".into()).truthy());
    }
}
