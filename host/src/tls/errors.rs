//! rustls's errors in the terms of OpenSSL, which Python's ssl module and
//! the libraries above it know: the reason mnemonic (`WRONG_VERSION_NUMBER`,
//! `CERTIFICATE_VERIFY_FAILED`, ...), its text, and for a certificate that
//! does not verify, OpenSSL's verify code and message.

use rustls::{AlertDescription, CertificateError, Error};

use crate::bindings::sandlog::guest::tls::{ErrorKind, TlsError};

/// What the error is about, beyond rustls's error itself.
pub struct Context<'a> {
    /// The name the peer's certificate was checked against.
    pub server_name: Option<&'a str>,
    /// No TLS record has been read from the peer yet.
    pub first_record: bool,
    pub server_side: bool,
}

/// An error of kind `kind` with OpenSSL's reason and text.
pub fn error(kind: ErrorKind, reason: &str, message: impl Into<String>) -> TlsError {
    TlsError {
        kind,
        reason: reason.to_owned(),
        message: message.into(),
        verify_code: 0,
        verify_message: String::new(),
        outgoing: Vec::new(),
    }
}

/// A refusal by the source's policy.
pub fn denied(message: impl Into<String>) -> TlsError {
    error(ErrorKind::Denied, "", message)
}

/// The ragged end of a connection: the transport closed without
/// close_notify.
pub fn unexpected_eof() -> TlsError {
    error(
        ErrorKind::Eof,
        "UNEXPECTED_EOF_WHILE_READING",
        "EOF occurred in violation of protocol",
    )
}

/// A reason and its OpenSSL text, which is the mnemonic in lower case.
fn ssl(reason: &str) -> TlsError {
    error(
        ErrorKind::Ssl,
        reason,
        reason.to_ascii_lowercase().replace('_', " "),
    )
}

/// rustls's error, as OpenSSL would have reported it.
pub fn from_rustls(e: &Error, at: &Context<'_>) -> TlsError {
    match e {
        Error::InvalidCertificate(c) => certificate(c, at),
        Error::AlertReceived(alert) => alert_received(*alert),
        // A peer that does not speak TLS: OpenSSL's words for it, which
        // urllib3 and users look for.
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } if at.first_record => {
            if at.server_side {
                ssl("HTTP_REQUEST")
            } else {
                ssl("WRONG_VERSION_NUMBER")
            }
        }
        Error::NoCertificatesPresented => ssl("PEER_DID_NOT_RETURN_A_CERTIFICATE"),
        Error::DecryptError => ssl("DECRYPTION_FAILED_OR_BAD_RECORD_MAC"),
        Error::PeerSentOversizedRecord => ssl("PACKET_LENGTH_TOO_LONG"),
        Error::NoApplicationProtocol => ssl("NO_APPLICATION_PROTOCOL"),
        Error::PeerIncompatible(p) => {
            let text = format!("{p:?}");
            if text.contains("Version") {
                ssl(if at.server_side {
                    "UNSUPPORTED_PROTOCOL"
                } else {
                    "TLSV1_ALERT_PROTOCOL_VERSION"
                })
            } else if text.contains("Cipher") {
                ssl("NO_SHARED_CIPHER")
            } else {
                error(
                    ErrorKind::Ssl,
                    "SSL_HANDSHAKE_FAILURE",
                    format!("ssl handshake failure: {e}"),
                )
            }
        }
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. } => error(
            ErrorKind::Ssl,
            "UNEXPECTED_MESSAGE",
            format!("unexpected message: {e}"),
        ),
        Error::PeerMisbehaved(_) => error(
            ErrorKind::Ssl,
            "SSL_HANDSHAKE_FAILURE",
            format!("ssl handshake failure: {e}"),
        ),
        other => error(ErrorKind::Ssl, "", other.to_string()),
    }
}

/// A certificate of the peer that did not verify: OpenSSL's verify code
/// and message.
fn certificate(c: &CertificateError, at: &Context<'_>) -> TlsError {
    let name = at.server_name.unwrap_or_default();
    let is_ip = name.parse::<std::net::IpAddr>().is_ok();
    let (code, message): (i32, String) = match c {
        CertificateError::UnknownIssuer => (20, "unable to get local issuer certificate".into()),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            (10, "certificate has expired".into())
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            (9, "certificate is not yet valid".into())
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            if is_ip =>
        {
            (
                64,
                format!("IP address mismatch, certificate is not valid for '{name}'."),
            )
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            62,
            format!("Hostname mismatch, certificate is not valid for '{name}'."),
        ),
        CertificateError::BadSignature => (7, "certificate signature failure".into()),
        CertificateError::Revoked => (23, "certificate revoked".into()),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            (26, "unsuitable certificate purpose".into())
        }
        CertificateError::UnknownRevocationStatus => (3, "unable to get certificate CRL".into()),
        CertificateError::ApplicationVerificationFailure => (28, "certificate rejected".into()),
        other => (79, format!("invalid certificate ({other:?})")),
    };
    TlsError {
        kind: ErrorKind::CertVerify,
        reason: "CERTIFICATE_VERIFY_FAILED".into(),
        message: format!("certificate verify failed: {message}"),
        verify_code: code,
        verify_message: message,
        outgoing: Vec::new(),
    }
}

/// An alert from the peer: OpenSSL's mnemonic is the alert's name behind
/// the protocol version that introduced it.
fn alert_received(alert: AlertDescription) -> TlsError {
    use AlertDescription as A;
    let reason = match alert {
        A::UnexpectedMessage => "SSLV3_ALERT_UNEXPECTED_MESSAGE",
        A::BadRecordMac => "SSLV3_ALERT_BAD_RECORD_MAC",
        A::DecryptionFailed => "TLSV1_ALERT_DECRYPTION_FAILED",
        A::RecordOverflow => "TLSV1_ALERT_RECORD_OVERFLOW",
        A::DecompressionFailure => "SSLV3_ALERT_DECOMPRESSION_FAILURE",
        A::HandshakeFailure => "SSLV3_ALERT_HANDSHAKE_FAILURE",
        A::NoCertificate => "SSLV3_ALERT_NO_CERTIFICATE",
        A::BadCertificate => "SSLV3_ALERT_BAD_CERTIFICATE",
        A::UnsupportedCertificate => "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        A::CertificateRevoked => "SSLV3_ALERT_CERTIFICATE_REVOKED",
        A::CertificateExpired => "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        A::CertificateUnknown => "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        A::IllegalParameter => "SSLV3_ALERT_ILLEGAL_PARAMETER",
        A::UnknownCA => "TLSV1_ALERT_UNKNOWN_CA",
        A::AccessDenied => "TLSV1_ALERT_ACCESS_DENIED",
        A::DecodeError => "TLSV1_ALERT_DECODE_ERROR",
        A::DecryptError => "TLSV1_ALERT_DECRYPT_ERROR",
        A::ExportRestriction => "TLSV1_ALERT_EXPORT_RESTRICTION",
        A::ProtocolVersion => "TLSV1_ALERT_PROTOCOL_VERSION",
        A::InsufficientSecurity => "TLSV1_ALERT_INSUFFICIENT_SECURITY",
        A::InternalError => "TLSV1_ALERT_INTERNAL_ERROR",
        A::InappropriateFallback => "TLSV1_ALERT_INAPPROPRIATE_FALLBACK",
        A::UserCanceled => "TLSV1_ALERT_USER_CANCELLED",
        A::NoRenegotiation => "TLSV1_ALERT_NO_RENEGOTIATION",
        A::MissingExtension => "TLSV13_ALERT_MISSING_EXTENSION",
        A::UnsupportedExtension => "TLSV1_UNSUPPORTED_EXTENSION",
        A::CertificateUnobtainable => "TLSV1_CERTIFICATE_UNOBTAINABLE",
        A::UnrecognisedName => "TLSV1_UNRECOGNIZED_NAME",
        A::BadCertificateStatusResponse => "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE",
        A::BadCertificateHashValue => "TLSV1_BAD_CERTIFICATE_HASH_VALUE",
        A::CertificateRequired => "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        A::NoApplicationProtocol => "TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
        A::UnknownPSKIdentity => "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY",
        _ => "",
    };
    if reason.is_empty() {
        return error(ErrorKind::Ssl, "", format!("tlsv1 alert {alert:?}"));
    }
    ssl(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(name: &str) -> Context<'_> {
        Context {
            server_name: Some(name),
            first_record: false,
            server_side: false,
        }
    }

    #[test]
    fn verification_failures_carry_openssls_codes() {
        let e = from_rustls(
            &Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &at("a.test"),
        );
        assert_eq!((e.kind, e.verify_code), (ErrorKind::CertVerify, 20));
        assert_eq!(
            e.message,
            "certificate verify failed: unable to get local issuer certificate"
        );
        let e = from_rustls(
            &Error::InvalidCertificate(CertificateError::NotValidForName),
            &at("wrong.test"),
        );
        assert_eq!(e.verify_code, 62);
        assert_eq!(
            e.verify_message,
            "Hostname mismatch, certificate is not valid for 'wrong.test'."
        );
        let e = from_rustls(
            &Error::InvalidCertificate(CertificateError::NotValidForName),
            &at("127.0.0.2"),
        );
        assert_eq!(e.verify_code, 64);
    }

    #[test]
    fn alerts_and_plain_peers_read_as_in_openssl() {
        let e = from_rustls(&Error::AlertReceived(AlertDescription::UnknownCA), &at("x"));
        assert_eq!(e.reason, "TLSV1_ALERT_UNKNOWN_CA");
        assert_eq!(e.message, "tlsv1 alert unknown ca");
        let first = Context {
            server_name: Some("x"),
            first_record: true,
            server_side: false,
        };
        let e = from_rustls(
            &Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
            &first,
        );
        assert_eq!(e.reason, "WRONG_VERSION_NUMBER");
        assert_eq!(e.message, "wrong version number");
    }
}
