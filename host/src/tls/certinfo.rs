//! A certificate's fields as Python's `getpeercert()` shows them (the
//! shape OpenSSL's `_decode_certificate` gives): names as tuples of
//! `(long name, value)` by RDN, the serial number in upper-case hex, the
//! dates as OpenSSL prints them, subject alternative names, OCSP and CA
//! issuer addresses, CRL distribution points.

use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use crate::bindings::sandlog::guest::tls::CertificateInfo;

/// OpenSSL's long names of the attributes that appear in names.
const LONG_NAMES: [(&str, &str); 26] = [
    ("2.5.4.3", "commonName"),
    ("2.5.4.4", "surname"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "countryName"),
    ("2.5.4.7", "localityName"),
    ("2.5.4.8", "stateOrProvinceName"),
    ("2.5.4.9", "streetAddress"),
    ("2.5.4.10", "organizationName"),
    ("2.5.4.11", "organizationalUnitName"),
    ("2.5.4.12", "title"),
    ("2.5.4.13", "description"),
    ("2.5.4.15", "businessCategory"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.41", "name"),
    ("2.5.4.42", "givenName"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.45", "x500UniqueIdentifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("2.5.4.97", "organizationIdentifier"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("0.9.2342.19200300.100.1.25", "domainComponent"),
    ("0.9.2342.19200300.100.1.1", "userId"),
    ("1.3.6.1.4.1.311.60.2.1.1", "jurisdictionLocalityName"),
    ("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionCountryName"),
];

const OCSP: &str = "1.3.6.1.5.5.7.48.1";
const CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";

/// Decodes a DER certificate.
pub fn decode(der: &[u8]) -> Result<CertificateInfo, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("not a DER certificate: {e}"))?;
    let mut info = CertificateInfo {
        subject: name(cert.subject()),
        issuer: name(cert.issuer()),
        version: cert.version().0 + 1,
        serial_number: serial(cert.raw_serial()),
        not_before: time(cert.validity().not_before.timestamp()),
        not_after: time(cert.validity().not_after.timestamp()),
        subject_alt_name: Vec::new(),
        has_subject_alt_name: false,
        ocsp: Vec::new(),
        ca_issuers: Vec::new(),
        crl_distribution_points: Vec::new(),
        is_ca: false,
    };
    for ext in cert.iter_extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                info.has_subject_alt_name = true;
                info.subject_alt_name
                    .extend(san.general_names.iter().map(general_name));
            }
            ParsedExtension::BasicConstraints(bc) => info.is_ca = bc.ca,
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for d in &aia.accessdescs {
                    if let GeneralName::URI(uri) = d.access_location {
                        match d.access_method.to_id_string().as_str() {
                            OCSP => info.ocsp.push(uri.to_owned()),
                            CA_ISSUERS => info.ca_issuers.push(uri.to_owned()),
                            _ => {}
                        }
                    }
                }
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for p in &points.points {
                    if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                        for n in names {
                            if let GeneralName::URI(uri) = n {
                                info.crl_distribution_points.push((*uri).to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // OpenSSL's X509_check_ca counts a self-signed version 1 certificate as
    // a CA: such roots predate basicConstraints and are still in use.
    if info.version == 1 && info.subject == info.issuer {
        info.is_ca = true;
    }
    Ok(info)
}

fn name(n: &X509Name<'_>) -> Vec<Vec<(String, String)>> {
    n.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    let long = LONG_NAMES
                        .iter()
                        .find(|(o, _)| *o == oid)
                        .map_or(oid.clone(), |(_, l)| (*l).to_owned());
                    let value = match attr.as_str() {
                        Ok(s) => s.to_owned(),
                        Err(_) => String::from_utf8_lossy(attr.attr_value().data).into_owned(),
                    };
                    (long, value)
                })
                .collect()
        })
        .collect()
}

/// The magnitude in upper-case hex, two digits a byte, without the sign
/// byte DER adds.
fn serial(raw: &[u8]) -> String {
    let raw = match raw {
        [0, rest @ ..] if !rest.is_empty() => rest,
        r => r,
    };
    raw.iter().map(|b| format!("{b:02X}")).collect()
}

/// A time as OpenSSL prints it: `Mar  6 04:06:06 2029 GMT`.
fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%b %e %H:%M:%S %Y GMT").to_string())
        .unwrap_or_default()
}

fn general_name(n: &GeneralName<'_>) -> (String, String) {
    let (kind, value) = match n {
        GeneralName::DNSName(s) => ("DNS", (*s).to_owned()),
        GeneralName::RFC822Name(s) => ("email", (*s).to_owned()),
        GeneralName::URI(s) => ("URI", (*s).to_owned()),
        GeneralName::IPAddress(b) => ("IP Address", ip(b)),
        GeneralName::RegisteredID(oid) => ("Registered ID", oid.to_id_string()),
        GeneralName::DirectoryName(_) => ("DirName", "<unsupported>".to_owned()),
        GeneralName::OtherName(..) => ("othername", "<unsupported>".to_owned()),
        GeneralName::X400Address(_) => ("X400Name", "<unsupported>".to_owned()),
        GeneralName::EDIPartyName(_) => ("EdiPartyName", "<unsupported>".to_owned()),
        GeneralName::Invalid(..) => ("invalid", "<invalid>".to_owned()),
    };
    (kind.to_owned(), value)
}

/// An IP address as OpenSSL prints it: dotted for IPv4, eight groups of
/// upper-case hex without zero compression for IPv6.
fn ip(b: &[u8]) -> String {
    match b.len() {
        4 => format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]),
        16 => b
            .chunks(2)
            .map(|g| format!("{:X}", u16::from_be_bytes([g[0], g[1]])))
            .collect::<Vec<_>>()
            .join(":"),
        _ => "<invalid>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_formats() {
        assert_eq!(serial(&[0x00, 0x9f, 0x01]), "9F01");
        assert_eq!(serial(&[0x0a, 0xb1]), "0AB1");
        assert_eq!(serial(&[0x02]), "02");
        assert_eq!(time(1_700_000_000), "Nov 14 22:13:20 2023 GMT");
        assert_eq!(time(1_704_067_200), "Jan  1 00:00:00 2024 GMT");
        assert_eq!(ip(&[127, 0, 0, 1]), "127.0.0.1");
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip(&v6), "0:0:0:0:0:0:0:1");
    }

    #[test]
    fn a_generated_certificate_decodes() {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Org");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = decode(cert.der()).unwrap();
        assert_eq!(info.version, 3);
        let mut subject: Vec<(String, String)> = info.subject.into_iter().flatten().collect();
        subject.sort();
        assert_eq!(
            subject,
            vec![
                ("commonName".to_owned(), "localhost".to_owned()),
                ("organizationName".to_owned(), "Org".to_owned())
            ]
        );
        assert!(info.has_subject_alt_name);
        assert_eq!(
            info.subject_alt_name,
            vec![
                ("DNS".to_owned(), "localhost".to_owned()),
                ("IP Address".to_owned(), "127.0.0.1".to_owned())
            ]
        );
        assert!(info.not_after.ends_with(" GMT"));
    }

    #[test]
    fn a_self_signed_version_1_certificate_is_a_ca() {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let der =
            CertificateDer::from_pem_slice(include_bytes!("testdata/v1-self-signed.pem")).unwrap();
        let info = decode(&der).unwrap();
        assert_eq!(info.version, 1);
        assert!(info.is_ca);
    }
}
