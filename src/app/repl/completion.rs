//! Tab completion: what may stand at the cursor, from the statement table (first words, the second
//! word of two-word families, a statement's keywords and choices), the session's procedures and
//! variables, and the world's live interface and namespace names.

use crate::check::EXISTS_KINDS;
use crate::check::signatures::{OptKind, Sig, lookup, statement_words, subcommands};
use crate::check::types::Ty;

/// What the session has defined so far, besides the statement table.
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub procs: Vec<String>,
    pub vars: Vec<String>,
}

/// Where the word under the cursor starts, and the words that may replace it (sorted, no
/// duplicates). `live` is asked for interface and namespace names only where one may stand, since
/// on a real world it dumps the kernel's tables.
pub fn complete(
    line: &str,
    pos: usize,
    known: &Known,
    live: &mut dyn FnMut() -> Vec<String>,
) -> (usize, Vec<String>) {
    let pos = pos.min(line.len());
    if !line.is_char_boundary(pos) {
        return (pos, Vec::new());
    }
    let before = &line[..pos];
    let start = word_start(before);
    let prefix = &before[start..];
    let stmt = &before[statement_start(&before[..start])..start];
    if stmt.matches('"').count() % 2 == 1 || stmt.matches('\'').count() % 2 == 1 {
        return (start, Vec::new()); // inside a string: nothing to offer
    }
    let mut candidates: Vec<String> = if prefix.starts_with("${") {
        known.vars.iter().map(|v| format!("${{{v}}}")).collect()
    } else if prefix.starts_with('$') {
        known.vars.iter().map(|v| format!("${v}")).collect()
    } else {
        let words: Vec<&str> = stmt.split_whitespace().collect();
        next_words(&words, known, live)
    };
    candidates.retain(|c| c.starts_with(prefix));
    candidates.sort();
    candidates.dedup();
    (start, candidates)
}

/// The byte offset where the word ending at the end of `before` starts (a `${` belongs to it).
fn word_start(before: &str) -> usize {
    before
        .char_indices()
        .rev()
        .find(|&(i, c)| {
            c.is_whitespace()
                || "[],;}()\"'".contains(c)
                || (c == '{' && !before[..i].ends_with('$'))
        })
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// The byte offset where the statement around the end of `before` starts: after the last `;`,
/// block brace or newline (a newline after `\` continues the statement; `${name}` is no block).
fn statement_start(before: &str) -> usize {
    let bytes = before.as_bytes();
    for i in (0..bytes.len()).rev() {
        let boundary = match bytes[i] {
            b';' => true,
            b'{' => i == 0 || bytes[i - 1] != b'$',
            b'}' => !word_of(&before[..i]).contains("${"),
            b'\n' => !before[..i]
                .trim_end_matches([' ', '\t', '\r'])
                .ends_with('\\'),
            _ => false,
        };
        if boundary {
            return i + 1;
        }
    }
    0
}

/// The text after the last whitespace of `s`.
fn word_of(s: &str) -> &str {
    s.rsplit(char::is_whitespace).next().unwrap_or("")
}

/// The words that may follow `words` (the statement's complete words so far).
fn next_words(words: &[&str], known: &Known, live: &mut dyn FnMut() -> Vec<String>) -> Vec<String> {
    let owned = |ws: &[&str]| ws.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let Some((&first, rest)) = words.split_first() else {
        let mut all = owned(&statement_words());
        all.extend(known.procs.iter().cloned());
        return all;
    };
    let last = words[words.len() - 1];
    match first {
        "help" => {
            return match rest {
                [] => owned(&statement_words()),
                [family] => owned(&subcommands(family)),
                _ => Vec::new(),
            };
        }
        "in" => return if rest.is_empty() { live() } else { Vec::new() },
        "for" => {
            return if rest.len() == 1 {
                vec!["in".into()]
            } else {
                Vec::new()
            };
        }
        "let" => {
            return if rest.len() == 2 && rest[1] == "=" {
                vec!["exec".into()]
            } else {
                Vec::new()
            };
        }
        "fn" | "transaction" => return Vec::new(),
        "if" => return condition(rest, live),
        "expect" if !matches!(rest.first(), Some(&("reach" | "no-reach" | "http"))) => {
            let mut c = condition(rest, live);
            if rest.is_empty() {
                c.extend(owned(&subcommands("expect")));
            }
            return c;
        }
        _ => {}
    }
    if known.procs.iter().any(|p| p == first) {
        return if last == "in" {
            live()
        } else {
            vec!["in".into()]
        };
    }
    let subs = subcommands(first);
    if rest.is_empty() && !subs.is_empty() {
        return owned(&subs);
    }
    match lookup(first, rest.first().copied()) {
        Some(sig) => arguments(sig, &words[sig.path.len().min(words.len())..], live),
        None => Vec::new(),
    }
}

/// After `if` or `expect`: `exists KIND X [in NS]`, `not`, and the comparisons.
fn condition(rest: &[&str], live: &mut dyn FnMut() -> Vec<String>) -> Vec<String> {
    match rest.last().copied() {
        None | Some("not" | "and" | "or") => vec!["exists".into(), "not".into()],
        Some("exists") => EXISTS_KINDS.iter().map(|k| k.to_string()).collect(),
        Some("in") => live(),
        Some(_) if rest.len() >= 2 && rest[rest.len() - 2] == "exists" => live(),
        Some(_) => ["in", "and", "or", "==", "!=", "contains"]
            .iter()
            .map(|k| k.to_string())
            .collect(),
    }
}

/// What may follow a statement's leading words: the value a keyword asks for, the first
/// positional's choices or live names, else the keywords not yet given (and `in`).
fn arguments(sig: &Sig, args: &[&str], live: &mut dyn FnMut() -> Vec<String>) -> Vec<String> {
    if let Some(&last) = args.last() {
        if last == "in" && sig.ns {
            return live();
        }
        if let Some((_, opt)) = sig.opt(last)
            && let OptKind::Value(ty) = opt.kind
        {
            return values(ty, live);
        }
    }
    if args.is_empty()
        && let Some(first) = sig.pos.first()
    {
        return values(first.ty, live);
    }
    let mut out = Vec::new();
    for opt in sig.opts {
        match opt.kind {
            // a mode already given rules out its alternatives
            OptKind::OneOf(choices) if !choices.iter().any(|c| args.contains(c)) => {
                out.extend(choices.iter().map(|c| c.to_string()));
            }
            OptKind::OneOf(_) => {}
            _ if opt.repeat || !args.contains(&opt.key) => out.push(opt.key.to_string()),
            _ => {}
        }
    }
    if sig.ns && !args.contains(&"in") {
        out.push("in".to_string());
    }
    out
}

/// The words that can fill an argument of type `ty`, where they can be listed.
fn values(ty: Ty, live: &mut dyn FnMut() -> Vec<String>) -> Vec<String> {
    match ty {
        Ty::Ifname | Ty::Ns | Ty::Label => live(),
        Ty::Choice(words) => words.iter().map(|w| w.to_string()).collect(),
        Ty::Literal(w) => vec![w.to_string()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            procs: vec!["host_up".into()],
            vars: vec!["hosts".into(), "net".into()],
        }
    }

    fn at_end(line: &str) -> (usize, Vec<String>) {
        complete(line, line.len(), &known(), &mut || {
            vec!["docker1".into(), "eth0".into()]
        })
    }

    fn words(line: &str) -> Vec<String> {
        at_end(line).1
    }

    #[test]
    fn first_words_are_statements_and_procedures() {
        assert_eq!(at_end("macv"), (0, vec!["macvlan".to_string()]));
        assert_eq!(words("host"), vec!["host", "host_up"]);
        assert!(words("").contains(&"netns".to_string()));
        assert!(words("").contains(&"let".to_string()));
    }

    #[test]
    fn second_words_of_two_word_families() {
        assert_eq!(at_end("link s"), (5, vec!["set".to_string()]));
        assert_eq!(words("netns "), vec!["add", "del", "list"]);
        assert_eq!(words("expect r"), vec!["reach"]);
        assert_eq!(words("help link "), vec!["del", "set"]);
    }

    #[test]
    fn keywords_of_the_statement_not_yet_given() {
        assert_eq!(words("macvlan br"), vec!["bridge"]);
        let w = words("macvlan bridge on eth0 ");
        assert!(w.contains(&"name".to_string()) && w.contains(&"in".to_string()));
        assert!(!w.contains(&"on".to_string()) && !w.contains(&"vepa".to_string()));
        assert_eq!(words("link set eth0 up m"), vec!["master", "mtu"]);
        assert!(!words("addr add 10.0.0.1/24 dev eth0 ").contains(&"dev".to_string()));
    }

    #[test]
    fn values_after_keywords_and_positionals() {
        assert_eq!(words("link set eth0 master "), vec!["docker1", "eth0"]);
        assert_eq!(words("veth a peer b in d"), vec!["docker1"]);
        assert_eq!(words("show "), {
            let mut v: Vec<String> = crate::check::signatures::SHOW_WHAT
                .iter()
                .map(|s| s.to_string())
                .collect();
            v.sort();
            v
        });
        assert_eq!(words("forwarding o"), vec!["off", "on"]);
        assert_eq!(words("route add default via "), Vec::<String>::new());
        assert_eq!(words("in "), vec!["docker1", "eth0"]);
    }

    #[test]
    fn variables_and_inner_statements() {
        assert_eq!(at_end("for h in $h"), (9, vec!["$hosts".to_string()]));
        assert_eq!(words("echo ${n"), vec!["${net}"]);
        assert_eq!(words("for i in 1..3 { link s"), vec!["set"]);
        assert_eq!(words("netns add a; netns d"), vec!["del"]);
        assert_eq!(words("echo ${net} $n"), vec!["$net"]);
        assert_eq!(words("link set ${net} m"), vec!["master", "mtu"]);
        assert_eq!(words("veth a \\\n  p"), vec!["peer", "peer-in"]);
        assert_eq!(words("if exists "), vec!["addr", "link", "netns", "route"]);
        assert_eq!(words("host_up a b "), vec!["in"]);
    }

    #[test]
    fn nothing_inside_strings_or_odd_positions() {
        assert!(words("echo \"mac").is_empty());
        assert!(words("bogus ").is_empty());
        let (start, w) = complete("é", 1, &known(), &mut Vec::new);
        assert!(w.is_empty() && start == 1);
        assert!(
            complete("netns", 99, &known(), &mut Vec::new)
                .1
                .contains(&"netns".to_string())
        );
    }
}
