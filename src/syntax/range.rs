//! Ranges (`1..4`): the one rule for what a walked word means, shared by the check pass (literal
//! words) and the evaluator (words known only at run time).

use crate::base::diag::Code;

/// The most numbers one range may hold: far above any lab, far below what would exhaust memory.
pub const MAX_RANGE: i128 = 1_000_000;

/// Why a word that starts like a range is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRange {
    pub code: Code,
    pub message: String,
    pub help: String,
}

/// `1..4` → `Ok(Some((1, 4)))`; a word that is no range attempt (`a..b`, `../lib`, `10.0.0.1..x`)
/// → `Ok(None)`; a number followed by `..` that is not an ascending range of at most `MAX_RANGE`
/// numbers (`1...3`, `3..1`, `1..`, `1..1000002`) → an error, never a silent word.
pub fn range(s: &str) -> Result<Option<(i64, i64)>, BadRange> {
    let Some((a, b)) = s.split_once("..") else {
        return Ok(None);
    };
    let first = a.parse::<i64>();
    let attempt =
        first.is_ok() || (a.is_empty() && b.trim_start_matches('.').parse::<i64>().is_ok());
    if !attempt {
        return Ok(None);
    }
    let bad = |code, message: String, help: &str| BadRange {
        code,
        message,
        help: help.to_string(),
    };
    let (Ok(a), Ok(b)) = (first, b.parse::<i64>()) else {
        return Err(bad(
            Code::BadValue,
            format!("`{s}` is not a range"),
            "a range is FIRST..LAST, two whole numbers and two dots, e.g. 1..3",
        ));
    };
    if a > b {
        return Err(bad(
            Code::BadValue,
            format!("`{s}` counts down"),
            "ranges count up: write the smaller number first",
        ));
    }
    let count = b as i128 - a as i128 + 1;
    if count > MAX_RANGE {
        return Err(bad(
            Code::TooLarge,
            format!("`{s}` holds {count} numbers"),
            "a range holds at most 1,000,000 numbers",
        ));
    }
    Ok(Some((a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_words_and_mistakes() {
        assert_eq!(range("1..4"), Ok(Some((1, 4))));
        assert_eq!(range("-2..2"), Ok(Some((-2, 2))));
        assert_eq!(range("3..3"), Ok(Some((3, 3))));
        for word in ["a..b", "../lib", "10.0.0.1..x", "plain", "x1..3"] {
            assert_eq!(range(word), Ok(None), "{word}");
        }
        for (word, code) in [
            ("1...3", Code::BadValue),
            ("3..1", Code::BadValue),
            ("1..", Code::BadValue),
            ("..3", Code::BadValue),
            ("1..2..3", Code::BadValue),
            ("1..1000001", Code::TooLarge),
            ("-9223372036854775808..9223372036854775807", Code::TooLarge),
        ] {
            assert_eq!(range(word).map_err(|e| e.code), Err(code), "{word}");
        }
        assert_eq!(range("1..1000000"), Ok(Some((1, 1_000_000))));
    }
}
