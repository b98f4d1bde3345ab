//! Files netsh writes as root, in directories others may write to (`subnet-file /tmp/x`): written
//! whole or not at all, never through a symlink someone planted, with modes that do not depend on
//! the umask.
//!
//! The helper is netsh's own rather than `tempfile`'s `persist`: it is a few lines over std, sets
//! the mode with fchmod (so the umask cannot loosen or tighten it), and adds no run-time dependency.

use crate::base::error::RunError;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` with exactly `mode`: a randomly named file is created next to it with
/// `O_CREAT|O_EXCL|O_NOFOLLOW` (a name someone guessed and planted fails instead of being
/// followed), written, fsynced, and renamed over `path` (which replaces a symlink at `path`
/// itself rather than writing through it). The directory must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let (tmp, mut file) = create_temp(path, mode)?;
    let done = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Whether `path` is already what `write_atomic(path, bytes, mode)` would make: a regular file
/// (not a symlink), owned by this user, with exactly `mode` and exactly `bytes`. Writing it again
/// would change nothing, so a re-run leaves it alone.
pub fn holds(path: &Path, bytes: &[u8], mode: u32) -> bool {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let Ok(mut file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    // checked on the open file, so what was checked is what is read
    let Ok(meta) = file.metadata() else {
        return false;
    };
    if !meta.is_file()
        || meta.uid() != nix::unistd::geteuid().as_raw()
        || meta.mode() & 0o7777 != mode
        || meta.len() != bytes.len() as u64
    {
        return false;
    }
    let mut have = Vec::with_capacity(bytes.len());
    file.read_to_end(&mut have).is_ok() && have == bytes
}

/// A new file next to `path` named `.NAME.RANDOM.tmp`, with `mode`.
pub fn create_temp(path: &Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut last = None;
    // a clash with an existing name (a planted one, or chance) tries another name
    for _ in 0..16 {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        let tmp = path.with_file_name(tmp_name);
        match create_new(&tmp, mode) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Creates `path`, which must not exist (not even as a symlink), with exactly `mode`.
pub fn create_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    create(path, mode, false)
}

fn create(path: &Path, mode: u32, append: bool) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .append(append)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(mode)
        .open(path)?;
    // the umask took bits off the mode given to open(2)
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(file)
}

/// Opens `path` for appending, creating it with exactly `mode` if it is not there; a symlink at
/// `path` is an error (ELOOP), not followed.
pub fn open_append(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    match create(path, mode, true) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path),
        Err(e) => Err(e),
    }
}

/// Creates the directory `dir` (and missing parents) if it is not there; the directory itself is
/// then given exactly `mode`. Returns whether it was created.
pub fn create_dir(dir: &Path, mode: u32) -> std::io::Result<bool> {
    use std::os::unix::fs::DirBuilderExt;
    if std::fs::symlink_metadata(dir).is_ok() {
        return Ok(false);
    }
    // parents netsh makes get `mode` too (less what the umask takes): nobody else's business
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    Ok(true)
}

/// Opens `path` for reading without following a symlink at it, and checks that nobody but root
/// or this user could have written it: owned by one of them, a regular file, not writable by
/// group or others. `Ok(None)` when there is no file. The error says what is wrong.
pub fn open_trusted(path: &Path) -> Result<Option<std::fs::File>, RunError> {
    use std::os::unix::fs::MetadataExt;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(RunError::new(format!("{} is a symlink", path.display())));
        }
        Err(e) => {
            return Err(RunError::os(format!("cannot open {}", path.display()), &e));
        }
    };
    // checked on the open file, so what was checked is what is read
    let meta = file
        .metadata()
        .map_err(|e| RunError::os(format!("cannot stat {}", path.display()), &e))?;
    if !meta.is_file() {
        return Err(RunError::new(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return Err(RunError::new(format!(
            "{} is owned by uid {}, not by root or this user",
            path.display(),
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(RunError::new(format!(
            "{} is writable by {} (mode {mode:04o})",
            path.display(),
            if mode & 0o002 != 0 {
                "others"
            } else {
                "its group"
            }
        )));
    }
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_with_the_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.env");
        write_atomic(&path, b"one\n", 0o640).unwrap();
        write_atomic(&path, b"two\n", 0o640).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn replaces_a_symlink_at_the_path_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "secret\n").unwrap();
        let path = dir.path().join("f.env");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_atomic(&path, b"new\n", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn open_append_refuses_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "secret\n").unwrap();
        let path = dir.path().join("j");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let e = open_append(&path, 0o600).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
    }

    #[test]
    fn open_trusted_says_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        assert!(open_trusted(&path).unwrap().is_none());
        std::fs::write(&path, "x\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(open_trusted(&path).unwrap().is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = open_trusted(&path).unwrap_err();
        assert!(e.message.contains("writable by others (mode 0666)"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o620)).unwrap();
        let e = open_trusted(&path).unwrap_err();
        assert!(e.message.contains("writable by its group"), "{e}");
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = open_trusted(&link).unwrap_err();
        assert!(e.message.contains("is a symlink"), "{e}");
    }
}
