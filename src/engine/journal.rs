//! The journal of a script's runs, for `netsh down FILE`: the undo steps of every change the runs
//! made, as netsh statements, oldest first, in /run/netsh/journal/ under a name made from the
//! script's canonical path (inside --sandbox that directory is the sandbox's own). Each step is
//! appended as soon as its change is made (a namespace's before it is made), so a run killed with
//! -9 still leaves a journal that `down` can undo. A re-run that changes nothing adds nothing; a
//! rolled-back run takes out the steps it ran and keeps those that failed, for `down`.
//!
//! Two runs of one script, or a run and `down`, share the file: every change to it happens under
//! an exclusive flock of the journal directory, appends go to the file the path names then, and a
//! run takes out only its own lines.

use crate::base::error::RunError;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
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

/// The journal directory, locked for one change of a journal (flock; let go when dropped).
struct Lock(File);

impl Lock {
    fn take() -> Result<Lock, RunError> {
        let dir = File::open(DIR).map_err(|e| RunError::os(format!("cannot open {DIR}"), &e))?;
        // SAFETY: flock(2) on an fd we own; it waits for the other holder.
        while unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(RunError::os(format!("cannot lock {DIR}"), &e));
            }
        }
        Ok(Lock(dir))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: as in `take`; closing the fd would let go too.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// The open journal of this run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// The lines this run wrote, oldest first (a step of several lines is several).
    mine: Vec<String>,
    /// Where appends go, while the path still names it (another run's rewrite replaces the file).
    file: Option<File>,
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
        let _lock = Lock::take()?;
        read_trusted(&path)?;
        Ok(Journal {
            path,
            mine: Vec::new(),
            file: None,
        })
    }

    /// Adds this run's newest steps.
    pub fn append(&mut self, lines: &[String]) {
        let Ok(_lock) = Lock::take() else { return };
        let mut text = String::new();
        for l in lines {
            text += l;
            text.push('\n');
        }
        if let Some(f) = self.current_file() {
            // a new file starts with the header
            let fresh = f.metadata().map(|m| m.len() == 0).unwrap_or(false);
            if fresh {
                text = format!("{HEADER}\n{text}");
            }
            if f.write_all(text.as_bytes()).is_ok() {
                self.mine
                    .extend(lines.iter().flat_map(|l| l.lines().map(str::to_string)));
            }
        }
    }

    /// The append handle of the file the path names now (made when there is none).
    fn current_file(&mut self) -> Option<&mut File> {
        use std::os::unix::fs::MetadataExt;
        let same = |f: &File| match (f.metadata(), std::fs::symlink_metadata(&self.path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        if !self.file.as_ref().is_some_and(same) {
            self.file = safe_file::open_append(&self.path, 0o600).ok();
        }
        self.file.as_mut()
    }

    /// Makes this run's lines `current` (a rollback took some steps out, or a step written ahead
    /// of its change was not needed): the lines it wrote that `current` lacks are taken out of the
    /// file, newest first; other runs' lines stay.
    pub fn rewrite(&mut self, current: &[String]) {
        let current: Vec<String> = current
            .iter()
            .flat_map(|l| l.lines().map(str::to_string))
            .collect();
        let mut gone = self.mine.clone();
        for l in &current {
            if let Some(i) = gone.iter().position(|g| g == l) {
                gone.remove(i);
            }
        }
        if gone.is_empty() {
            return;
        }
        let Ok(_lock) = Lock::take() else { return };
        if take_out_locked(&self.path, &gone).is_ok() {
            self.mine = current;
        }
    }
}

impl Drop for Journal {
    /// A journal with nothing to undo is no journal.
    fn drop(&mut self) {
        if let Ok(_lock) = Lock::take() {
            let _ = take_out_locked(&self.path, &[]);
        }
    }
}

/// Takes `lines` out of the journal at `path` (each once, the newest occurrence), for `down`
/// when it has undone them; the file goes when no step is left.
pub fn take_out(path: &Path, lines: &[String]) -> Result<(), RunError> {
    let _lock = Lock::take()?;
    take_out_locked(path, lines)
}

fn take_out_locked(path: &Path, lines: &[String]) -> Result<(), RunError> {
    let Some(mut file) = safe_file::open_trusted(path)? else {
        return Ok(());
    };
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| RunError::os(format!("cannot read {}", path.display()), &e))?;
    let mut kept: Vec<&str> = text.lines().collect();
    for l in lines.iter().rev() {
        if let Some(i) = kept.iter().rposition(|k| k == l) {
            kept.remove(i);
        }
    }
    let written = if steps(&kept.join("\n")).iter().all(|s| s.starts_with('#')) {
        std::fs::remove_file(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })
    } else if kept.len() == text.lines().count() {
        Ok(())
    } else {
        let mut out = kept.join("\n");
        out.push('\n');
        safe_file::write_atomic(path, out.as_bytes(), 0o600)
    };
    written.map_err(|e| RunError::os(format!("cannot write {}", path.display()), &e))
}

/// The steps of the journal at `path` that only root or this user could have written, read under
/// the lock (see `read_trusted`).
pub fn read_locked(path: &Path) -> Result<Vec<String>, RunError> {
    if !Path::new(DIR).is_dir() {
        return read_trusted(path);
    }
    let _lock = Lock::take()?;
    read_trusted(path)
}

/// The steps in a journal file that only root or this user could have written (see
/// `safe_file::open_trusted`); none when there is no file. The error names the file and what
/// is wrong with it.
pub fn read_trusted(path: &Path) -> Result<Vec<String>, RunError> {
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
