//! Identities: a certificate chain and the private key that goes with it,
//! held by the host. An identity from the config (`[identity.NAME]`) is
//! read once, when the config is loaded, and handed to the sources whose
//! policy grants it; the guest holds a reference to it and the host signs
//! with the key, which never enters guest memory.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

use super::trust::provider;

/// Where a granted identity appears to a script: the paths it passes to
/// `load_cert_chain()` are `/identities/NAME/cert.pem` and `key.pem`. No
/// file is there; the host holds the identity.
pub const IDENTITIES_GUEST_PATH: &str = "/identities";

/// A certificate chain (leaf first) and its key.
#[derive(Clone)]
pub struct Identity {
    pub name: String,
    pub key: Arc<CertifiedKey>,
    /// Digest of the chain and the key, so that a reload tells a changed
    /// identity from an unchanged one without keeping the key's bytes.
    digest: [u8; 32],
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.digest == other.digest
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "identity {:?} ({} certificates)",
            self.name,
            self.key.cert.len()
        )
    }
}

impl Identity {
    /// Reads a PEM certificate chain and a PEM private key from the host.
    pub fn load(name: &str, cert: &Path, key: &Path) -> Result<Identity> {
        let chain_pem =
            std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
        let key_pem =
            std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
        Identity::from_pem(name, &chain_pem, &key_pem).map_err(|e| {
            anyhow::anyhow!(
                "{e} (certificate {}, key {})",
                cert.display(),
                key.display()
            )
        })
    }

    /// An identity from PEM text: the chain's certificates, leaf first, and
    /// one private key (PKCS#8, PKCS#1 or SEC1; not encrypted).
    pub fn from_pem(name: &str, chain_pem: &[u8], key_pem: &[u8]) -> Result<Identity> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("the certificate chain is not PEM: {e}"))?;
        if chain.is_empty() {
            bail!("the certificate file holds no certificate");
        }
        if key_pem
            .windows(b"ENCRYPTED PRIVATE KEY".len())
            .any(|w| w == b"ENCRYPTED PRIVATE KEY")
        {
            bail!("the private key is encrypted; sandlog takes unencrypted keys only");
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| anyhow::anyhow!("no private key found: {e}"))?;
        let mut h = Sha256::new();
        for c in &chain {
            h.update((c.len() as u64).to_le_bytes());
            h.update(c.as_ref());
        }
        h.update(key.secret_der());
        let digest = h.finalize().into();
        let key = CertifiedKey::from_der(chain, key, &provider())
            .map_err(|e| anyhow::anyhow!("the key does not fit the certificate: {e}"))?;
        Ok(Identity {
            name: name.to_owned(),
            key: Arc::new(key),
            digest,
        })
    }
}
