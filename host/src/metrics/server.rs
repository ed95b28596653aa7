//! The HTTP listener of the metrics: `/metrics` (the Prometheus text
//! format), `/healthz` (the process and its event loop answer) and
//! `/readyz` (see [`super::health`]).
//!
//! HTTP is `hyper`'s HTTP/1 server with `hyper-util`'s tokio glue, not
//! `axum`: three fixed paths need no router, extractors or middleware, and
//! hyper is the piece axum itself is built on, with fewer crates to build.
//!
//! The listener is bounded, as anything a peer drives: at most
//! `max_connections` connections are served at once, and further ones wait
//! in the kernel's accept queue until one ends (they are neither accepted
//! nor refused meanwhile). A connection gets `read_timeout` to send its
//! request head, and is closed at the latest twice that after it was
//! accepted, so a client that sends half a request, sends nothing, or does
//! not read its answer holds a place for a bounded time. One request per
//! connection: a scraper connects again for the next scrape.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::{Registry, exposition};

/// Connections served at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;
/// How long a connection may take to send its request head by default.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The checked `[metrics]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerSpec {
    pub listen: SocketAddr,
    /// Connections served at once; more wait to be accepted. Default: 16.
    pub max_connections: usize,
    /// How long a connection may take to send its request head; it is
    /// closed at the latest twice that after it was accepted. Default: 10 s.
    pub read_timeout: Duration,
}

impl ListenerSpec {
    /// A listener on `listen` with the default bounds.
    pub fn new(listen: SocketAddr) -> ListenerSpec {
        ListenerSpec {
            listen,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

/// What every connection answers from.
struct Endpoints {
    registry: Arc<Registry>,
    exposition: prometheus_client::registry::Registry,
}

/// Binds the listener and serves it until the returned task is aborted.
pub async fn serve(
    spec: &ListenerSpec,
    registry: Arc<Registry>,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(spec.listen)
        .await
        .with_context(|| format!("binding the metrics listener to {}", spec.listen))?;
    tracing::info!(
        address = %spec.listen,
        max_connections = spec.max_connections,
        read_timeout = ?spec.read_timeout,
        "serving /metrics, /healthz and /readyz"
    );
    let endpoints = Arc::new(Endpoints {
        exposition: exposition::collecting(registry.clone()),
        registry,
    });
    let places = Arc::new(Semaphore::new(spec.max_connections));
    let read_timeout = spec.read_timeout;
    Ok(tokio::spawn(async move {
        loop {
            // A place first, then the connection: past the cap, clients
            // wait in the accept queue instead of being taken and dropped.
            let Ok(place) = places.clone().acquire_owned().await else {
                return;
            };
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, most likely: give the others
                    // time to end rather than spin.
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let endpoints = endpoints.clone();
            tokio::spawn(async move {
                serve_connection(stream, endpoints, read_timeout).await;
                drop(place);
            });
        }
    }))
}

/// Serves one connection within its bounds.
async fn serve_connection(stream: TcpStream, endpoints: Arc<Endpoints>, read_timeout: Duration) {
    let service = service_fn(move |request| {
        let answer = answer(&endpoints, &request);
        async move { Ok::<_, Infallible>(answer) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(read_timeout * 2, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "metrics listener: connection closed"),
        Err(_) => tracing::debug!("metrics listener: connection cut after its time"),
    }
}

/// The answer to one request.
fn answer(endpoints: &Endpoints, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match request.uri().path() {
        "/metrics" => {
            let mut response = Response::new(Full::new(Bytes::from(exposition::encode(
                &endpoints.exposition,
            ))));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(exposition::CONTENT_TYPE),
            );
            response
        }
        // Answering at all is the check: this runs on the event loop the
        // sources and destinations run on.
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => match endpoints.registry.not_ready() {
            None => text(StatusCode::OK, "ready\n".into()),
            Some(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

/// A plain-text answer.
fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
