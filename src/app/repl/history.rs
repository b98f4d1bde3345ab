//! Where the REPL's history lives: `$NETSH_HISTORY`, else `$HOME/.local/share/netsh/history`.

use std::path::{Path, PathBuf};

/// The history file, from the environment; `None` when neither variable is set (no history kept).
pub fn path() -> Option<PathBuf> {
    path_from(std::env::var_os("NETSH_HISTORY"), std::env::var_os("HOME"))
}

fn path_from(
    explicit: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let home = home.filter(|h| !h.is_empty())?;
    Some(Path::new(&home).join(".local/share/netsh/history"))
}

/// Creates the file's directory, so the first save succeeds.
pub fn prepare(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// What the history keeps of an input: the value after each `password` word is replaced by
/// `********`, so a `store etcd ... password SECRET` typed at the prompt never reaches the file.
pub fn redacted(text: &str) -> String {
    hidden(text, &[])
}

/// `text` with the word after each `password`, and the value of each `let NAME = VALUE` whose
/// NAME is in `secret_variables`, replaced by `********`.
pub fn hidden(text: &str, secret_variables: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut hide_next = false;
    // the last words seen, to recognise `let NAME =`
    let (mut before_last, mut last) = ("", "");
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let len = word_len(rest);
        let word = &rest[..len];
        if hide_next && !matches!(word, "{" | "}" | ";") {
            out.push_str("********");
        } else {
            out.push_str(word);
        }
        hide_next = word == "password"
            || (word == "=" && before_last == "let" && secret_variables.iter().any(|v| v == last));
        (before_last, last) = (last, word);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

/// The variables an input passes as a password (`password $pw` or `password ${pw}`): a value
/// given to them earlier with `let` is a secret too.
pub fn password_variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    let mut after_password = false;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let len = word_len(rest);
        let word = &rest[..len];
        if after_password && let Some(name) = variable_name(word) {
            names.push(name.to_string());
        }
        after_password = word == "password";
        rest = &rest[len..];
    }
    names
}

/// `pw` for a word `$pw` or `${pw}`, also inside double quotes.
fn variable_name(word: &str) -> Option<&str> {
    let word = word
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or(word);
    let name = word.strip_prefix('$')?;
    let name = name
        .strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name);
    let simple = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    simple.then_some(name)
}

/// The length of the word at the start of `text`: a quoted string (with its escapes) or a run
/// of characters up to white space or a `;`.
fn word_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            let mut escaped = false;
            for (i, c) in chars {
                match c {
                    '\\' if q == '"' && !escaped => escaped = true,
                    c if c == q && !escaped => return i + c.len_utf8(),
                    _ => escaped = false,
                }
            }
            text.len()
        }
        Some((_, ';')) => 1,
        _ => text
            .find(|c: char| c.is_whitespace() || c == ';')
            .unwrap_or(text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(
            redacted("store etcd http://127.0.0.1:2379 user root password s3cret"),
            "store etcd http://127.0.0.1:2379 user root password ********"
        );
        assert_eq!(
            redacted("store etcd a:1 password \"two words\" user x; veth a peer b"),
            "store etcd a:1 password ******** user x; veth a peer b"
        );
        assert_eq!(
            redacted("in h {\n  store etcd a:1 password 'p w'\n}"),
            "in h {\n  store etcd a:1 password ********\n}"
        );
        assert_eq!(redacted("veth a peer b"), "veth a peer b");
        assert_eq!(redacted("echo \"password\" x"), "echo \"password\" x");
    }

    #[test]
    fn a_variable_passed_as_a_password_hides_its_let() {
        let names = password_variables("store etcd a:1 user root password $pw; echo ${x}");
        assert_eq!(names, ["pw"]);
        assert_eq!(
            password_variables("store etcd a:1 password \"${pw2}\""),
            ["pw2"]
        );
        assert!(password_variables("store etcd a:1 password s3cret").is_empty());
        assert_eq!(hidden("let pw = \"s3 cret\"", &names), "let pw = ********");
        assert_eq!(
            hidden("let other = 1; let pw = s3cret; echo $pw", &names),
            "let other = 1; let pw = ********; echo $pw"
        );
        assert_eq!(hidden("let pwx = s3cret", &names), "let pwx = s3cret");
        assert_eq!(hidden("echo pw = x", &names), "echo pw = x");
    }

    #[test]
    fn explicit_file_wins_over_home() {
        assert_eq!(
            path_from(Some("/tmp/h".into()), Some("/root".into())),
            Some(PathBuf::from("/tmp/h"))
        );
        assert_eq!(
            path_from(None, Some("/root".into())),
            Some(PathBuf::from("/root/.local/share/netsh/history"))
        );
        assert_eq!(
            path_from(Some("".into()), Some("/home/a".into())),
            Some(PathBuf::from("/home/a/.local/share/netsh/history"))
        );
        assert_eq!(path_from(None, None), None);
    }

    #[test]
    fn prepare_creates_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/history");
        prepare(&file).unwrap();
        assert!(dir.path().join("a/b").is_dir());
    }
}
