//! The journal of a script's runs, for `netsh down FILE`: the undo steps of every change the runs
//! made, as netsh statements, oldest first, in /run/netsh/journal/ under a name made from the
//! script's canonical path (inside --sandbox that directory is the sandbox's own). Each step is
//! appended as soon as its change is made, so a run killed with -9 still leaves a journal that
//! `down` can undo. A re-run that changes nothing adds nothing; a rolled-back run takes its steps out.

use crate::base::error::RunError;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::base::safe_file;

pub const DIR: &str = "/run/netsh/journal";

const HEADER: &str =
    "# netsh journal: undo steps, oldest first; `netsh down` runs them newest first";

/// The journal file of the script at `script`.
pub fn path_for(script: &Path) -> Result<PathBuf, RunError> {
    let canon = std::fs::canonicalize(script).map_err(|e| {
        RunError::new(format!(
            "cannot find {}: {}",
            script.display(),
            crate::base::error::io_text(&e)
        ))
    })?;
    let text = canon.to_string_lossy();
    let mut name = String::new();
    for c in text.chars() {
        match c {
            '%' => name.push_str("%25"),
            '/' => name.push_str("%2F"),
            c => name.push(c),
        }
    }
    if name.len() > 200 {
        // too long for a file name: keep the end (the script's own name) and a hash of the rest
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let tail: String = name
            .chars()
            .rev()
            .take(100)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        name = format!("{:016x}-{tail}", h.finish());
    }
    Ok(Path::new(DIR).join(name + ".journal"))
}

/// The open journal of this run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Steps from earlier runs, kept ahead of this run's.
    prior: Vec<String>,
    file: std::fs::File,
}

impl Journal {
    /// A journal someone else could have written is not taken over (its steps would run as root
    /// at `down`): the run goes on without one.
    pub fn open(script: &Path) -> Result<Journal, RunError> {
        let path = path_for(script)?;
        safe_file::create_dir(Path::new(DIR), 0o700).map_err(|e| {
            RunError::new(format!(
                "cannot create {DIR}: {}",
                crate::base::error::io_text(&e)
            ))
        })?;
        let prior = read_trusted(&path)?;
        let file = safe_file::open_append(&path, 0o600).map_err(|e| {
            RunError::new(format!(
                "cannot open {}: {}",
                path.display(),
                crate::base::error::io_text(&e)
            ))
        })?;
        let mut j = Journal { path, prior, file };
        j.rewrite(&[]);
        Ok(j)
    }

    /// Adds this run's newest steps.
    pub fn append(&mut self, lines: &[String]) {
        let mut text = String::new();
        for l in lines {
            text += l;
            text.push('\n');
        }
        let _ = self.file.write_all(text.as_bytes());
    }

    /// Writes the earlier runs' steps and `current` (this run's, after a rollback took some out).
    pub fn rewrite(&mut self, current: &[String]) {
        let steps: Vec<&String> = self.prior.iter().chain(current).collect();
        let mut text = format!("{HEADER}\n");
        for s in steps {
            text += s;
            text.push('\n');
        }
        if safe_file::write_atomic(&self.path, text.as_bytes(), 0o600).is_ok()
            && let Ok(f) = safe_file::open_append(&self.path, 0o600)
        {
            self.file = f;
        }
    }
}

impl Drop for Journal {
    /// A journal with nothing to undo is no journal.
    fn drop(&mut self) {
        if read(&self.path).iter().all(|s| s.starts_with('#')) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The steps in a journal file (none when there is no file).
pub fn read(path: &Path) -> Vec<String> {
    steps(&std::fs::read_to_string(path).unwrap_or_default())
}

/// The steps in a journal file that only root or this user could have written (see
/// `safe_file::open_trusted`); none when there is no file. The error names the file and what
/// is wrong with it.
pub fn read_trusted(path: &Path) -> Result<Vec<String>, RunError> {
    use std::io::Read;
    let Some(mut file) = safe_file::open_trusted(path)? else {
        return Ok(Vec::new());
    };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| {
        RunError::new(format!(
            "cannot read {}: {}",
            path.display(),
            crate::base::error::io_text(&e)
        ))
    })?;
    Ok(steps(&text))
}

fn steps(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && *l != HEADER)
        .map(str::to_string)
        .collect()
}
