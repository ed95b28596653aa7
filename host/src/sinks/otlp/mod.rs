//! OTLP logs (`type = "otlp"`): records sent to an OpenTelemetry receiver
//! over OTLP/HTTP (protobuf, `POST {endpoint}/v1/logs`) or OTLP/gRPC
//! (`LogsService/Export`), one resource per source.
//!
//! Messages arrive rendered as `LogRecord`s ([`crate::pipeline::render::otlp`]);
//! [`request`] wraps a batch of chunks in their sources' resources,
//! [`transport`] sends it and sorts the answer, [`writer`] batches, retries
//! and acks. This file holds the config, raw and checked.

pub mod request;
pub mod transport;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;

pub use self::writer::OtlpWriter;

/// `[[destination]] type = "otlp"` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOtlp {
    pub name: Option<String>,
    pub endpoint: String,
    pub protocol: Option<Protocol>,
    pub service_name: Option<String>,
    #[serde(default)]
    pub resource_attributes: BTreeMap<String, Attribute>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub compression: Option<Compression>,
    pub max_records: Option<usize>,
    pub max_bytes: Option<bytesize::ByteSize>,
    #[serde(default, with = "humantime_serde")]
    pub max_delay: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub shutdown_timeout: Option<Duration>,
    pub ca_file: Option<PathBuf>,
}

/// How records travel to the receiver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies.
    #[default]
    Http,
    /// OTLP/gRPC.
    Grpc,
}

/// How request bodies are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
}

/// A resource attribute's value as written: TOML strings, integers,
/// floats and booleans keep their type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Attribute {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

/// A checked OTLP destination.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpSpec {
    /// `http://` or `https://`, host and port, and a path prefix if any.
    pub endpoint: hyper::Uri,
    /// Default: HTTP.
    pub protocol: Protocol,
    /// The resource's `service.name`. Default: `sandlog`.
    pub service_name: String,
    /// Set on every source's resource, after `service.name`.
    pub resource_attributes: BTreeMap<String, Attribute>,
    /// Sent with every request, their values read when the config is.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub compression: Compression,
    /// A request holds at most this many records. Default: 1000.
    pub max_records: usize,
    /// A request's body holds at most this many bytes (before
    /// compression). Default: 4 MiB, gRPC's usual message limit.
    pub max_bytes: usize,
    /// How long the first chunk of a request waits for more. Default:
    /// 200 ms.
    pub max_delay: Duration,
    /// How long one request may take. Default: 10 s.
    pub timeout: Duration,
    /// How long, once sandlog is stopping, the last requests have to be
    /// accepted. Default: 5 s.
    pub shutdown_timeout: Duration,
    /// The CA certificates (PEM) trusted for `https`; default: the host's
    /// system store.
    pub ca_file: Option<PathBuf>,
}

impl OtlpSpec {
    pub fn from_raw(raw: RawOtlp, base: &Path, at: &str) -> Result<OtlpSpec> {
        let endpoint = endpoint(&raw.endpoint, at)?;
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            let key = format!("headers.{name:?}");
            let header = HeaderName::from_bytes(name.as_bytes())
                .with_context(|| format!("{at}: key `{key}`: not an HTTP header name"))?;
            let text = header_value(value, base, at, &key)?;
            let mut value = HeaderValue::from_str(&text)
                .with_context(|| format!("{at}: key `{key}`: not a valid header value"))?;
            value.set_sensitive(true);
            headers.push((header, value));
        }
        for name in raw.resource_attributes.keys() {
            if let Some(own) = request::OWN_ATTRIBUTES.iter().find(|o| *o == name) {
                bail!(
                    "{at}: key `resource_attributes.{name:?}`: sandlog sets {own} itself (the service's name with `service_name`)"
                );
            }
        }
        let max_records = raw.max_records.unwrap_or(1000);
        if max_records == 0 {
            bail!("{at}: key `max_records` must be at least 1");
        }
        let max_bytes = raw.max_bytes.map_or(4 * 1024 * 1024, |b| b.as_u64());
        if !(1024..=256 * 1024 * 1024).contains(&max_bytes) {
            bail!("{at}: key `max_bytes` must be between 1 KiB and 256 MiB");
        }
        let duration = |d: Option<Duration>, default: Duration, key: &str| {
            crate::units::duration(d.unwrap_or(default), at, key)
        };
        let timeout = duration(raw.timeout, Duration::from_secs(10), "timeout")?;
        if timeout.is_zero() {
            bail!("{at}: key `timeout` must be longer than 0");
        }
        let ca_file = raw.ca_file.map(|p| base.join(p));
        if let Some(path) = &ca_file {
            transport::read_ca_file(path).with_context(|| format!("{at}: key `ca_file`"))?;
        }
        Ok(OtlpSpec {
            endpoint,
            protocol: raw.protocol.unwrap_or_default(),
            service_name: raw.service_name.unwrap_or_else(|| "sandlog".into()),
            resource_attributes: raw.resource_attributes,
            headers,
            compression: raw.compression.unwrap_or_default(),
            max_records,
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            max_delay: duration(raw.max_delay, Duration::from_millis(200), "max_delay")?,
            timeout,
            shutdown_timeout: duration(
                raw.shutdown_timeout,
                Duration::from_secs(5),
                "shutdown_timeout",
            )?,
            ca_file,
        })
    }

    /// A name for logs and errors.
    pub fn describe(&self) -> String {
        let protocol = match self.protocol {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
        };
        format!("otlp {protocol} {}", self.endpoint)
    }
}

/// Checks an endpoint: `http` or `https`, a host, no query.
fn endpoint(text: &str, at: &str) -> Result<hyper::Uri> {
    let uri: hyper::Uri = text.parse().with_context(|| {
        format!(
            "{at}: key `endpoint`: {text:?} is not a URL (http://HOST:PORT or https://HOST:PORT)"
        )
    })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => bail!("{at}: key `endpoint`: {text:?} must start with http:// or https://"),
    }
    if uri.host().is_none_or(str::is_empty) {
        bail!("{at}: key `endpoint`: {text:?} names no host");
    }
    if uri.query().is_some() {
        bail!("{at}: key `endpoint`: {text:?} must not have a query");
    }
    Ok(uri)
}

/// The longest header value read from a file.
const MAX_HEADER_FILE: u64 = 16 * 1024;

/// A header's value: `env:NAME` reads an environment variable, `file:PATH`
/// a file (its content without the trailing newline), anything else is
/// the value itself. Read once, when the config is.
fn header_value(value: &str, base: &Path, at: &str, key: &str) -> Result<String> {
    if let Some(name) = value.strip_prefix("env:") {
        return std::env::var(name)
            .with_context(|| format!("{at}: key `{key}`: environment variable {name} is not set"));
    }
    if let Some(path) = value.strip_prefix("file:") {
        use std::io::Read as _;
        let path = base.join(path);
        let reading = || format!("{at}: key `{key}`: reading {}", path.display());
        let mut text = String::new();
        // A header is small: a path to something endless (a device, a
        // pipe) must not hang or fill memory.
        std::fs::File::open(&path)
            .with_context(reading)?
            .take(MAX_HEADER_FILE + 1)
            .read_to_string(&mut text)
            .with_context(reading)?;
        if text.len() as u64 > MAX_HEADER_FILE {
            bail!("{}: longer than {MAX_HEADER_FILE} bytes", reading());
        }
        return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Result<OtlpSpec> {
        let text = format!("endpoint = \"http://127.0.0.1:4318\"\n{extra}");
        let raw: RawOtlp = toml::from_str(&text)?;
        OtlpSpec::from_raw(raw, Path::new("/etc/sandlog"), "f.toml: destination #1")
    }

    #[test]
    fn defaults() -> Result<()> {
        let s = spec("")?;
        assert_eq!(s.protocol, Protocol::Http);
        assert_eq!(s.service_name, "sandlog");
        assert_eq!(s.max_records, 1000);
        assert_eq!(s.max_bytes, 4 * 1024 * 1024);
        assert_eq!(s.compression, Compression::None);
        assert!(s.headers.is_empty());
        Ok(())
    }

    #[test]
    fn endpoints_are_checked() {
        for bad in ["127.0.0.1:4318", "ftp://x", "http://", "http://h:1/?a=b"] {
            let raw: RawOtlp = toml::from_str(&format!("endpoint = {bad:?}")).unwrap();
            let e = OtlpSpec::from_raw(raw, Path::new("/"), "f")
                .unwrap_err()
                .to_string();
            assert!(e.contains("key `endpoint`"), "{bad}: {e}");
        }
    }

    #[test]
    fn header_values_come_from_env_and_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("key"), "secret\n")?;
        let raw: RawOtlp = toml::from_str(
            "endpoint = \"http://h:1\"\nheaders = { x-key = \"file:key\", x-path = \"env:PATH\", x-plain = \"v\" }",
        )?;
        let s = OtlpSpec::from_raw(raw, dir.path(), "f")?;
        let get = |n: &str| {
            s.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap_or_default().to_owned())
        };
        assert_eq!(get("x-key").as_deref(), Some("secret"));
        assert_eq!(get("x-path"), std::env::var("PATH").ok());
        assert_eq!(get("x-plain").as_deref(), Some("v"));
        let e = spec("headers = { x-k = \"env:SANDLOG_NO_SUCH_VARIABLE\" }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `headers.\"x-k\"`"), "{e}");
        let raw: RawOtlp =
            toml::from_str("endpoint = \"http://h:1\"\nheaders = { x-k = \"file:/dev/zero\" }")?;
        let e = OtlpSpec::from_raw(raw, dir.path(), "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("longer than"), "{e}");
        Ok(())
    }
}
