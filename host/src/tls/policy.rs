//! What a source's policy says about TLS (`[policy.NAME.tls]`): whom its
//! client connections trust, whether a script may turn verification off
//! or add CAs of its own, whom its servers accept client certificates
//! from, and which identities it may present.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;

use super::identity::Identity;
use super::trust::{self, CaCerts};

/// The TLS grants of one source. Defaults: the host's system store,
/// verification always on, no CA of the script's own, no client CA, no
/// identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsPolicy {
    /// The CAs client connections trust; None: the host's system store.
    ca: Option<CaCerts>,
    /// Whether a script may turn verification off on a client context
    /// (`CERT_NONE`, `check_hostname = False`).
    pub allow_insecure: bool,
    /// Whether CAs a script loads itself (`load_verify_locations`) are
    /// trusted besides the policy's.
    pub script_ca: bool,
    /// The CAs a server's client certificates must chain to (mutual TLS).
    client_ca: CaCerts,
    /// The identities the source may present.
    pub identities: Vec<Identity>,
    /// The root stores built from `ca` and `client_ca`, once for every
    /// source that shares this policy. Setting either starts them afresh:
    /// a policy layered over another must never use the other's trust.
    roots: Roots,
}

#[derive(Clone, Default)]
struct Roots {
    client: Arc<OnceLock<Arc<RootCertStore>>>,
    server: Arc<OnceLock<Arc<RootCertStore>>>,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

impl PartialEq for Roots {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl TlsPolicy {
    /// Client connections trust `ca`.
    pub fn set_ca(&mut self, ca: CaCerts) {
        self.ca = Some(ca);
        self.roots = Roots::default();
    }

    /// Client certificates must chain to `ca`.
    pub fn set_client_ca(&mut self, ca: CaCerts) {
        self.client_ca = ca;
        self.roots = Roots::default();
    }

    /// The CAs client connections trust.
    pub fn trusted(&self) -> CaCerts {
        self.ca.clone().unwrap_or_else(trust::system)
    }

    /// The root store of client connections.
    pub fn client_roots(&self) -> Arc<RootCertStore> {
        self.roots
            .client
            .get_or_init(|| Arc::new(trust::root_store(self.trusted().certs())))
            .clone()
    }

    /// The root store for client certificates.
    pub fn server_roots(&self) -> Arc<RootCertStore> {
        self.roots
            .server
            .get_or_init(|| Arc::new(trust::root_store(self.client_ca.certs())))
            .clone()
    }

    /// The identity named `name`, if this policy grants it.
    pub fn identity(&self, name: &str) -> Option<&Identity> {
        self.identities.iter().find(|i| i.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layered_policy_never_shares_the_trust_of_its_base() {
        let mut base = TlsPolicy::default();
        base.set_ca(CaCerts::default());
        let empty = base.client_roots();
        assert!(empty.is_empty());
        let mut layered = base.clone();
        let ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .and_then(|mut p| {
                p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
                p.self_signed(&rcgen::KeyPair::generate()?)
            })
            .map(|c| c.der().clone())
            .unwrap();
        layered.set_ca(CaCerts::new(vec![ca]));
        assert_eq!(layered.client_roots().len(), 1);
        assert!(base.client_roots().is_empty());
    }
}
