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

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn write_pair(dir: &std::path::Path, name: &str) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    fn error_of(dir: &std::path::Path, text: &str) -> String {
        Config::parse(&dir.join("c.toml"), text)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default()
    }

    #[test]
    fn tls_keys_are_checked_when_the_config_loads() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_pair(d, "a");
        write_pair(d, "b");
        std::fs::write(d.join("empty.pem"), "no certificate here\n").unwrap();
        let ok = Config::parse(
            &d.join("c.toml"),
            "[identity.web]\ncert = \"a.pem\"\nkey = \"a.key\"\n\
             [policy.p]\ntls.identities = [\"web\"]\ntls.ca = [\"a.pem\"]\n",
        );
        assert!(ok.is_ok(), "{:?}", ok.err());
        let e = error_of(d, "[identity.web]\ncert = \"a.pem\"\nkey = \"b.key\"\n");
        assert!(
            e.contains("identity \"web\"") && e.contains("does not fit"),
            "{e}"
        );
        let e = error_of(d, "[identity.web]\ncert = \"a.pem\"\nkey = \"nope.key\"\n");
        assert!(
            e.contains("identity \"web\"") && e.contains("nope.key"),
            "{e}"
        );
        let e = error_of(
            d,
            "[identity.\"../x\"]\ncert = \"a.pem\"\nkey = \"a.key\"\n",
        );
        assert!(e.contains("becomes a path"), "{e}");
        let e = error_of(d, "[policy.p]\ntls.identities = [\"web\"]\n");
        assert!(
            e.contains("policy \"p\"")
                && e.contains("`tls.identities`")
                && e.contains("no [identity.web]"),
            "{e}"
        );
        let e = error_of(d, "[policy.p]\ntls.ca = [\"empty.pem\"]\n");
        assert!(
            e.contains("`tls.ca`") && e.contains("holds no certificate"),
            "{e}"
        );
        let e = error_of(d, "[policy.p]\ntls.client_ca = [\"missing.pem\"]\n");
        assert!(
            e.contains("`tls.client_ca`") && e.contains("cannot read"),
            "{e}"
        );
        let e = error_of(d, "[policy.p]\ntls.bogus = true\n");
        assert!(e.contains("bogus"), "{e}");
    }
}
