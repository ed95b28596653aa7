//! The `[policy.NAME]` tables as written in the config, and how they layer
//! over each other into the checked [`Policy`] of a source: the built-in
//! defaults, `[policy.default]`, a named policy, a source's inline table.
//! Sizes and durations are parsed at load time (`bytesize`, `humantime`),
//! so an error names the file, the policy and the key.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytesize::ByteSize;
use serde::Deserialize;

use super::identity::Identities;
use super::source::PolicyRef;
use crate::engine::EPOCH_TICK;
use crate::sandbox::network::NetPattern;

/// The most linear memory a 32-bit WebAssembly guest can have: 65,536
/// pages of 64 KiB.
const MAX_GUEST_MEMORY: u64 = 4 * 1024 * 1024 * 1024;
use crate::sandbox::paths;
use crate::sandbox::policy::{Mount, MountMode, Policy};
use crate::tls::policy::TlsPolicy;
use crate::tls::trust::CaCerts;
use crate::units;

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
    pub tls: Option<RawTls>,
    pub log_rate: Option<u32>,
    pub log_burst: Option<u32>,
    pub max_state_size: Option<ByteSize>,
    pub max_table_elements: Option<u32>,
}

/// `[policy.NAME.tls]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM files of the CAs client connections trust; absent: the host's
    /// system store.
    pub ca: Option<Vec<PathBuf>>,
    pub allow_insecure: Option<bool>,
    pub script_ca: Option<bool>,
    /// PEM files of the CAs client certificates must chain to.
    pub client_ca: Option<Vec<PathBuf>>,
    /// Names of `[identity.NAME]` the source may present.
    pub identities: Option<Vec<String>>,
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
    /// For `rw`: what the directory may hold.
    pub max_size: Option<ByteSize>,
}

/// The longest `cpu` slice.
const MAX_CPU: Duration = Duration::from_secs(10);

/// The lowest `recycle_above`: a fresh instance takes about 15 MiB, and a
/// threshold near that would recycle a source over and over.
const MIN_RECYCLE_ABOVE: u64 = 32 * 1024 * 1024;

/// The fewest table elements a policy may give: the guest's function table
/// starts at 5,688 elements (measured: with 4,000 it does not instantiate).
const MIN_TABLE_ELEMENTS: u32 = 8_192;

impl Policy {
    /// Applies the fields set in `raw` over `self`. `base_dir` resolves
    /// relative host paths; `at` names the place for errors.
    pub fn layer(
        &mut self,
        raw: &RawPolicy,
        base_dir: &Path,
        identities: &Identities,
        at: &str,
    ) -> Result<()> {
        if let Some(r) = raw.log_rate {
            self.log_rate = r;
        }
        if let Some(b) = raw.log_burst {
            if b == 0 {
                bail!("{at}: key `log_burst`: must be at least 1 (use `log_rate = 0` for none)");
            }
            self.log_burst = b;
        }
        if let Some(tls) = &raw.tls {
            layer_tls(
                &mut self.tls,
                tls,
                base_dir,
                identities,
                &format!("{at}: key `tls"),
            )?;
        }
        if let Some(m) = raw.memory {
            if m.as_u64() < 16 * 1024 * 1024 {
                bail!(
                    "{at}: key `memory`: {m} is below the 16 MiB the Python guest needs to start"
                );
            }
            if m.as_u64() > MAX_GUEST_MEMORY {
                bail!(
                    "{at}: key `memory`: {m} is above the 4 GiB a 32-bit WebAssembly guest can address"
                );
            }
            self.memory = m.as_u64();
        }
        if let Some(g) = raw.exit_grace {
            self.exit_grace = units::duration(g, at, "exit_grace")?;
        }
        if let Some(c) = raw.cpu {
            if c < EPOCH_TICK {
                bail!("{at}: key `cpu`: {c:?} is shorter than the 10ms scheduling tick");
            }
            if c.as_nanos() % EPOCH_TICK.as_nanos() != 0 {
                bail!("{at}: key `cpu`: {c:?} is not a multiple of the 10ms scheduling tick");
            }
            if c > MAX_CPU {
                bail!(
                    "{at}: key `cpu`: {c:?} is longer than {MAX_CPU:?}: a source would keep the others waiting that long"
                );
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
                if paths::is_reserved(guest) {
                    bail!("{here}: guest path {:?} is reserved", f.guest);
                }
                let host = base_dir.join(&f.host);
                if !host.is_dir() {
                    bail!("{here}: host path {} is not a directory", host.display());
                }
                if f.max_size.is_some() && f.mode != MountMode::Rw {
                    bail!("{here}: key `max_size` is only for `mode = \"rw\"` mounts");
                }
                mounts.push(Mount {
                    host,
                    guest: guest.to_owned(),
                    mode: f.mode,
                    max_size: f.max_size.map(|s| s.as_u64()),
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
        if let Some(s) = raw.max_state_size {
            self.max_state_size = s.as_u64();
        }
        if let Some(t) = raw.max_table_elements {
            if t < MIN_TABLE_ELEMENTS {
                bail!(
                    "{at}: key `max_table_elements`: {t} is below the {MIN_TABLE_ELEMENTS} the guest needs to start"
                );
            }
            self.max_table_elements = t;
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
}

/// The policies of a config file: `[policy.default]` over the built-in
/// defaults, and every named policy over that.
pub struct Policies {
    default: Policy,
    named: HashMap<String, Policy>,
    identities: Identities,
}

impl Policies {
    /// Checks every `[policy.NAME]` of the file `shown`, used or not.
    pub fn build(
        raw: &BTreeMap<String, RawPolicy>,
        identities: Identities,
        base: &Path,
        shown: &str,
    ) -> Result<Policies> {
        let mut default = Policy::default();
        if let Some(raw) = raw.get("default") {
            if raw.base.is_some() {
                bail!("{shown}: policy \"default\": key `base` is only for inline policies");
            }
            default.layer(
                raw,
                base,
                &identities,
                &format!("{shown}: policy \"default\""),
            )?;
        }
        let mut named = HashMap::new();
        for (name, raw) in raw {
            let at = format!("{shown}: policy {name:?}");
            if raw.base.is_some() {
                bail!("{at}: key `base` is only for inline policies on a source");
            }
            let mut p = default.clone();
            p.layer(raw, base, &identities, &at)?;
            named.insert(name.clone(), p);
        }
        Ok(Policies {
            default,
            named,
            identities,
        })
    }

    /// The effective policy of a source with `policy` set to `which`
    /// (`at` names the source for errors).
    pub fn for_source(&self, which: Option<&PolicyRef>, base: &Path, at: &str) -> Result<Policy> {
        Ok(match which {
            None => self.default.clone(),
            Some(PolicyRef::Name(p)) => self
                .named
                .get(p.as_str())
                .cloned()
                .with_context(|| format!("{at}: key `policy`: no [policy.{p}] in the file"))?,
            Some(PolicyRef::Inline(raw)) => {
                let mut p = match &raw.base {
                    None => self.default.clone(),
                    Some(b) => self.named.get(b.as_str()).cloned().with_context(|| {
                        format!("{at}: key `policy.base`: no [policy.{b}] in the file")
                    })?,
                };
                p.layer(raw, base, &self.identities, &format!("{at}: key `policy`"))?;
                p
            }
        })
    }
}

/// Applies `[...tls]` over `tls`; `at` is the key's prefix for errors
/// (`... key \`tls`), closed here with the field's name.
fn layer_tls(
    tls: &mut TlsPolicy,
    raw: &RawTls,
    base: &Path,
    identities: &Identities,
    at: &str,
) -> Result<()> {
    if let Some(files) = &raw.ca {
        tls.set_ca(read_cas(files, base, &format!("{at}.ca`"))?);
    }
    if let Some(files) = &raw.client_ca {
        tls.set_client_ca(read_cas(files, base, &format!("{at}.client_ca`"))?);
    }
    if let Some(b) = raw.allow_insecure {
        tls.allow_insecure = b;
    }
    if let Some(b) = raw.script_ca {
        tls.script_ca = b;
    }
    if let Some(names) = &raw.identities {
        let mut granted = Vec::with_capacity(names.len());
        for n in names {
            let Some(identity) = identities.get(n) else {
                bail!("{at}.identities`: no [identity.{n}] in the file");
            };
            granted.push(identity.clone());
        }
        tls.identities = granted;
    }
    Ok(())
}

/// The certificates of PEM files; a file without one is an error.
fn read_cas(files: &[PathBuf], base: &Path, at: &str) -> Result<CaCerts> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut certs = Vec::new();
    for f in files {
        let path = base.join(f);
        let found: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
            .map_err(|e| anyhow::anyhow!("{at}: cannot read {}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{at}: {} is not PEM: {e}", path.display()))?;
        if found.is_empty() {
            bail!("{at}: {} holds no certificate", path.display());
        }
        certs.extend(found);
    }
    Ok(CaCerts::new(certs))
}

fn parse_patterns(list: &[String], at: &str) -> Result<Vec<NetPattern>> {
    list.iter()
        .map(|s| {
            s.parse::<NetPattern>()
                .map_err(|e| anyhow::anyhow!("{at}: {s:?}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn layering_overrides_only_what_is_set() {
        let mut p = Policy::default();
        let raw: RawPolicy = toml::from_str(
            "memory = \"64MiB\"\nexit_grace = \"1s\"\nnetwork.connect = [\"127.0.0.1:*\"]",
        )
        .unwrap();
        p.layer(&raw, Path::new("/"), &Identities::new(), "t")
            .unwrap();
        assert_eq!(p.memory, 64 * 1024 * 1024);
        assert_eq!(p.exit_grace, Duration::from_secs(1));
        assert_eq!(p.max_message_size, 64 * 1024);
        assert!(p.allows(addr("127.0.0.1:80"), false).is_some());
        assert!(p.allows(addr("127.0.0.1:80"), true).is_none());
    }

    #[test]
    fn memory_is_bounded_by_what_the_guest_can_address() {
        let layer = |text: &str| {
            let raw: RawPolicy = toml::from_str(text).unwrap();
            Policy::default().layer(&raw, Path::new("/"), &Identities::new(), "t")
        };
        assert!(layer("memory = \"4GiB\"").is_ok());
        let err = layer("memory = \"17179869184GiB\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`memory`") && err.contains("4 GiB"), "{err}");
        assert!(layer("memory = \"5GiB\"").is_err());
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut p = Policy::default();
        let raw: RawPolicy = toml::from_str("memory = \"1MiB\"").unwrap();
        let err = p
            .layer(
                &raw,
                Path::new("/"),
                &Identities::new(),
                "f.toml: policy \"x\"",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("policy \"x\"") && err.contains("`memory`"),
            "{err}"
        );
        let raw: RawPolicy =
            toml::from_str("files = [{ host = \"/\", guest = \"/python\" }]").unwrap();
        assert!(
            p.layer(&raw, Path::new("/"), &Identities::new(), "t")
                .is_err()
        );
        for (text, key) in [
            ("max_table_elements = 100", "`max_table_elements`"),
            (
                "files = [{ host = \"/\", guest = \"/data\", max_size = \"1MiB\" }]",
                "`max_size`",
            ),
        ] {
            let raw: RawPolicy = toml::from_str(text).unwrap();
            let err = p
                .layer(&raw, Path::new("/"), &Identities::new(), "t")
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
        let raw: RawPolicy = toml::from_str(
            "max_state_size = \"1MiB\"\nfiles = [{ host = \"/\", guest = \"/data\", mode = \"rw\", max_size = \"2MiB\" }]",
        )
        .unwrap();
        p.layer(&raw, Path::new("/"), &Identities::new(), "t")
            .unwrap();
        assert_eq!(p.max_state_size, 1024 * 1024);
        assert_eq!(p.files[0].max_size, Some(2 * 1024 * 1024));
        assert!(toml::from_str::<RawPolicy>("memroy = \"1MiB\"").is_err());
        assert!(toml::from_str::<RawPolicy>("exit_grace = \"soon\"").is_err());
    }
}
