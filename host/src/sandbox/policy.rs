//! The checked policy of one source's sandbox: what it grants and how it
//! is bounded. [`crate::config::policy`] builds it from the config's
//! `[policy.NAME]` tables; [`super::store`] builds the sandbox from it.
//!
//! Everything a policy does not grant is denied: no files but the read-only
//! Python standard library, no network, no DNS, no environment variables.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::network::NetPattern;
use crate::tls::policy::TlsPolicy;

/// How a host directory is mounted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountMode {
    #[default]
    Ro,
    Rw,
}

/// The bounds and grants of one source's sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Ceiling of the guest's linear memory. Default: 256 MiB.
    pub memory: u64,
    /// How long run() has to return after request_exit before the guest is
    /// interrupted. Default: 5 s.
    pub exit_grace: Duration,
    /// How long a guest runs before it yields to the other sources.
    /// Default: 10 ms (one epoch tick; the minimum).
    pub cpu: Duration,
    /// Addresses the guest may bind and listen on. Default: none.
    pub listen: Vec<NetPattern>,
    /// Addresses the guest may connect or send to. Default: none.
    pub connect: Vec<NetPattern>,
    /// Whether name lookups are allowed. Default: false.
    pub dns: bool,
    /// Host directories the guest sees. Default: none.
    pub files: Vec<Mount>,
    /// Environment variables the guest sees. Default: none.
    pub env: Vec<(String, String)>,
    /// Largest message (sum of its values' bytes) a source may post.
    /// Default: 64 KiB, syslog-ng's default log-msg-size.
    pub max_message_size: u64,
    /// Most WASI handles (files, sockets, streams, pollables) a guest may
    /// hold at once. Default: 1024.
    pub max_handles: u32,
    /// Linear memory above which the source is recycled: asked to exit,
    /// deinitialised, and started again in a fresh instance. Default: none.
    pub recycle_above: Option<u64>,
    /// What TLS may do: trust, identities. Default: the host's system
    /// store, verification always on, no identity.
    pub tls: TlsPolicy,
    /// Lines a second the guest may put into the host log (prints,
    /// logging, tracebacks it prints), and the burst above that. Default:
    /// 100 a second, bursts of 1,000.
    pub log_rate: u32,
    pub log_burst: u32,
    /// What the source's state directory (`/state`, where Persist keeps
    /// its files) may hold. Default: 64 MiB.
    pub max_state_size: u64,
    /// Elements a guest's tables may grow to. Default: 65,536 (the guest
    /// starts with 5,688).
    pub max_table_elements: u32,
}

/// A checked mount.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub host: PathBuf,
    pub guest: String,
    pub mode: MountMode,
    /// For a read-write mount: what the directory may hold. Default: no
    /// cap.
    pub max_size: Option<u64>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            memory: 256 * 1024 * 1024,
            exit_grace: Duration::from_secs(5),
            cpu: Duration::from_millis(10),
            listen: Vec::new(),
            connect: Vec::new(),
            dns: false,
            files: Vec::new(),
            env: Vec::new(),
            max_message_size: u64::from(sandlog_guest::shared::DEFAULT_MAX_MESSAGE_SIZE),
            max_handles: 1024,
            recycle_above: None,
            tls: TlsPolicy::default(),
            log_rate: 100,
            log_burst: 1000,
            max_state_size: 64 * 1024 * 1024,
            max_table_elements: 65_536,
        }
    }
}
