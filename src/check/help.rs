//! `help` and `help STATEMENT`, generated from the statement table so they never drift from it.

use crate::base::diag::did_you_mean;
use crate::base::error::{Kind, RunError};
use crate::base::source::SourceMap;
use crate::check::Procs;
use crate::check::signatures::{TABLE, statement_words, subcommands};

/// The language's own constructs, which are not in the statement table (the man page shows them too).
pub const LANGUAGE: &str = "\
language:
  let NAME = VALUE            variables; $NAME or ${NAME} in words and \"strings\"; 'raw strings'
  for X in LIST { ... }       LIST: [a, b, c], a range 1..4, or $var
  if COND { ... } else { ... } COND: exists link|netns|addr|route X [in NS], A == B, A != B,
                              A contains B, not, and, or
  fn NAME(a, b) { ... }       a procedure, called as: NAME A B [in NS]
  in NS { ... }               run a block inside namespace (lab host) NS; or end a statement with `in NS`
  transaction { ... }         all of the block, or none of it
  expect COND                 fail the script unless COND holds
  let out = exec \"CMD\" [in NS] a program's output as a value
  source FILE                 run another script's statements here";

/// The help text for `topic` ("" for the overview); for an unknown topic, what `lookup` says.
pub fn text(topic: &str, procs: &Procs, map: &SourceMap) -> String {
    lookup(topic, procs, map).unwrap_or_else(|unknown| unknown.message)
}

/// The help text for `topic` ("" for the overview), or, when nothing is called that, a message
/// with a suggestion (`netsh help TOPIC` exits 2 with it; the REPL's `help` just prints it).
pub fn lookup(topic: &str, procs: &Procs, map: &SourceMap) -> Result<String, RunError> {
    let topic = topic.trim();
    if topic.is_empty() {
        let mut s = String::from("statements (`help STATEMENT` for one):\n");
        for sig in TABLE {
            s += &format!("  {:<18} {}\n", sig.path.join(" "), sig.about);
        }
        s += "\n";
        s += LANGUAGE;
        return Ok(s);
    }
    let words: Vec<&str> = topic.split_whitespace().collect();
    let matches: Vec<_> = TABLE
        .iter()
        .filter(|sig| {
            sig.path.len() >= words.len().min(2) && sig.path.iter().zip(&words).all(|(a, b)| a == b)
        })
        .collect();
    if !matches.is_empty() {
        return Ok(matches
            .iter()
            .map(|sig| {
                format!(
                    "{}\n  {}\n  example: {}",
                    sig.usage(),
                    sig.about,
                    sig.example
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n"));
    }
    if let Some(def) = procs.get(words[0]) {
        let params: Vec<&str> = def.params.iter().map(|p| map.text(*p)).collect();
        return Ok(format!(
            "procedure {}({}), defined at {}",
            words[0],
            params.join(", "),
            map.locate(def.name)
        ));
    }
    if [
        "let",
        "for",
        "if",
        "fn",
        "in",
        "transaction",
        "expect",
        "source",
    ]
    .contains(&words[0])
    {
        return Ok(LANGUAGE.to_string());
    }
    let subs = subcommands(words[0]);
    if !subs.is_empty() {
        return Ok(format!("`{}` takes one of: {}", words[0], subs.join(", ")));
    }
    let hint =
        did_you_mean(words[0], statement_words()).unwrap_or_else(|| "`help` lists them all".into());
    Err(RunError::of(
        Kind::Usage,
        format!("no statement `{}`; {hint}", words[0]),
    ))
}

/// The statement reference in Markdown (docs/STATEMENTS.md is this text; a test keeps them equal).
pub fn reference_markdown() -> String {
    let mut s = String::from(
        "# Statement reference\n\nGenerated from the statement table (src/check/signatures.rs); \
         `UPDATE_DOCS=1 cargo test --lib statements_doc` rewrites it.\n\n\
         Keyword arguments (`dev IF`, `via GW`, ...) may come in any order after the positional ones. \
         `[in NS]` runs the statement inside network namespace NS.\n",
    );
    for sig in TABLE {
        s += &format!(
            "\n## `{}`\n\n```\n{}\n```\n{}.\n\nExample: `{}`\n",
            sig.path.join(" "),
            sig.usage(),
            sig.about,
            sig.example
        );
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_doc() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/STATEMENTS.md");
        let want = super::reference_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs/STATEMENTS.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/STATEMENTS.md is out of date: run `UPDATE_DOCS=1 cargo test --lib statements_doc`"
        );
    }
}
