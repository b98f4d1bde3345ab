//! Diagnostics: every error netsh reports about a script, with a stable code, a span and help.
//! A `Diag` stays small (it holds a span, not the source); `render` attaches the file's text through
//! the source map when it is shown, so a check pass can collect hundreds of them cheaply.

use crate::base::source::{SourceMap, Span};
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

/// The kinds of error, each with a stable code (`netsh::check::bad_cidr`) that tests and users can
/// rely on. The prefix says when it is found: `parse` and `check` before anything runs (exit 2),
/// `run` and `expect` while running (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    Syntax,
    UnterminatedString,
    UnterminatedBlock,
    UnexpectedClose,
    InvalidUtf8,
    TooDeep,
    TooLarge,
    UnknownStatement,
    UnknownSubcommand,
    MissingArgument,
    UnexpectedArgument,
    DuplicateArgument,
    ConflictingArguments,
    ListNotAllowed,
    BadCidr,
    BadPrefix,
    BadAddress,
    BadMac,
    BadVlanId,
    BadVni,
    BadPort,
    BadNumber,
    BadChoice,
    BadName,
    BadJson,
    BadValue,
    UnknownVariable,
    DuplicateProcedure,
    WrongArity,
    EndlessRecursion,
    SourceNotFound,
    SourceCycle,
    BlockRequired,
    // run time
    RunFailed,
    RecursionLimit,
    NotSupported,
    ExpectFailed,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            Syntax => "netsh::parse::syntax",
            UnterminatedString => "netsh::parse::unterminated_string",
            UnterminatedBlock => "netsh::parse::unterminated_block",
            UnexpectedClose => "netsh::parse::unexpected_close",
            InvalidUtf8 => "netsh::parse::invalid_utf8",
            TooDeep => "netsh::parse::too_deep",
            TooLarge => "netsh::check::too_large",
            UnknownStatement => "netsh::check::unknown_statement",
            UnknownSubcommand => "netsh::check::unknown_subcommand",
            MissingArgument => "netsh::check::missing_argument",
            UnexpectedArgument => "netsh::check::unexpected_argument",
            DuplicateArgument => "netsh::check::duplicate_argument",
            ConflictingArguments => "netsh::check::conflicting_arguments",
            ListNotAllowed => "netsh::check::list_not_allowed",
            BadCidr => "netsh::check::bad_cidr",
            BadPrefix => "netsh::check::bad_prefix",
            BadAddress => "netsh::check::bad_address",
            BadMac => "netsh::check::bad_mac",
            BadVlanId => "netsh::check::bad_vlan_id",
            BadVni => "netsh::check::bad_vni",
            BadPort => "netsh::check::bad_port",
            BadNumber => "netsh::check::bad_number",
            BadChoice => "netsh::check::bad_choice",
            BadName => "netsh::check::bad_name",
            BadJson => "netsh::check::bad_json",
            BadValue => "netsh::check::bad_value",
            UnknownVariable => "netsh::check::unknown_variable",
            DuplicateProcedure => "netsh::check::duplicate_procedure",
            WrongArity => "netsh::check::wrong_arity",
            EndlessRecursion => "netsh::check::endless_recursion",
            SourceNotFound => "netsh::check::source_not_found",
            SourceCycle => "netsh::check::source_cycle",
            BlockRequired => "netsh::check::block_required",
            RunFailed => "netsh::run::failed",
            RecursionLimit => "netsh::run::recursion_limit",
            NotSupported => "netsh::run::not_supported",
            ExpectFailed => "netsh::expect::failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Diag {
    pub code: Code,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    /// A second place worth showing (the first definition of a duplicate, an opening brace).
    pub related: Option<(Span, String)>,
    /// For a run-time failure, what kind it was (a `netsh down` step whose object is gone).
    pub kind: Option<crate::base::error::Kind>,
}

impl Diag {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diag {
        Diag {
            code,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            related: None,
            kind: None,
        }
    }
    pub fn label(mut self, label: impl Into<String>) -> Diag {
        self.label = label.into();
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }
    pub fn help_opt(mut self, help: Option<String>) -> Diag {
        self.help = help;
        self
    }
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Diag {
        self.related = Some((span, label.into()));
        self
    }

    /// A miette report carrying the file's text, ready to print.
    pub fn render(&self, map: &SourceMap) -> Rendered {
        let file = map.file_of(self.span);
        let local = |s: Span| -> SourceSpan {
            let start = (s.start.saturating_sub(file.base)) as usize;
            (start.min(file.text.len()), s.len() as usize).into()
        };
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            local(self.span),
        )];
        if let Some((span, label)) = &self.related
            && map.file_of(*span).base == file.base
        {
            labels.push(LabeledSpan::new_with_span(
                Some(label.clone()),
                local(*span),
            ));
        }
        Rendered {
            code: self.code,
            message: format!("{}: {}", map.locate(self.span), self.message),
            help: self.help.clone(),
            labels,
            src: NamedSource::new(file.name.clone(), file.text.clone()),
        }
    }
}

/// A diagnostic with its source attached, as miette wants it.
#[derive(Debug)]
pub struct Rendered {
    code: Code,
    message: String,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    src: NamedSource<std::sync::Arc<String>>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// "did you mean `macvlan`?" when some candidate is close enough to what was typed.
pub fn did_you_mean<'a>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(typed, c);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}
