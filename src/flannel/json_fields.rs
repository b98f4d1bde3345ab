//! Reading JSON objects the way Go's encoding/json does for flannel's structs: a key matches a
//! field exactly or, failing that, case-insensitively; unknown keys are ignored.

use serde_json::{Map, Value};

/// The value for Go struct field `name` in `object`.
pub(crate) fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Like [`field`], but JSON `null` counts as absent (Go leaves the field at its zero value).
pub(crate) fn present<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    field(object, name).filter(|v| !v.is_null())
}

/// A short name for a JSON value's type, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
