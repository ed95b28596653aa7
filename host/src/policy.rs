//! What a source's sandbox grants and how it is bounded: named policies in
//! the config (`[policy.NAME]`), a default, per-source overrides, and the
//! checked [`Policy`] every sandbox is built from.
//!
//! Everything a policy does not grant is denied: no files but the read-only
//! Python standard library, no network, no DNS, no environment variables.
//! Sizes and durations are parsed at load time (`bytesize`, `humantime`), so
//! an error names the file, the policy and the key.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Result, bail};
use bytesize::ByteSize;
use ipnet::IpNet;
use serde::Deserialize;

/// A policy as written in the config: every field optional, so that a
/// policy can be layered over another.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// With an inline policy on a source: the named policy to start from.
    pub base: Option<String>,
    pub memory: Option<ByteSize>,
    #[serde(default, with = "humantime_serde")]
    pub exit_grace: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub cpu: Option<Duration>,
    pub network: Option<RawNetwork>,
    pub dns: Option<bool>,
    pub files: Option<Vec<RawMount>>,
    pub env: Option<BTreeMap<String, String>>,
    pub max_message_size: Option<ByteSize>,
    pub max_handles: Option<u32>,
    pub recycle_above: Option<ByteSize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub listen: Option<Vec<String>>,
    pub connect: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMount {
    /// A directory on the host (relative to the config file).
    pub host: PathBuf,
    /// Where the guest sees it (absolute).
    pub guest: String,
    /// `ro` (default) or `rw`.
    #[serde(default)]
    pub mode: MountMode,
}

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
}

/// A checked mount.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub host: PathBuf,
    pub guest: String,
    pub mode: MountMode,
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
            max_message_size: 64 * 1024,
            max_handles: 1024,
            recycle_above: None,
        }
    }
}

/// The lowest `recycle_above`: a fresh instance takes about 15 MiB, and a
/// threshold near that would recycle a source over and over.
const MIN_RECYCLE_ABOVE: u64 = 32 * 1024 * 1024;

/// The guest paths sandlog mounts itself (the standard library, the
/// source's state directory, its python_path), which no policy may use.
const RESERVED_GUEST_PATHS: [&str; 3] = ["/python", "/state", "/pythonpath"];

impl Policy {
    /// Applies the fields set in `raw` over `self`. `base_dir` resolves
    /// relative host paths; `at` names the place for errors.
    pub fn layer(&mut self, raw: &RawPolicy, base_dir: &std::path::Path, at: &str) -> Result<()> {
        if let Some(m) = raw.memory {
            if m.as_u64() < 16 * 1024 * 1024 {
                bail!(
                    "{at}: key `memory`: {m} is below the 16 MiB the Python guest needs to start"
                );
            }
            self.memory = m.as_u64();
        }
        if let Some(g) = raw.exit_grace {
            self.exit_grace = g;
        }
        if let Some(c) = raw.cpu {
            if c < crate::runtime::EPOCH_TICK {
                bail!("{at}: key `cpu`: {c:?} is shorter than the 10ms scheduling tick");
            }
            self.cpu = c;
        }
        if let Some(net) = &raw.network {
            if let Some(l) = &net.listen {
                self.listen = parse_patterns(l, &format!("{at}: key `network.listen`"))?;
            }
            if let Some(c) = &net.connect {
                self.connect = parse_patterns(c, &format!("{at}: key `network.connect`"))?;
            }
        }
        if let Some(d) = raw.dns {
            self.dns = d;
        }
        if let Some(files) = &raw.files {
            let mut mounts = Vec::with_capacity(files.len());
            for (i, f) in files.iter().enumerate() {
                let here = format!("{at}: key `files` #{}", i + 1);
                if !f.guest.starts_with('/') || f.guest.split('/').any(|p| p == "..") {
                    bail!(
                        "{here}: guest path {:?} must be absolute and without `..`",
                        f.guest
                    );
                }
                let guest = f.guest.trim_end_matches('/');
                let guest = if guest.is_empty() { "/" } else { guest };
                let reserved = RESERVED_GUEST_PATHS.iter().any(|r| {
                    guest == *r
                        || guest
                            .strip_prefix(r)
                            .is_some_and(|rest| rest.starts_with('/'))
                });
                if guest == "/" || reserved {
                    bail!("{here}: guest path {:?} is reserved", f.guest);
                }
                let host = base_dir.join(&f.host);
                if !host.is_dir() {
                    bail!("{here}: host path {} is not a directory", host.display());
                }
                mounts.push(Mount {
                    host,
                    guest: guest.to_owned(),
                    mode: f.mode,
                });
            }
            self.files = mounts;
        }
        if let Some(env) = &raw.env {
            for k in env.keys() {
                if k.is_empty() || k.contains('=') || k.contains('\0') {
                    bail!("{at}: key `env`: {k:?} is not a valid variable name");
                }
            }
            self.env = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        if let Some(m) = raw.max_message_size {
            if m.as_u64() == 0 || m.as_u64() > u64::from(u32::MAX) {
                bail!("{at}: key `max_message_size`: {m} is out of range");
            }
            self.max_message_size = m.as_u64();
        }
        if let Some(h) = raw.max_handles {
            if h < 32 {
                bail!(
                    "{at}: key `max_handles`: {h} is below the 32 handles the guest needs to start"
                );
            }
            self.max_handles = h;
        }
        if let Some(r) = raw.recycle_above {
            if r.as_u64() < MIN_RECYCLE_ABOVE {
                bail!(
                    "{at}: key `recycle_above`: {r} is below the 32 MiB a fresh instance may use"
                );
            }
            self.recycle_above = Some(r.as_u64());
        }
        if let Some(r) = self.recycle_above
            && r >= self.memory
        {
            bail!(
                "{at}: key `recycle_above`: {} is not below `memory` ({}): the source would hit its memory limit first",
                ByteSize(r),
                ByteSize(self.memory)
            );
        }
        Ok(())
    }

    /// The rule that allows `addr` for binding/listening (`listen`) or for
    /// connecting/sending (`!listen`), if any.
    pub fn allows(&self, addr: SocketAddr, listen: bool) -> Option<&NetPattern> {
        let rules = if listen { &self.listen } else { &self.connect };
        rules.iter().find(|p| p.matches(addr))
    }
}

fn parse_patterns(list: &[String], at: &str) -> Result<Vec<NetPattern>> {
    list.iter()
        .map(|s| {
            s.parse::<NetPattern>()
                .map_err(|e| anyhow::anyhow!("{at}: {s:?}: {e}"))
        })
        .collect()
}

/// An allow-list entry `ADDRESS:PORT`: ADDRESS is an IP, a CIDR or `*`
/// (IPv6 in brackets), PORT a number, a range `A-B` or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPattern {
    text: String,
    addr: Option<IpNet>,
    ports: (u16, u16),
}

impl NetPattern {
    pub fn matches(&self, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        let port = addr.port();
        self.addr.is_none_or(|net| net.contains(&ip))
            && (self.ports.0..=self.ports.1).contains(&port)
    }
}

/// IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl fmt::Display for NetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for NetPattern {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (addr, port) = if let Some(rest) = s.strip_prefix('[') {
            let (a, p) = rest
                .split_once("]:")
                .ok_or("IPv6 patterns look like [ADDRESS]:PORT")?;
            (a, p)
        } else {
            s.rsplit_once(':').ok_or("expected ADDRESS:PORT")?
        };
        if !s.starts_with('[') && addr.contains(':') {
            return Err("put IPv6 addresses in brackets, e.g. [::1]:514".into());
        }
        let addr = match addr {
            "*" => None,
            a if a.contains('/') => Some(
                a.parse::<IpNet>()
                    .map_err(|e| format!("bad CIDR {a:?}: {e}"))?
                    .trunc(),
            ),
            a => Some(IpNet::from(canonical(
                a.parse::<IpAddr>()
                    .map_err(|e| format!("bad address {a:?}: {e}"))?,
            ))),
        };
        let num = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port {p:?}"));
        let ports = match port {
            "*" => (0, u16::MAX),
            p if p.contains('-') => {
                let (a, b) = p.split_once('-').ok_or("bad port range")?;
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("empty port range {p:?}"));
                }
                (a, b)
            }
            p => {
                let n = num(p)?;
                (n, n)
            }
        };
        Ok(NetPattern {
            text: s.to_owned(),
            addr,
            ports,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> NetPattern {
        s.parse().unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn patterns_match_addresses_ports_and_ranges() {
        assert!(pat("127.0.0.1:5514").matches(addr("127.0.0.1:5514")));
        assert!(!pat("127.0.0.1:5514").matches(addr("127.0.0.1:5515")));
        assert!(pat("10.0.0.0/8:*").matches(addr("10.2.3.4:1")));
        assert!(!pat("10.0.0.0/8:*").matches(addr("11.0.0.1:1")));
        assert!(pat("*:1024-65535").matches(addr("192.0.2.1:2000")));
        assert!(!pat("*:1024-65535").matches(addr("192.0.2.1:80")));
        assert!(pat("[::1]:514").matches(addr("[::1]:514")));
        assert!(pat("[fd00::/8]:*").matches(addr("[fd12::1]:9")));
        assert!(pat("127.0.0.1:*").matches(addr("[::ffff:127.0.0.1]:80")));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "127.0.0.1",
            "::1:514",
            "[::1]514",
            "1.2.3.4:99999",
            "1.2.3.4:9-1",
            "host:80",
            "1.2.3.0/33:1",
        ] {
            assert!(bad.parse::<NetPattern>().is_err(), "{bad}");
        }
    }

    #[test]
    fn layering_overrides_only_what_is_set() {
        let mut p = Policy::default();
        let raw: RawPolicy = toml::from_str(
            "memory = \"64MiB\"\nexit_grace = \"1s\"\nnetwork.connect = [\"127.0.0.1:*\"]",
        )
        .unwrap();
        p.layer(&raw, std::path::Path::new("/"), "t").unwrap();
        assert_eq!(p.memory, 64 * 1024 * 1024);
        assert_eq!(p.exit_grace, Duration::from_secs(1));
        assert_eq!(p.max_message_size, 64 * 1024);
        assert!(p.allows(addr("127.0.0.1:80"), false).is_some());
        assert!(p.allows(addr("127.0.0.1:80"), true).is_none());
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut p = Policy::default();
        let raw: RawPolicy = toml::from_str("memory = \"1MiB\"").unwrap();
        let err = p
            .layer(&raw, std::path::Path::new("/"), "f.toml: policy \"x\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("policy \"x\"") && err.contains("`memory`"),
            "{err}"
        );
        let raw: RawPolicy =
            toml::from_str("files = [{ host = \"/\", guest = \"/python\" }]").unwrap();
        assert!(p.layer(&raw, std::path::Path::new("/"), "t").is_err());
        assert!(toml::from_str::<RawPolicy>("memroy = \"1MiB\"").is_err());
        assert!(toml::from_str::<RawPolicy>("exit_grace = \"soon\"").is_err());
    }
}
