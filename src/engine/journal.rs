//! The journal of a script's runs, for `netsh down FILE`: the undo steps of every change the runs
//! made, as netsh statements, oldest first, in /run/netsh/journal/ under a name made from the
//! script's canonical path (inside --sandbox that directory is the sandbox's own). Each step is
//! appended as soon as its change is made, so a run killed with -9 still leaves a journal that
//! `down` can undo. A re-run that changes nothing adds nothing; a rolled-back run takes its steps out.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const DIR: &str = "/run/netsh/journal";

const HEADER: &str =
    "# netsh journal: undo steps, oldest first; `netsh down` runs them newest first";

/// The journal file of the script at `script`.
pub fn path_for(script: &Path) -> Result<PathBuf, String> {
    let canon = std::fs::canonicalize(script).map_err(|e| {
        format!(
            "cannot find {}: {}",
            script.display(),
            crate::base::error::io_text(&e)
        )
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
    pub fn open(script: &Path) -> Result<Journal, String> {
        let path = path_for(script)?;
        std::fs::create_dir_all(DIR)
            .map_err(|e| format!("cannot create {DIR}: {}", crate::base::error::io_text(&e)))?;
        let prior = read(&path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                format!(
                    "cannot open {}: {}",
                    path.display(),
                    crate::base::error::io_text(&e)
                )
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
        let tmp = self.path.with_extension("tmp");
        if std::fs::write(&tmp, text).is_ok()
            && std::fs::rename(&tmp, &self.path).is_ok()
            && let Ok(f) = std::fs::OpenOptions::new().append(true).open(&self.path)
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
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && *l != HEADER)
        .map(str::to_string)
        .collect()
}
