//! `[identity.NAME]`: a certificate chain and a private key on the host
//! that sources whose policy grants NAME (`tls.identities`) may present,
//! read when the config is loaded so that a missing file or a key that
//! does not fit its certificate is a config error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::tls::identity::Identity;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentity {
    /// PEM: the certificate, then its intermediates.
    cert: PathBuf,
    /// PEM: the private key (unencrypted).
    key: PathBuf,
}

/// The identities of a config, by name.
pub type Identities = BTreeMap<String, Identity>;

/// Reads every identity of the file `shown`.
pub fn load_all(
    raw: &BTreeMap<String, RawIdentity>,
    base: &Path,
    shown: &str,
) -> Result<Identities> {
    let mut out = BTreeMap::new();
    for (name, r) in raw {
        let at = format!("{shown}: identity {name:?}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            || name.starts_with('.')
        {
            bail!("{at}: a name is letters, digits, `-`, `_` and `.` (it becomes a path)");
        }
        let identity = Identity::load(name, &base.join(&r.cert), &base.join(&r.key))
            .map_err(|e| anyhow::anyhow!("{at}: {e:#}"))?;
        out.insert(name.clone(), identity);
    }
    Ok(out)
}
