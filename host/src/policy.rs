//! What a source's sandbox grants and how it is bounded.
//!
//! Everything a guest is not explicitly granted is denied: no files but the
//! read-only Python standard library, no network, no environment variables,
//! no host stdio. The bounds here are the ones every source gets today.

use std::time::Duration;

/// The bounds of one source's sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Ceiling of the guest's linear memory, in bytes. Default: 256 MiB.
    pub memory: u64,
    /// How long run() has to return after request_exit before the guest is
    /// interrupted. Default: 5 s.
    pub exit_grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            memory: 256 * 1024 * 1024,
            exit_grace: Duration::from_secs(5),
        }
    }
}
