//! The host side of the guest's `tls` interface: sessions and identities
//! as resources in the source's resource table (so they count against its
//! `max_handles`), opened under the source's TLS policy. What the guest
//! sends here is checked here: sizes of what it feeds, the identities it
//! names, the settings it asks for.

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::sandlog::guest::tls::{
    self as wit, CertificateInfo, Progress, SessionInfo, Settings, TlsError,
};
// The WIT resources as the guest holds them; the table holds the host's
// own types under the same handle.
use super::gate::{hex_into, latin1_into};
use crate::bindings::sandlog::guest::tls::{Identity as WitIdentity, Session as WitSession};
use crate::tls::certinfo;
use crate::tls::errors;
use crate::tls::identity::{IDENTITIES_GUEST_PATH, Identity};
use crate::tls::policy::TlsPolicy;
use crate::tls::session::Session;

/// PEM a script hands over for an identity of its own, at most.
const MAX_PEM: usize = 1024 * 1024;

/// The TLS side of one source.
pub struct TlsCtx {
    policy: TlsPolicy,
}

impl TlsCtx {
    pub fn new(policy: TlsPolicy) -> Self {
        Self { policy }
    }
}

/// What the `tls` imports act on: the source's TLS policy and its
/// resource table.
pub struct TlsView<'a> {
    pub ctx: &'a TlsCtx,
    pub table: &'a mut ResourceTable,
}

/// The `HasData` of the `tls` interface.
pub struct HasTls;

impl HasData for HasTls {
    type Data<'a> = TlsView<'a>;
}

/// The bytes of a WIT `bytes` argument, or an error for the guest.
fn bytes(s: &str, what: &str) -> Result<Vec<u8>, TlsError> {
    let mut out = Vec::new();
    if latin1_into(s, &mut out) {
        Ok(out)
    } else {
        Err(errors::error(
            wit::ErrorKind::Ssl,
            "",
            format!("{what}: not bytes (a character beyond one byte)"),
        ))
    }
}

/// A TLS settings record with its byte strings decoded.
fn settings_bytes(s: &wit::Settings) -> Result<crate::tls::session::Options, TlsError> {
    Ok(crate::tls::session::Options {
        alpn: s
            .alpn
            .iter()
            .map(|p| bytes(p, "an ALPN protocol"))
            .collect::<Result<_, _>>()?,
        script_ca: s
            .script_ca
            .iter()
            .map(|c| bytes(c, "a CA certificate"))
            .collect::<Result<_, _>>()?,
    })
}

/// The guest's handle for a value the table holds as `T`.
fn to_guest<T: 'static, W: 'static>(r: Resource<T>) -> Resource<W> {
    Resource::new_own(r.rep())
}

/// The table's view of a handle the guest passed.
fn borrowed<T: 'static, W: 'static>(r: &Resource<W>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

/// The table's view of a handle the guest gives up.
fn owned<T: 'static, W: 'static>(r: Resource<W>) -> Resource<T> {
    Resource::new_own(r.rep())
}

/// The identity `NAME` of `/identities/NAME/cert.pem` (with the key at
/// `/identities/NAME/key.pem`, or no separate key file).
fn identity_name<'a>(certfile: &'a str, keyfile: Option<&str>) -> Option<&'a str> {
    let rest = certfile
        .strip_prefix(IDENTITIES_GUEST_PATH)?
        .strip_prefix('/')?;
    let name = rest.strip_suffix("/cert.pem")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    match keyfile {
        None => Some(name),
        Some(k) if k == format!("{IDENTITIES_GUEST_PATH}/{name}/key.pem") => Some(name),
        Some(_) => None,
    }
}

impl wit::Host for TlsView<'_> {
    async fn decode_certificate(
        &mut self,
        der: String,
    ) -> wasmtime::Result<Result<CertificateInfo, String>> {
        let mut raw = Vec::new();
        if !latin1_into(&der, &mut raw) {
            return Ok(Err("not bytes".into()));
        }
        Ok(certinfo::decode(&raw))
    }

    async fn trusted_certificates(&mut self) -> wasmtime::Result<Vec<Vec<u8>>> {
        Ok(self
            .ctx
            .policy
            .trusted()
            .certs()
            .iter()
            .map(|c| c.as_ref().to_vec())
            .collect())
    }
}

impl wit::HostIdentity for TlsView<'_> {
    async fn granted(
        &mut self,
        certfile: String,
        keyfile: Option<String>,
    ) -> wasmtime::Result<Result<Resource<WitIdentity>, TlsError>> {
        let Some(name) = identity_name(&certfile, keyfile.as_deref()) else {
            return Ok(Err(errors::denied(format!(
                "{certfile}: not an identity path (identities are at {IDENTITIES_GUEST_PATH}/NAME/cert.pem and key.pem)"
            ))));
        };
        let Some(identity) = self.ctx.policy.identity(name) else {
            return Ok(Err(errors::denied(format!(
                "identity {name:?} is not granted to this source (policy key `tls.identities`)"
            ))));
        };
        let identity = identity.clone();
        Ok(Ok(to_guest(self.table.push(identity)?)))
    }

    async fn from_pem(
        &mut self,
        chain: String,
        key: String,
        password: Option<String>,
    ) -> wasmtime::Result<Result<Resource<WitIdentity>, TlsError>> {
        if chain.len() > 2 * MAX_PEM || key.len() > 2 * MAX_PEM {
            return Ok(Err(errors::error(
                wit::ErrorKind::Ssl,
                "",
                "certificate or key file over 1 MiB",
            )));
        }
        if password.is_some_and(|p| !p.is_empty()) {
            return Ok(Err(errors::error(
                wit::ErrorKind::Ssl,
                "",
                "encrypted private keys are not supported",
            )));
        }
        let (chain, key) = match (bytes(&chain, "the certificate"), bytes(&key, "the key")) {
            (Ok(c), Ok(k)) => (c, k),
            (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
        };
        match Identity::from_pem("(script)", &chain, &key) {
            Ok(identity) => Ok(Ok(to_guest(self.table.push(identity)?))),
            Err(e) => Ok(Err(errors::error(
                wit::ErrorKind::Ssl,
                "",
                format!("{e:#}"),
            ))),
        }
    }

    async fn drop(&mut self, rep: Resource<WitIdentity>) -> wasmtime::Result<()> {
        self.table.delete(owned::<Identity, _>(rep))?;
        Ok(())
    }
}

impl wit::HostSession for TlsView<'_> {
    async fn open(
        &mut self,
        settings: Settings,
        identity: Option<Resource<WitIdentity>>,
        server_name: Option<String>,
    ) -> wasmtime::Result<Result<Resource<WitSession>, TlsError>> {
        let identity = match &identity {
            Some(r) => Some(self.table.get(&borrowed::<Identity, _>(r))?.clone()),
            None => None,
        };
        let options = match settings_bytes(&settings) {
            Ok(o) => o,
            Err(e) => return Ok(Err(e)),
        };
        match Session::open(
            &self.ctx.policy,
            &settings,
            &options,
            identity.as_ref(),
            server_name,
        ) {
            Ok(session) => Ok(Ok(to_guest(self.table.push(session)?))),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn step(
        &mut self,
        session: Resource<WitSession>,
        incoming: String,
        eof: bool,
        plaintext: String,
        want: u32,
    ) -> wasmtime::Result<Result<Progress, TlsError>> {
        let session = self.table.get_mut(&borrowed::<Session, _>(&session))?;
        let mut records = Vec::new();
        let incoming = if hex_into(&incoming, &mut records) {
            Ok(records)
        } else {
            Err(errors::error(wit::ErrorKind::Ssl, "", "TLS bytes: not hex"))
        };
        let (incoming, plaintext) = match (incoming, bytes(&plaintext, "plaintext")) {
            (Ok(i), Ok(p)) => (i, p),
            (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
        };
        Ok(session.step(&incoming, eof, &plaintext, want as usize))
    }

    async fn close(&mut self, session: Resource<WitSession>) -> wasmtime::Result<Vec<u8>> {
        Ok(self
            .table
            .get_mut(&borrowed::<Session, _>(&session))?
            .close())
    }

    async fn info(
        &mut self,
        session: Resource<WitSession>,
    ) -> wasmtime::Result<Option<SessionInfo>> {
        Ok(self.table.get(&borrowed::<Session, _>(&session))?.info())
    }

    async fn drop(&mut self, rep: Resource<WitSession>) -> wasmtime::Result<()> {
        self.table.delete(owned::<Session, _>(rep))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_named_by_their_paths() {
        assert_eq!(identity_name("/identities/web/cert.pem", None), Some("web"));
        assert_eq!(
            identity_name("/identities/web/cert.pem", Some("/identities/web/key.pem")),
            Some("web")
        );
        assert_eq!(
            identity_name(
                "/identities/web/cert.pem",
                Some("/identities/other/key.pem")
            ),
            None
        );
        assert_eq!(identity_name("/identities/a/b/cert.pem", None), None);
        assert_eq!(identity_name("/data/cert.pem", None), None);
    }
}
