//! One export request on the wire, and what the receiver's answer means
//! for it: accepted, worth retrying (OTLP's retryable answers: HTTP 429,
//! 502, 503, 504; gRPC UNAVAILABLE, RESOURCE_EXHAUSTED and the other
//! transient codes; no answer at all), or refused for good. OTLP/HTTP runs
//! on hyper's client, OTLP/gRPC on tonic; both connect through
//! hyper-rustls, trusting the host's system store or `ca_file`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::{Buf, BufMut, Bytes};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use prost::Message;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::{Compression, OtlpSpec, Protocol};

/// What became of one request.
#[derive(Debug)]
pub enum Outcome {
    /// The receiver took it; it may still have refused some records
    /// (OTLP's partial success), with its message.
    Accepted { rejected: i64, message: String },
    /// Worth sending again, after `after` if the receiver said when.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Refused for good: sending it again would be refused again.
    Rejected { reason: String },
}

/// The longest wait a receiver's Retry-After is followed for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How much of an answer's body is read for its message.
const MAX_ANSWER: usize = 64 * 1024;

/// The gRPC method of OTLP logs.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// A connection (pool) to the receiver.
pub enum Client {
    Http(HttpClient),
    Grpc(GrpcClient),
}

impl Client {
    /// Sets up the client; connects on the first request.
    pub fn new(spec: &OtlpSpec) -> Result<Client> {
        let tls = tls_config(spec.ca_file.as_deref())?;
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        // Without it a request that spans several segments waits for the
        // peer's delayed ACK (40 ms a request with gRPC's frames).
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(spec.timeout));
        Ok(match spec.protocol {
            Protocol::Http => {
                let connector = builder.enable_http1().wrap_connector(tcp);
                let path = spec.endpoint.path().trim_end_matches('/');
                let uri: Uri = format!(
                    "{}://{}{path}/v1/logs",
                    spec.endpoint.scheme_str().unwrap_or("http"),
                    spec.endpoint.authority().map_or("", |a| a.as_str())
                )
                .parse()
                .context("building the request URL")?;
                Client::Http(HttpClient {
                    client: HyperClient::builder(TokioExecutor::new()).build(connector),
                    uri,
                    headers: spec.headers.clone(),
                    gzip: spec.compression == Compression::Gzip,
                    timeout: spec.timeout,
                })
            }
            Protocol::Grpc => {
                let connector = builder.enable_http2().wrap_connector(tcp);
                let channel = Endpoint::from_shared(spec.endpoint.to_string())
                    .context("the endpoint as a gRPC channel")?
                    .connect_timeout(spec.timeout)
                    .timeout(spec.timeout)
                    .connect_with_connector_lazy(connector);
                let mut grpc = tonic::client::Grpc::new(channel);
                if spec.compression == Compression::Gzip {
                    grpc = grpc.send_compressed(CompressionEncoding::Gzip);
                }
                grpc = grpc.accept_compressed(CompressionEncoding::Gzip);
                let mut metadata = MetadataMap::new();
                for (name, value) in &spec.headers {
                    let key = MetadataKey::from_bytes(name.as_str().as_bytes())
                        .with_context(|| format!("header {name} as gRPC metadata"))?;
                    let value = MetadataValue::try_from(value.as_bytes())
                        .with_context(|| format!("header {name}'s value as gRPC metadata"))?;
                    metadata.insert(key, value);
                }
                Client::Grpc(GrpcClient {
                    grpc,
                    metadata,
                    timeout: spec.timeout,
                })
            }
        })
    }

    /// Sends one request body (an encoded `ExportLogsServiceRequest`).
    pub async fn send(&mut self, body: Bytes) -> Outcome {
        match self {
            Client::Http(c) => c.send(body).await,
            Client::Grpc(c) => c.send(body).await,
        }
    }
}

/// The CA certificates of `path` (PEM); an error if it holds none.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(certs)
}

fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig> {
    let certs = match ca_file {
        Some(path) => read_ca_file(path)?,
        None => crate::tls::trust::system().certs().to_vec(),
    };
    Ok(
        rustls::ClientConfig::builder_with_provider(crate::tls::trust::provider())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(crate::tls::trust::root_store(&certs))
            .with_no_client_auth(),
    )
}

/// OTLP/HTTP: `POST /v1/logs` with a protobuf body.
pub struct HttpClient {
    client: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    gzip: bool,
    timeout: Duration,
}

impl HttpClient {
    async fn send(&mut self, body: Bytes) -> Outcome {
        let body = if self.gzip {
            match gzip(&body) {
                Ok(b) => b,
                Err(e) => {
                    return Outcome::Rejected {
                        reason: format!("compressing the request: {e}"),
                    };
                }
            }
        } else {
            body
        };
        let mut request =
            hyper::Request::post(self.uri.clone()).header(CONTENT_TYPE, "application/x-protobuf");
        if self.gzip {
            request = request.header(CONTENT_ENCODING, "gzip");
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = match request.body(Full::new(body)) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Rejected {
                    reason: format!("building the request: {e}"),
                };
            }
        };
        let answer = async {
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            // The body is read whole (bounded) so that the connection
            // can be used again.
            let body = Limited::new(body, MAX_ANSWER)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Ok::<_, hyper_util::client::legacy::Error>((parts, body))
        };
        let (parts, body) = match tokio::time::timeout(self.timeout, answer).await {
            Err(_) => {
                return Outcome::Retry {
                    after: None,
                    reason: format!("no answer within timeout ({})", show(self.timeout)),
                };
            }
            Ok(Err(e)) => {
                return Outcome::Retry {
                    after: None,
                    reason: error_chain(&e),
                };
            }
            Ok(Ok(answer)) => answer,
        };
        let status = parts.status;
        if status.is_success() {
            return accepted(&body);
        }
        let message = http_message(&parts.headers, &body);
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        ) {
            let after = parts
                .headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, std::time::SystemTime::now()));
            return Outcome::Retry {
                after,
                reason: format!("HTTP {status}: {message}"),
            };
        }
        Outcome::Rejected {
            reason: format!("HTTP {status}: {message}"),
        }
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Bytes> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::default(),
    );
    encoder.write_all(body)?;
    Ok(Bytes::from(encoder.finish()?))
}

/// A successful answer's partial success, if the receiver sent one.
fn accepted(body: &[u8]) -> Outcome {
    let partial = ExportLogsServiceResponse::decode(body)
        .ok()
        .and_then(|r| r.partial_success)
        .unwrap_or_default();
    Outcome::Accepted {
        rejected: partial.rejected_log_records,
        message: partial.error_message,
    }
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error in protobuf.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<RpcAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
struct RpcAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<RpcDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
struct RpcDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The receiver's message in an error answer: the `message` of a protobuf
/// `Status`, else the body as text, cut short.
fn http_message(headers: &hyper::HeaderMap, body: &[u8]) -> String {
    let protobuf = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-protobuf"));
    if protobuf && let Ok(status) = RpcStatus::decode(body) {
        return status.message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(512) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The delay of a `RetryInfo` among a gRPC status's details.
fn retry_info(details: &[u8]) -> Option<Duration> {
    let status = RpcStatus::decode(details).ok()?;
    let info = status
        .details
        .iter()
        .find(|d| d.type_url.ends_with("google.rpc.RetryInfo"))?;
    let delay = RetryInfo::decode(&info.value[..]).ok()?.retry_delay?;
    let delay = Duration::new(
        u64::try_from(delay.seconds).ok()?,
        u32::try_from(delay.nanos).ok()?,
    );
    Some(delay.min(MAX_RETRY_AFTER))
}

/// OTLP/gRPC: `LogsService/Export`, the request body sent as encoded.
pub struct GrpcClient {
    grpc: tonic::client::Grpc<Channel>,
    metadata: MetadataMap,
    timeout: Duration,
}

impl GrpcClient {
    async fn send(&mut self, body: Bytes) -> Outcome {
        if let Err(e) = self.grpc.ready().await {
            return Outcome::Retry {
                after: None,
                reason: error_chain(&e),
            };
        }
        let mut request =
            tonic::Request::from_parts(self.metadata.clone(), Default::default(), body);
        request.set_timeout(self.timeout);
        let path = hyper::http::uri::PathAndQuery::from_static(EXPORT_PATH);
        let answer = tokio::time::timeout(
            self.timeout + Duration::from_secs(1),
            self.grpc.unary(request, path, RawCodec),
        )
        .await;
        let status = match answer {
            Err(_) => {
                return Outcome::Retry {
                    after: None,
                    reason: format!("no answer within timeout ({})", show(self.timeout)),
                };
            }
            Ok(Ok(response)) => {
                let partial = response.into_inner().partial_success.unwrap_or_default();
                return Outcome::Accepted {
                    rejected: partial.rejected_log_records,
                    message: partial.error_message,
                };
            }
            Ok(Err(status)) => status,
        };
        use tonic::Code;
        let reason = match status.code() {
            // No answer at all: the transport's error is the message.
            Code::Unavailable | Code::Unknown if status.message().is_empty() => {
                format!("gRPC {:?}", status.code())
            }
            code => format!("gRPC {code:?}: {}", status.message()),
        };
        match status.code() {
            Code::Unavailable
            | Code::ResourceExhausted
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::OutOfRange
            | Code::DataLoss => Outcome::Retry {
                after: retry_info(status.details()),
                reason,
            },
            // A transport failure (connection refused) surfaces as
            // UNKNOWN with a source: retried like no answer.
            Code::Unknown if std::error::Error::source(&status).is_some() => Outcome::Retry {
                after: None,
                reason: error_chain(&status),
            },
            _ => Outcome::Rejected { reason },
        }
    }
}

/// Sends a request body as already encoded; decodes the answer.
#[derive(Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportLogsServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportLogsServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut DecodeBuf<'_>,
    ) -> Result<Option<ExportLogsServiceResponse>, tonic::Status> {
        let answer = ExportLogsServiceResponse::decode(src.copy_to_bytes(src.remaining()))
            .map_err(|e| tonic::Status::internal(format!("decoding the answer: {e}")))?;
        Ok(Some(answer))
    }
}

/// An error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn show(d: Duration) -> String {
    humantime_serde::re::humantime::format_duration(d).to_string()
}

/// How long an HTTP `Retry-After` asks to wait: delay-seconds or an
/// HTTP-date (RFC 9110 10.2.3), capped at [`MAX_RETRY_AFTER`]; a date
/// already past means at once.
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(now)
            .unwrap_or(Duration::ZERO),
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::retry_after;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT, the example of RFC 9110.
        let date = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let now = date - Duration::from_secs(7);
        assert_eq!(retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                date + Duration::from_secs(1)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after("86400", SystemTime::now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }
}
