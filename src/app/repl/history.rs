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

#[cfg(test)]
mod tests {
    use super::*;

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
