//! The REPL-only `in NS` line (no block): following inputs act inside NS until `in -` or `in`.

use crate::check::types::Ty;

#[derive(Debug, PartialEq, Eq)]
pub enum ContextLine {
    /// `in NS`: enter NS.
    Enter(String),
    /// `in` or `in -`: back to the namespace netsh started in.
    Leave,
}

/// Recognises a context line; `None` for anything else (which then goes to the session as usual).
/// `Some(Err(..))` names a word that is no namespace name.
pub(super) fn parse(input: &str) -> Option<Result<ContextLine, String>> {
    let code = input.split('#').next().unwrap_or("");
    if code.contains(['{', ';', '\n', '"', '\'', '\\']) {
        return None;
    }
    let words: Vec<&str> = code.split_whitespace().collect();
    match words[..] {
        ["in"] | ["in", "-"] => Some(Ok(ContextLine::Leave)),
        ["in", ns] if ns.starts_with('$') => Some(Err(format!(
            "the shell's `in` takes a namespace name, not a variable (`{ns}`)"
        ))),
        ["in", ns] => Some(
            Ty::Ns
                .parse(ns, "namespace")
                .map(|_| ContextLine::Enter(ns.to_string()))
                .map_err(|e| e.message),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_enter_and_leave() {
        assert_eq!(
            parse("in docker1"),
            Some(Ok(ContextLine::Enter("docker1".into())))
        );
        assert_eq!(
            parse("  in docker1   # go there"),
            Some(Ok(ContextLine::Enter("docker1".into())))
        );
        assert_eq!(parse("in -"), Some(Ok(ContextLine::Leave)));
        assert_eq!(parse("in"), Some(Ok(ContextLine::Leave)));
        assert!(matches!(parse("in $ns"), Some(Err(_))));
        assert!(matches!(parse("in a/b"), Some(Err(_))));
    }

    #[test]
    fn leaves_everything_else_to_the_session() {
        assert_eq!(parse("in docker1 { netns list }"), None);
        assert_eq!(parse("in docker1; echo x"), None);
        assert_eq!(parse("bridge br0 in docker1"), None);
        assert_eq!(parse("in a b"), None);
        assert_eq!(parse(""), None);
    }
}
