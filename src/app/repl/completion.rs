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
    /// The namespace the shell's `in NS` line put it in.
    pub context: Option<String>,
}

/// The world's live names, asked for only where one may stand (on a real world it dumps the
/// kernel's tables). A closure gives the same names for every question.
pub trait Live {
    /// Interfaces and namespaces, all of them.
    fn names(&mut self) -> Vec<String>;
    /// The interfaces of namespace `ns` (`None`: the one netsh started in).
    fn links(&mut self, _ns: Option<&str>) -> Vec<String> {
        self.names()
    }
    fn namespaces(&mut self) -> Vec<String> {
        self.names()
    }
}

impl<F: FnMut() -> Vec<String>> Live for F {
    fn names(&mut self) -> Vec<String> {
        self()
    }
}

/// Where the word under the cursor starts, and the words that may replace it (sorted, no
/// duplicates). An interface is offered from the namespace in effect: the statement's `in NS`, an
/// enclosing `in NS {` on the line, else the shell's context.
pub fn complete(
    line: &str,
    pos: usize,
    known: &Known,
    live: &mut dyn Live,
) -> (usize, Vec<String>) {
    let pos = pos.min(line.len());
    if !line.is_char_boundary(pos) {
        return (pos, Vec::new());
    }
    let before = &line[..pos];
    let start = word_start(before);
    let prefix = &before[start..];
    let stmt_at = statement_start(&before[..start]);
    let stmt = &before[stmt_at..start];
    if stmt.matches('"').count() % 2 == 1 || stmt.matches('\'').count() % 2 == 1 {
        return (start, Vec::new()); // inside a string: nothing to offer
    }
    let mut candidates: Vec<String> = if prefix.starts_with("${") {
        known.vars.iter().map(|v| format!("${{{v}}}")).collect()
    } else if prefix.starts_with('$') {
        known.vars.iter().map(|v| format!("${v}")).collect()
    } else {
        let words: Vec<&str> = stmt.split_whitespace().collect();
        let block = block_ns(&before[..stmt_at]);
        let ns = block.or(known.context.as_deref());
        next_words(&words, known, &mut InNs { live, ns })
    };
    candidates.retain(|c| c.starts_with(prefix));
    candidates.sort();
    candidates.dedup();
    (start, candidates)
}

/// What `?` shows at `pos` (as vtysh does): the statement's usage line, when the words so far name
/// one, then each word that may come next with what it is, from the statement table.
pub fn next_help(line: &str, pos: usize, known: &Known) -> Vec<String> {
    let pos = pos.min(line.len());
    if !line.is_char_boundary(pos) {
        return Vec::new();
    }
    let before = &line[..pos];
    let start = word_start(before);
    let prefix = &before[start..];
    let stmt = &before[statement_start(&before[..start])..start];
    let words: Vec<&str> = stmt.split_whitespace().collect();
    let mut out = Vec::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    match words.split_first() {
        None => {
            for w in statement_words() {
                rows.push((w.to_string(), about_word(w)));
            }
            rows.extend(
                known
                    .procs
                    .iter()
                    .map(|p| (p.clone(), "procedure".to_string())),
            );
        }
        Some((&first, rest)) => {
            let subs = subcommands(first);
            if rest.is_empty() && !subs.is_empty() {
                for sub in subs {
                    let about = lookup(first, Some(sub)).map_or("", |s| s.about);
                    rows.push((sub.to_string(), about.to_string()));
                }
            } else if let Some(sig) = lookup(first, rest.first().copied()) {
                out.push(format!("usage: {}", sig.usage()));
                rows = argument_help(sig, &words[sig.path.len().min(words.len())..]);
            }
        }
    }
    // a word being typed narrows the rows to those it may begin; placeholders stay
    rows.retain(|(w, _)| {
        w.split('|').any(|alt| alt.starts_with(prefix))
            || w.starts_with('<')
            || *w == w.to_uppercase()
    });
    let width = rows.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
    out.extend(rows.into_iter().map(|(w, about)| {
        if about.is_empty() {
            format!("  {w}")
        } else {
            format!("  {w:width$}  {about}")
        }
    }));
    out
}

/// What a statement's first word does: its own statement's words, or its family's subcommands.
fn about_word(w: &str) -> String {
    let subs = subcommands(w);
    if !subs.is_empty() {
        return format!("{w} {}", subs.join("|"));
    }
    match lookup(w, None) {
        Some(sig) => sig.about.to_string(),
        None => match w {
            "let" => "set a variable: let NAME = VALUE",
            "for" => "repeat a block: for NAME in LIST { ... }",
            "if" => "run a block when a condition holds",
            "fn" => "define a procedure: fn NAME(ARGS) { ... }",
            "in" => "run a block in a namespace: in NS { ... }",
            "transaction" => "a block undone as a whole when it fails",
            "expect" => "fail unless a condition holds",
            _ => "",
        }
        .to_string(),
    }
}

/// The rows of `?` after a statement's leading words: the value a keyword asks for, else the next
/// positional, else the keywords not given yet (and `<Enter>` once nothing required is missing).
fn argument_help(sig: &Sig, args: &[&str]) -> Vec<(String, String)> {
    if let Some(&last) = args.last() {
        if last == "in" && sig.ns {
            return vec![("NS".into(), "a namespace".into())];
        }
        if let Some((_, opt)) = sig.opt(last)
            && let OptKind::Value(_) = opt.kind
        {
            let usage = sig.opt_usage(opt);
            let value = usage.split_once(' ').map_or(usage.as_str(), |(_, v)| v);
            return vec![(
                value.trim_end_matches(" ...").to_string(),
                format!("the {}", opt.what),
            )];
        }
    }
    let positional = args.iter().take_while(|a| sig.keyword(a).is_none()).count();
    let mut rows = Vec::new();
    if let Some(p) = sig.pos.get(positional)
        && positional == args.len()
    {
        let shown = match p.ty {
            Ty::Literal(w) => w.to_string(),
            Ty::Choice(c) => c.join("|"),
            _ => p.name.to_uppercase(),
        };
        rows.push((shown, p.name.to_string()));
        if !p.optional {
            return rows;
        }
    }
    let mut missing = false;
    for opt in sig.opts {
        let given = match opt.kind {
            OptKind::OneOf(choices) => choices.iter().any(|c| args.contains(c)),
            _ => args.contains(&opt.key),
        };
        missing |= opt.required && !given;
        if !given || opt.repeat {
            rows.push((sig.opt_usage(opt), opt.what.to_string()));
        }
    }
    if sig.ns && !args.contains(&"in") {
        rows.push(("in NS".into(), "run it in namespace NS".into()));
    }
    if !missing && sig.pos.iter().skip(positional).all(|p| p.optional) {
        rows.push(("<Enter>".into(), "run it".into()));
    }
    rows
}

/// The namespace of an `in NS {` block that the text before a statement opens (on this line).
fn block_ns(before: &str) -> Option<&str> {
    let head = before.trim_end().strip_suffix('{')?;
    let head = &head[statement_start(head)..];
    match head.split_whitespace().collect::<Vec<_>>()[..] {
        ["in", ns] if !ns.starts_with('$') => Some(ns),
        _ => None,
    }
}

/// The live names, with the namespace in effect for interfaces (a statement's own `in NS` wins).
struct InNs<'a, 'b> {
    live: &'a mut dyn Live,
    ns: Option<&'b str>,
}

impl InNs<'_, '_> {
    fn links_in(&mut self, args: &[&str]) -> Vec<String> {
        let own = args
            .iter()
            .position(|w| *w == "in")
            .and_then(|i| args.get(i + 1))
            .filter(|ns| !ns.starts_with('$'));
        match own {
            Some(ns) => self.live.links(Some(ns)),
            None => self.live.links(self.ns),
        }
    }
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
fn next_words(words: &[&str], known: &Known, live: &mut InNs) -> Vec<String> {
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
        "in" => {
            return if rest.is_empty() {
                live.live.namespaces()
            } else {
                Vec::new()
            };
        }
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
        "expect"
            if !matches!(
                rest.first(),
                Some(
                    &("reach"
                        | "no-reach"
                        | "http"
                        | "link"
                        | "route"
                        | "no-route"
                        | "neigh"
                        | "file")
                )
            ) =>
        {
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
            live.live.namespaces()
        } else {
            vec!["in".into()]
        };
    }
    let subs = subcommands(first);
    if rest.is_empty() && !subs.is_empty() {
        let mut c = owned(&subs);
        // a one-word statement that also has longer forms: `show` (its things) and `show topology`
        if let Some(sig) = lookup(first, None).filter(|s| s.path.len() == 1) {
            c.extend(arguments(sig, &words[1..], live));
            c.sort();
            c.dedup();
        }
        return c;
    }
    match lookup(first, rest.first().copied()) {
        Some(sig) => arguments(sig, &words[sig.path.len().min(words.len())..], live),
        None => Vec::new(),
    }
}

/// After `if` or `expect`: `exists KIND X [in NS]`, `not`, and the comparisons.
fn condition(rest: &[&str], live: &mut InNs) -> Vec<String> {
    match rest.last().copied() {
        None | Some("not" | "and" | "or") => vec!["exists".into(), "not".into()],
        Some("exists") => EXISTS_KINDS.iter().map(|k| k.to_string()).collect(),
        Some("in") => live.live.namespaces(),
        Some("link") if rest.len() >= 2 && rest[rest.len() - 2] == "exists" => live.links_in(&[]),
        Some("netns") if rest.len() >= 2 && rest[rest.len() - 2] == "exists" => {
            live.live.namespaces()
        }
        Some(_) if rest.len() >= 2 && rest[rest.len() - 2] == "exists" => live.live.names(),
        Some(_) => ["in", "and", "or", "==", "!=", "contains"]
            .iter()
            .map(|k| k.to_string())
            .collect(),
    }
}

/// What may follow a statement's leading words: the value a keyword asks for, the first
/// positional's choices or live names, else the keywords not yet given (and `in`).
fn arguments(sig: &Sig, args: &[&str], live: &mut InNs) -> Vec<String> {
    if let Some(&last) = args.last() {
        if last == "in" && sig.ns {
            return live.live.namespaces();
        }
        if let Some((_, opt)) = sig.opt(last)
            && let OptKind::Value(ty) = opt.kind
        {
            return values(ty, args, live);
        }
    }
    if args.is_empty()
        && let Some(first) = sig.pos.first()
    {
        return values(first.ty, args, live);
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
fn values(ty: Ty, args: &[&str], live: &mut InNs) -> Vec<String> {
    match ty {
        Ty::Ifname => live.links_in(args),
        Ty::Ns => live.live.namespaces(),
        Ty::Label => live.live.names(),
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
            context: None,
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
        assert_eq!(words("expect r"), vec!["reach", "route"]);
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
        // the things to show, and `show topology`'s second word
        assert_eq!(words("show "), {
            let mut v: Vec<String> = crate::check::signatures::SHOW_WHAT
                .iter()
                .chain(&["topology"])
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

    /// Two namespaces: the first has `in_a0`; netsh's own has `eth0`.
    struct Spaces;

    impl Live for Spaces {
        fn names(&mut self) -> Vec<String> {
            vec!["a".into(), "b".into(), "eth0".into(), "in_a0".into()]
        }
        fn links(&mut self, ns: Option<&str>) -> Vec<String> {
            match ns {
                None => vec!["eth0".into()],
                Some("a") => vec!["in_a0".into()],
                Some(_) => Vec::new(),
            }
        }
        fn namespaces(&mut self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
    }

    fn in_spaces(line: &str, context: Option<&str>) -> Vec<String> {
        let known = Known {
            context: context.map(str::to_string),
            ..known()
        };
        complete(line, line.len(), &known, &mut Spaces).1
    }

    #[test]
    fn interfaces_come_from_the_namespace_in_effect() {
        assert_eq!(in_spaces("addr add 10.0.0.1/24 dev ", None), vec!["eth0"]);
        assert_eq!(
            in_spaces("addr add 10.0.0.1/24 dev ", Some("a")),
            vec!["in_a0"]
        );
        assert_eq!(
            in_spaces("addr add 10.0.0.1/24 in a dev ", None),
            vec!["in_a0"]
        );
        assert_eq!(in_spaces("in a { link set ", None), vec!["in_a0"]);
        assert_eq!(in_spaces("in b { link set ", None), Vec::<String>::new());
        assert_eq!(in_spaces("in ", None), vec!["a", "b"]);
        assert_eq!(in_spaces("ping 10.0.0.1 from ", None), vec!["a", "b"]);
        assert_eq!(in_spaces("if exists link ", Some("a")), vec!["in_a0"]);
    }

    #[test]
    fn question_mark_lists_what_may_come_next() {
        let help = |line: &str| next_help(line, line.len(), &known()).join("\n");
        let h = help("");
        assert!(h.contains("  macvlan ") && h.contains("  host_up "), "{h}");
        let h = help("link ");
        assert!(h.contains("  set ") && h.contains("  del "), "{h}");
        let h = help("link set eth0 ");
        assert!(h.starts_with("usage: link set LINK"), "{h}");
        assert!(
            h.contains("  mtu MTU ") && h.contains("<Enter>") && h.contains("in NS"),
            "{h}"
        );
        let h = help("link set eth0 mtu ");
        assert!(h.contains("  MTU "), "{h}");
        let h = help("addr add 10.0.0.1/24 ");
        assert!(h.contains("dev IF") && !h.contains("<Enter>"), "{h}");
        let h = help("macvlan b");
        assert!(h.contains("vepa|bridge|private|passthru"), "{h}");
        assert!(help("bogus ").is_empty());
        assert!(next_help("é", 1, &known()).is_empty());
    }

    #[test]
    fn nothing_inside_strings_or_odd_positions() {
        assert!(words("echo \"mac").is_empty());
        assert!(words("bogus ").is_empty());
        let (start, w) = complete("é", 1, &known(), &mut Vec::<String>::new);
        assert!(w.is_empty() && start == 1);
        assert!(
            complete("netns", 99, &known(), &mut Vec::<String>::new)
                .1
                .contains(&"netns".to_string())
        );
    }
}
