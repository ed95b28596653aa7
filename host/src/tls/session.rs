//! One TLS connection of a guest, on rustls, doing no I/O: the guest hands
//! it the bytes it read from its socket and takes the bytes to send
//! ([`Session::step`]). A server session starts as an acceptor, so that
//! the ClientHello can shape the connection as OpenSSL would (no ALPN
//! protocol in common means none, not an alert).
//!
//! What a session holds on the host is bounded whatever the guest feeds
//! it: rustls keeps at most 16 KiB of received plaintext and its record
//! buffer; unsent TLS and plaintext are capped at [`SEND_LIMIT`]; a step
//! returns at most [`MAX_WANT`] bytes of plaintext.

use std::io::{self, Read};
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::{Acceptor, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, ClientConnection, Connection, HandshakeKind, ProtocolVersion, ServerConfig,
    SignatureScheme, SupportedProtocolVersion,
};

use super::errors::{self, Context};
use super::identity::Identity;
use super::policy::TlsPolicy;
use super::trust::{self, ChainOnly, Unverified};
use crate::bindings::sandlog::guest::tls::{ErrorKind, Progress, SessionInfo, Settings, TlsError};

/// Unsent plaintext and TLS a session keeps at most.
pub const SEND_LIMIT: usize = 256 * 1024;

/// Plaintext one step hands the guest at most.
pub const MAX_WANT: usize = 1024 * 1024;

/// TLS bytes one step takes at most; the guest feeds the rest later.
pub const MAX_INCOMING: usize = 1024 * 1024;

const CERT_NONE: u8 = 0;
const CERT_OPTIONAL: u8 = 1;

/// The byte strings of a context's settings, decoded.
pub struct Options {
    pub alpn: Vec<Vec<u8>>,
    pub script_ca: Vec<Vec<u8>>,
}

enum State {
    /// A server waiting for the ClientHello.
    Accepting(Box<Acceptor>, Arc<ServerConfig>),
    Open(Box<Connection>),
    /// A fatal error happened; every later step repeats it.
    Failed(TlsError),
}

pub struct Session {
    state: State,
    server_name: Option<String>,
    server_side: bool,
    /// No record has come from the peer yet.
    first_record: bool,
    /// The transport has ended.
    eof: bool,
    /// The peer's certificate is verified (not with CERT_NONE).
    verifies: bool,
}

impl Session {
    /// A session of a source with `policy` for a context with `settings`.
    pub fn open(
        policy: &TlsPolicy,
        settings: &Settings,
        options: &Options,
        identity: Option<&Identity>,
        server_name: Option<String>,
    ) -> Result<Session, TlsError> {
        let state = if settings.server_side {
            let config = server_config(policy, settings, options, identity)?;
            State::Accepting(Box::default(), Arc::new(config))
        } else {
            let config = client_config(policy, settings, options, identity, server_name.is_some())?;
            // Without a name to check (allowed only when checking it is
            // off), any syntactically valid name will do.
            let name = match &server_name {
                Some(n) => ServerName::try_from(n.clone()).map_err(|e| {
                    errors::error(
                        ErrorKind::Ssl,
                        "",
                        format!("server_hostname {n:?} is not a host name or an IP address: {e}"),
                    )
                })?,
                None => ServerName::try_from("unnamed.invalid")
                    .map_err(|e| errors::error(ErrorKind::Ssl, "", e.to_string()))?,
            };
            let mut conn = ClientConnection::new(Arc::new(config), name)
                .map_err(|e| errors::error(ErrorKind::Ssl, "", e.to_string()))?;
            conn.set_buffer_limit(Some(SEND_LIMIT));
            State::Open(Box::new(Connection::Client(conn)))
        };
        Ok(Session {
            state,
            server_name,
            server_side: settings.server_side,
            first_record: true,
            eof: false,
            verifies: settings.verify_mode != CERT_NONE,
        })
    }

    fn context(&self) -> Context<'_> {
        Context {
            server_name: self.server_name.as_deref(),
            first_record: self.first_record,
            server_side: self.server_side,
        }
    }

    /// Records a fatal error and hands it back with what the session has
    /// left to send (an alert).
    fn fail(&mut self, mut error: TlsError, outgoing: Vec<u8>) -> TlsError {
        let mut repeated = error.clone();
        repeated.outgoing = Vec::new();
        self.state = State::Failed(repeated);
        error.outgoing = outgoing;
        error
    }

    /// Feeds `incoming`, marks the transport's end with `eof`, queues
    /// `plaintext` (once the handshake is done) and returns up to `want`
    /// bytes of received plaintext with the TLS to send.
    pub fn step(
        &mut self,
        incoming: &[u8],
        eof: bool,
        plaintext: &[u8],
        want: usize,
    ) -> Result<Progress, TlsError> {
        let want = want.min(MAX_WANT);
        let incoming = &incoming[..incoming.len().min(MAX_INCOMING)];
        let mut progress = Progress {
            consumed: 0,
            written: 0,
            plaintext: Vec::new(),
            outgoing: Vec::new(),
            pending: 0,
            handshaking: true,
            peer_closed: false,
            closed: false,
        };
        let mut consumed = self.accept(incoming, &mut progress.outgoing)?;
        let State::Open(conn) = &mut self.state else {
            if let State::Failed(e) = &self.state {
                return Err(e.clone());
            }
            // The peer went away before its ClientHello was complete.
            if eof && consumed >= incoming.len() {
                return Err(self.fail(errors::unexpected_eof(), Vec::new()));
            }
            progress.consumed = consumed as u32;
            return Ok(progress);
        };
        // Feed, decrypt and take plaintext in turns, so that a large
        // incoming chunk is not held up by rustls's plaintext limit.
        let mut failure = None;
        loop {
            if let Err(e) = take_plaintext(conn, &mut progress.plaintext, want) {
                failure = Some(e);
                break;
            }
            if consumed >= incoming.len() {
                break;
            }
            let mut rest = &incoming[consumed..];
            match conn.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(n) => consumed += n,
                // rustls's received plaintext is full: the guest takes it
                // first, and feeds the rest with its next step.
                Err(e) if e.kind() == io::ErrorKind::Other => break,
                Err(e) => {
                    failure = Some(errors::error(ErrorKind::Ssl, "", e.to_string()));
                    break;
                }
            }
            match conn.process_new_packets() {
                Ok(_) => self.first_record = false,
                Err(e) => {
                    failure = Some(errors::from_rustls(
                        &e,
                        &Context {
                            server_name: self.server_name.as_deref(),
                            first_record: self.first_record,
                            server_side: self.server_side,
                        },
                    ));
                    break;
                }
            }
        }
        if failure.is_none() && eof && consumed >= incoming.len() && !self.eof {
            self.eof = true;
            // An empty read tells rustls the transport has ended.
            let _ = conn.read_tls(&mut io::empty());
            if let Err(e) = conn.process_new_packets() {
                failure = Some(errors::from_rustls(
                    &e,
                    &Context {
                        server_name: self.server_name.as_deref(),
                        first_record: self.first_record,
                        server_side: self.server_side,
                    },
                ));
            }
        }
        if failure.is_none() && !plaintext.is_empty() && !conn.is_handshaking() {
            match io::Write::write(&mut conn.writer(), plaintext) {
                Ok(n) => progress.written = n as u32,
                Err(e) => failure = Some(errors::error(ErrorKind::Ssl, "", e.to_string())),
            }
        }
        if failure.is_none()
            && let Err(e) = take_plaintext(conn, &mut progress.plaintext, want)
        {
            failure = Some(e);
        }
        drain_tls(conn, &mut progress.outgoing);
        progress.consumed = consumed as u32;
        if let Some(e) = failure {
            let outgoing = std::mem::take(&mut progress.outgoing);
            return Err(self.fail(e, outgoing));
        }
        let state = conn.process_new_packets().ok();
        progress.pending = state
            .as_ref()
            .map_or(0, |s| s.plaintext_bytes_to_read() as u32);
        progress.peer_closed = state.as_ref().is_some_and(|s| s.peer_has_closed());
        progress.handshaking = conn.is_handshaking();
        // The transport ended in the middle: OpenSSL's ragged EOF, once the
        // plaintext that came before it is taken.
        if self.eof
            && progress.plaintext.is_empty()
            && progress.pending == 0
            && !progress.peer_closed
        {
            return Err(errors::unexpected_eof());
        }
        Ok(progress)
    }

    /// A server reads the ClientHello before its connection exists; once
    /// it has come, the connection is made with the ALPN protocols both
    /// sides know. Returns how much of `incoming` the acceptor took.
    fn accept(&mut self, incoming: &[u8], outgoing: &mut Vec<u8>) -> Result<usize, TlsError> {
        let State::Accepting(acceptor, config) = &mut self.state else {
            return Ok(0);
        };
        let mut consumed = 0;
        while consumed < incoming.len() {
            let mut rest = &incoming[consumed..];
            match acceptor.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(n) => consumed += n,
                Err(e) => {
                    let e = errors::error(ErrorKind::Ssl, "", e.to_string());
                    return Err(self.fail(e, Vec::new()));
                }
            }
            match acceptor.accept() {
                Ok(None) => continue,
                Ok(Some(accepted)) => {
                    let offered: Vec<Vec<u8>> = accepted
                        .client_hello()
                        .alpn()
                        .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
                        .unwrap_or_default();
                    let mut config = (**config).clone();
                    config.alpn_protocols.retain(|p| offered.contains(p));
                    match accepted.into_connection(Arc::new(config)) {
                        Ok(mut conn) => {
                            conn.set_buffer_limit(Some(SEND_LIMIT));
                            self.first_record = false;
                            self.state = State::Open(Box::new(Connection::Server(conn)));
                            return Ok(consumed);
                        }
                        Err((e, mut alert)) => {
                            let _ = alert.write_all(outgoing);
                            let e = errors::from_rustls(&e, &self.context());
                            return Err(self.fail(e, std::mem::take(outgoing)));
                        }
                    }
                }
                Err((e, mut alert)) => {
                    let _ = alert.write_all(outgoing);
                    let e = errors::from_rustls(&e, &self.context());
                    return Err(self.fail(e, std::mem::take(outgoing)));
                }
            }
        }
        Ok(consumed)
    }

    /// Queues close_notify; returns what is left to send.
    pub fn close(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let State::Open(conn) = &mut self.state {
            conn.send_close_notify();
            drain_tls(conn, &mut out);
        }
        out
    }

    /// The session's facts, once the handshake is done.
    pub fn info(&self) -> Option<SessionInfo> {
        let State::Open(conn) = &self.state else {
            return None;
        };
        if conn.is_handshaking() {
            return None;
        }
        let suite = conn.negotiated_cipher_suite()?;
        let (cipher, bits) = cipher_name(suite.suite());
        Some(SessionInfo {
            version: match conn.protocol_version() {
                Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".into(),
                Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".into(),
                Some(v) => format!("{v:?}"),
                None => String::new(),
            },
            cipher,
            cipher_bits: bits,
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            peer_chain: conn
                .peer_certificates()
                .map(|c| c.iter().map(|d| d.as_ref().to_vec()).collect())
                .unwrap_or_default(),
            verified: self.verifies && conn.peer_certificates().is_some(),
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
        })
    }
}

/// Moves received plaintext into `out`, up to `want` bytes in all. A
/// transport that ended without close_notify is left for the caller to
/// report once the plaintext before it is taken.
fn take_plaintext(conn: &mut Connection, out: &mut Vec<u8>, want: usize) -> Result<(), TlsError> {
    while out.len() < want {
        let start = out.len();
        let room = (want - start).min(64 * 1024);
        out.resize(start + room, 0);
        match conn.reader().read(&mut out[start..]) {
            Ok(0) => {
                out.truncate(start);
                return Ok(());
            }
            Ok(n) => out.truncate(start + n),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::UnexpectedEof =>
            {
                out.truncate(start);
                return Ok(());
            }
            Err(e) => {
                out.truncate(start);
                return Err(errors::error(ErrorKind::Ssl, "", e.to_string()));
            }
        }
    }
    Ok(())
}

/// Everything the session wants to send.
fn drain_tls(conn: &mut Connection, out: &mut Vec<u8>) {
    while conn.wants_write() {
        match conn.write_tls(out) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// The protocol versions a context allows, 0 meaning no bound.
fn versions(settings: &Settings) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let min = if settings.min_version == 0 {
        0x0303
    } else {
        settings.min_version.max(0x0303)
    };
    let max = if settings.max_version == 0 {
        0x0304
    } else {
        settings.max_version
    };
    let mut out = Vec::new();
    if min <= 0x0304 && max >= 0x0304 {
        out.push(&rustls::version::TLS13);
    }
    if min <= 0x0303 && max >= 0x0303 {
        out.push(&rustls::version::TLS12);
    }
    if out.is_empty() {
        return Err(errors::error(
            ErrorKind::Ssl,
            "NO_PROTOCOLS_AVAILABLE",
            "no protocols available",
        ));
    }
    Ok(out)
}

/// The CAs a context trusts: the policy's, and the script's own where the
/// policy lets it add them.
fn roots_with_script_ca(
    base: Arc<rustls::RootCertStore>,
    policy: &TlsPolicy,
    options: &Options,
) -> Arc<rustls::RootCertStore> {
    if !policy.script_ca || options.script_ca.is_empty() {
        return base;
    }
    let mut roots = (*base).clone();
    roots.add_parsable_certificates(
        options
            .script_ca
            .iter()
            .map(|d| CertificateDer::from(d.clone())),
    );
    Arc::new(roots)
}

fn client_config(
    policy: &TlsPolicy,
    settings: &Settings,
    options: &Options,
    identity: Option<&Identity>,
    has_name: bool,
) -> Result<ClientConfig, TlsError> {
    let insecure = settings.verify_mode == CERT_NONE || !settings.check_hostname || !has_name;
    if insecure && !policy.allow_insecure {
        let what = if settings.verify_mode == CERT_NONE {
            "verify_mode = CERT_NONE"
        } else if !settings.check_hostname {
            "check_hostname = False"
        } else {
            "no server_hostname to check the certificate against"
        };
        return Err(errors::denied(format!(
            "certificate verification cannot be turned off ({what}) in this source: \
             its policy does not allow it (policy key `tls.allow_insecure`)"
        )));
    }
    let provider = trust::provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(settings)?)
        .map_err(|e| errors::error(ErrorKind::Ssl, "", e.to_string()))?;
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> =
        if settings.verify_mode == CERT_NONE {
            Arc::new(Unverified(provider.signature_verification_algorithms))
        } else {
            let roots = roots_with_script_ca(policy.client_roots(), policy, options);
            let webpki: Arc<dyn rustls::client::danger::ServerCertVerifier> = if roots.is_empty() {
                // Nobody to trust: every certificate fails as one from an
                // unknown CA would.
                Arc::new(trust::NoAnchors(provider.signature_verification_algorithms))
            } else {
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| errors::error(ErrorKind::Ssl, "", e.to_string()))?
            };
            if settings.check_hostname && has_name {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(i) => builder.with_client_cert_resolver(Arc::new(Present(i.key.clone()))),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = options.alpn.clone();
    if !settings.tickets {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(config)
}

fn server_config(
    policy: &TlsPolicy,
    settings: &Settings,
    options: &Options,
    identity: Option<&Identity>,
) -> Result<ServerConfig, TlsError> {
    let Some(identity) = identity else {
        return Err(errors::error(
            ErrorKind::Ssl,
            "NO_SHARED_CIPHER",
            "no shared cipher (the server context has no certificate: call load_cert_chain())",
        ));
    };
    let provider = trust::provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(settings)?)
        .map_err(|e| errors::error(ErrorKind::Ssl, "", e.to_string()))?;
    let builder = if settings.verify_mode == CERT_NONE {
        builder.with_no_client_auth()
    } else {
        let roots = roots_with_script_ca(policy.server_roots(), policy, options);
        if roots.is_empty() {
            return Err(errors::denied(
                "client certificates cannot be verified in this source: \
                 its policy names no CA for them (policy key `tls.client_ca`)",
            ));
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
        let verifier = if settings.verify_mode == CERT_OPTIONAL {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        let verifier = verifier
            .build()
            .map_err(|e| errors::error(ErrorKind::Ssl, "", e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder.with_cert_resolver(Arc::new(Present(identity.key.clone())));
    config.alpn_protocols = options.alpn.clone();
    if !settings.tickets {
        config.send_tls13_tickets = 0;
    }
    Ok(config)
}

/// An identity that is always the one presented.
#[derive(Debug)]
struct Present(Arc<CertifiedKey>);

impl ResolvesClientCert for Present {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl rustls::server::ResolvesServerCert for Present {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A cipher suite by its OpenSSL name, and its secret bits.
fn cipher_name(suite: rustls::CipherSuite) -> (String, u32) {
    use rustls::CipherSuite as C;
    let (name, bits) = match suite {
        C::TLS13_AES_256_GCM_SHA384 => ("TLS_AES_256_GCM_SHA384", 256),
        C::TLS13_AES_128_GCM_SHA256 => ("TLS_AES_128_GCM_SHA256", 128),
        C::TLS13_CHACHA20_POLY1305_SHA256 => ("TLS_CHACHA20_POLY1305_SHA256", 256),
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-ECDSA-AES256-GCM-SHA384", 256),
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-ECDSA-AES128-GCM-SHA256", 128),
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => ("ECDHE-ECDSA-CHACHA20-POLY1305", 256),
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-RSA-AES256-GCM-SHA384", 256),
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-RSA-AES128-GCM-SHA256", 128),
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => ("ECDHE-RSA-CHACHA20-POLY1305", 256),
        other => return (format!("{other:?}"), 0),
    };
    (name.to_owned(), bits)
}
