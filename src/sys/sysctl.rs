//! Sysctls per namespace. /proc/sys/net shows the network namespace of the thread that looks, so
//! each read or write happens on a helper thread inside the namespace.

use crate::base::error::RunError;
use crate::sys::netns;
use std::path::PathBuf;

/// `net.ipv6.conf.eth1/19.proxy_ndp` → /proc/sys/net/ipv6/conf/eth1.19/proxy_ndp (sysctl(8)'s
/// convention: a `/` inside a dotted key stands for a `.` in a name). A key given with slashes
/// (`net/ipv4/ip_forward`) is taken as a path, as sysctl(8) also does.
pub fn path(key: &str) -> Result<PathBuf, RunError> {
    let key = key.trim();
    let bad = || {
        RunError::new(format!("`{key}` is not a sysctl key"))
            .help("keys look like net.ipv4.ip_forward")
    };
    if key.is_empty() || key.contains("..") || key.starts_with('.') || key.starts_with('/') {
        return Err(bad());
    }
    let mut p = PathBuf::from("/proc/sys");
    if key.contains('.') {
        for part in key.split('.') {
            if part.is_empty() {
                return Err(bad());
            }
            p.push(part.replace('/', "."));
        }
    } else {
        for part in key.split('/') {
            if part.is_empty() || part == ".." {
                return Err(bad());
            }
            p.push(part);
        }
    }
    Ok(p)
}

fn describe(key: &str, p: &std::path::Path, e: &std::io::Error) -> RunError {
    let err = RunError::new(format!(
        "sysctl {key} ({}): {}",
        p.display(),
        crate::base::error::io_text(e)
    ))
    .with_os(e);
    if e.kind() == std::io::ErrorKind::NotFound {
        err.help("no such key in this namespace: an interface named in the key must exist there")
    } else {
        err
    }
}

pub fn set(ns: Option<&str>, key: &str, value: &str) -> Result<(), RunError> {
    let p = path(key)?;
    netns::run_in(ns, || {
        std::fs::write(&p, format!("{value}\n")).map_err(|e| describe(key, &p, &e))
    })?
}

pub fn get(ns: Option<&str>, key: &str) -> Result<String, RunError> {
    let p = path(key)?;
    netns::run_in(ns, || {
        std::fs::read_to_string(&p)
            .map(|s| s.trim_end().to_string())
            .map_err(|e| describe(key, &p, &e))
    })?
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_become_proc_paths() {
        assert_eq!(
            super::path("net.ipv4.ip_forward").unwrap().to_str(),
            Some("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            super::path("net.ipv6.conf.eth1/19.proxy_ndp")
                .unwrap()
                .to_str(),
            Some("/proc/sys/net/ipv6/conf/eth1.19/proxy_ndp")
        );
        assert_eq!(
            super::path("net/ipv4/ip_forward").unwrap().to_str(),
            Some("/proc/sys/net/ipv4/ip_forward")
        );
        assert!(super::path("net..x").is_err());
        assert!(super::path("/etc/passwd").is_err());
        assert!(super::path("").is_err());
    }
}
