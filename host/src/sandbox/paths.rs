//! Where things are in a guest's file system, and where a source's state
//! lives on the host. The one place that knows the guest's path layout:
//! the standard library at `/python`, the state directory at `/state`, the
//! `python_path` directories under `/pythonpath`; policies may mount
//! anywhere else.

use std::path::{Path, PathBuf};

/// Where the standard library is mounted (the guest's `PYTHONHOME`).
pub const STDLIB: &str = sandlog_guest::STDLIB_GUEST_PATH;

/// Where a source's state directory is mounted.
pub const STATE: &str = "/state";

/// Under which directory the `python_path` entries are mounted.
const PYTHON_PATH: &str = "/pythonpath";

/// The guest paths sandlog mounts itself (or, for identities, names), which
/// no policy may use.
const RESERVED: [&str; 4] = [
    STDLIB,
    STATE,
    PYTHON_PATH,
    crate::tls::identity::IDENTITIES_GUEST_PATH,
];

/// Where the `i`th directory of a source's `python_path` is mounted.
pub fn python_path_mount(i: usize) -> String {
    format!("{PYTHON_PATH}/{i}")
}

/// Whether a policy may not mount at `guest` (absolute, no trailing `/`):
/// the root, or one of sandlog's own mounts or a path below one.
pub fn is_reserved(guest: &str) -> bool {
    guest == "/"
        || RESERVED.iter().any(|r| {
            guest == *r
                || guest
                    .strip_prefix(r)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// The host directory that keeps a source's state (its Persist stores)
/// across restarts: `STATE_ROOT/sources/NAME`, the name escaped so that it
/// is one path component.
pub fn state_dir(state_root: &Path, source: &str) -> PathBuf {
    let mut escaped = String::with_capacity(source.len());
    for b in source.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !escaped.is_empty())
        {
            escaped.push(char::from(b));
        } else {
            escaped.push_str(&format!("%{b:02X}"));
        }
    }
    state_root.join("sources").join(escaped)
}

/// The default state directory: `$XDG_STATE_HOME/sandlog`, else
/// `$HOME/.local/state/sandlog`, else a directory under the system temp dir.
pub fn default_state_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("sandlog");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/state/sandlog");
    }
    std::env::temp_dir().join("sandlog-state")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandlogs_own_mounts_are_reserved() {
        for p in ["/", "/python", "/python/lib", "/state", "/pythonpath/0"] {
            assert!(is_reserved(p), "{p}");
        }
        for p in ["/pythonic", "/data", "/states"] {
            assert!(!is_reserved(p), "{p}");
        }
    }

    #[test]
    fn a_state_directory_is_one_component() {
        let d = state_dir(Path::new("/s"), "../a/b.c");
        assert_eq!(d, Path::new("/s/sources/%2E.%2Fa%2Fb.c"));
    }
}
