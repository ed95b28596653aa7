//! Syslog to a receiver (RFC 5424 by default, or RFC 3164) over a stream,
//! TCP or a Unix socket, with RFC 6587 octet counting. UDP is in
//! [`super::udp`], RELP in [`relp`].
//!
//! A stream reconnects with backoff and, after reconnecting, sends again
//! what the lost connection may not have delivered: the last
//! [`REPLAY_BYTES`] it had sent (at-least-once: a message may arrive
//! twice), or, over TCP with `resend_unacknowledged_only`, only the frames
//! the peer had not acknowledged whole when the connection failed
//! ([`tcp_acked`]). A chunk counts as written (`Chunk::written`) once it is
//! flushed to the kernel. Once sandlog is stopping, a receiver that stays
//! down past the destination's `shutdown_timeout` makes the destination
//! report how many messages it could not deliver.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::pipeline::queue::{Chunk, Queue};
use crate::pipeline::render::Format;

pub mod relp;
mod tcp_acked;

/// `[[destination]] type = "syslog"` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSyslog {
    pub name: Option<String>,
    pub transport: Transport,
    pub address: Option<String>,
    pub path: Option<PathBuf>,
    pub format: Option<Format>,
    #[serde(default, with = "humantime_serde")]
    pub shutdown_timeout: Option<Duration>,
    pub resend_unacknowledged_only: Option<bool>,
}

/// How a syslog destination is reached, as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
    Unix,
    Relp,
}

/// A syslog receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum SyslogTarget {
    /// RFC 6587 octet counting over TCP.
    Tcp(SocketAddr),
    /// One datagram per message; lossy by nature.
    Udp(SocketAddr),
    /// RFC 6587 octet counting over a Unix stream socket.
    Unix(PathBuf),
    /// RELP over TCP: every message answered by the receiver
    /// ([`relp`]).
    Relp(SocketAddr),
}

impl std::fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyslogTarget::Tcp(a) => write!(f, "tcp {a}"),
            SyslogTarget::Udp(a) => write!(f, "udp {a}"),
            SyslogTarget::Unix(p) => write!(f, "unix {}", p.display()),
            SyslogTarget::Relp(a) => write!(f, "relp {a}"),
        }
    }
}

/// A checked syslog destination.
#[derive(Debug, Clone, PartialEq)]
pub struct SyslogSpec {
    pub target: SyslogTarget,
    /// Default: RFC 5424.
    pub format: Format,
    /// How long, once sandlog is stopping, it keeps trying to deliver to a
    /// receiver that is down before it gives up and reports what it could
    /// not deliver. Default: 30 s.
    pub shutdown_timeout: Duration,
    /// TCP: after a lost connection, send again only what the peer had
    /// not acknowledged (fewer duplicates, but what a killed receiver had
    /// acknowledged and not stored is lost). Default: false.
    pub resend_unacknowledged_only: bool,
}

impl SyslogSpec {
    pub fn from_raw(raw: RawSyslog, base: &Path, at: &str) -> Result<SyslogSpec> {
        let transport = raw.transport;
        let ip = |address: Option<String>| -> Result<SocketAddr> {
            let Some(address) = address else {
                bail!("{at}: transport {transport:?} needs key `address` (IP:PORT)");
            };
            address.parse::<SocketAddr>().with_context(|| {
                format!("{at}: key `address`: {address:?} is not IP:PORT (IPv6 in brackets)")
            })
        };
        let target = match (transport, raw.path) {
            (Transport::Tcp, None) => SyslogTarget::Tcp(ip(raw.address)?),
            (Transport::Udp, None) => SyslogTarget::Udp(ip(raw.address)?),
            (Transport::Relp, None) => SyslogTarget::Relp(ip(raw.address)?),
            (Transport::Unix, Some(p)) if raw.address.is_none() => SyslogTarget::Unix(base.join(p)),
            (Transport::Unix, _) => {
                bail!("{at}: transport \"unix\" needs key `path` (and no `address`)")
            }
            (_, Some(_)) => bail!("{at}: key `path` is only for transport \"unix\""),
        };
        if raw.resend_unacknowledged_only.is_some() && !matches!(target, SyslogTarget::Tcp(_)) {
            bail!("{at}: key `resend_unacknowledged_only` is only for transport \"tcp\"");
        }
        Ok(SyslogSpec {
            resend_unacknowledged_only: raw.resend_unacknowledged_only.unwrap_or(false),
            target,
            format: raw.format.unwrap_or(Format::Rfc5424),
            shutdown_timeout: crate::units::duration(
                raw.shutdown_timeout.unwrap_or(Duration::from_secs(30)),
                at,
                "shutdown_timeout",
            )?,
        })
    }
}

/// How much of what was last sent over a connection is kept to send again
/// after it fails, at most. With `resend_unacknowledged_only`, only what
/// the TCP peer has not yet acknowledged is kept (the kernel's send
/// buffer, a few MiB); otherwise all of this is sent again.
pub const REPLAY_BYTES: usize = 16 * 1024 * 1024;

/// How much a stream destination writes between flushes under sustained
/// load, so that the sources' acks keep coming.
const ACK_FLUSH_BYTES: usize = 256 * 1024;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The reconnections of a stream destination: the backoff between
/// attempts and what was sent again, shared by the syslog stream and RELP
/// writers.
struct Reconnects {
    backoff: Duration,
    resent_total: u64,
}

impl Reconnects {
    fn new() -> Reconnects {
        Reconnects {
            backoff: BACKOFF_START,
            resent_total: 0,
        }
    }

    /// A connection is up and `resent` messages went again over it.
    fn connected(&mut self, target: &SyslogTarget, queue: &Queue, resent: u64) {
        if resent > 0 || self.backoff > BACKOFF_START {
            queue.metrics().retries.fetch_add(1, Relaxed);
        }
        if resent > 0 {
            tracing::info!(destination = %target, resent, "connected; sent again what the receiver had not acknowledged");
        } else {
            tracing::info!(destination = %target, "connected");
        }
        self.resent_total += resent;
        self.backoff = BACKOFF_START;
    }

    /// An attempt failed: waits the backoff and doubles it; false, without
    /// waiting, when the wait would pass `deadline`.
    async fn failed(
        &mut self,
        target: &SyslogTarget,
        error: &(dyn std::fmt::Display + Sync),
        deadline: Option<Instant>,
    ) -> bool {
        tracing::warn!(destination = %target, error = %error, retry_in = ?self.backoff, "cannot connect; messages are held");
        if deadline.is_some_and(|d| Instant::now() + self.backoff > d) {
            return false;
        }
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        true
    }

    /// At the end: how many messages went again in all.
    fn report(&self, target: &SyslogTarget) {
        if self.resent_total > 0 {
            tracing::info!(destination = %target, resent = self.resent_total, "messages sent again around lost connections");
        }
    }
}

type Stream = Box<dyn AsyncWrite + Send + Unpin>;

/// An open connection to the receiver.
struct Conn {
    w: BufWriter<Stream>,
    /// The TCP socket under `w`, to ask the kernel what the peer has
    /// acknowledged; `None` for a Unix socket. Valid while `w` lives.
    tcp: Option<RawFd>,
}

impl Conn {
    /// Bytes written to this connection that the peer has acknowledged,
    /// if the kernel says.
    fn acked(&self, target: &SyslogTarget) -> Option<u64> {
        let fd = self.tcp?;
        match tcp_acked::data_bytes_acked(fd) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(destination = %target, error = %e, "cannot tell what the receiver acknowledged; the last messages will be sent again");
                None
            }
        }
    }
}

/// Opens a stream to a TCP or Unix socket receiver.
async fn open_stream(target: &SyslogTarget, trust_acks: bool) -> std::io::Result<Conn> {
    let (stream, tcp): (Stream, _) = match target {
        SyslogTarget::Tcp(address) => {
            let s = TcpStream::connect(address).await?;
            let _ = s.set_nodelay(true);
            let fd = trust_acks.then(|| s.as_raw_fd());
            (Box::new(s), fd)
        }
        SyslogTarget::Unix(path) => (Box::new(tokio::net::UnixStream::connect(path).await?), None),
        SyslogTarget::Udp(_) | SyslogTarget::Relp(_) => {
            return Err(std::io::Error::other("not a plain syslog stream"));
        }
    };
    Ok(Conn {
        w: BufWriter::with_capacity(256 * 1024, stream),
        tcp,
    })
}

/// What was written to the current connection and may not have reached
/// the receiver, newest last, from the first byte the peer has not
/// acknowledged (TCP) or the last [`REPLAY_BYTES`] (Unix sockets, or a
/// kernel that does not say): written again first after a reconnect.
#[derive(Default)]
struct Replay {
    entries: VecDeque<Resend>,
    /// The bytes the entries hold.
    bytes: usize,
    /// Where the first entry starts on the current connection, in bytes
    /// written to it.
    base: u64,
}

/// A chunk, or the frames at its end, to write again.
struct Resend {
    chunk: Arc<Chunk>,
    /// Where in the chunk's text the first frame not yet acknowledged
    /// starts.
    skip: usize,
    /// Messages from `skip` on.
    lines: u64,
}

impl Resend {
    fn text(&self) -> &[u8] {
        self.chunk.text.get(self.skip..).unwrap_or_default()
    }
}

impl Replay {
    fn push(&mut self, chunk: Arc<Chunk>) {
        self.bytes += chunk.text.len();
        let lines = chunk.lines;
        self.entries.push_back(Resend {
            chunk,
            skip: 0,
            lines,
        });
        while self.bytes > REPLAY_BYTES && self.entries.len() > 1 {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.text().len();
                self.base += old.text().len() as u64;
            }
        }
    }

    /// The peer has acknowledged the first `acked` bytes written to the
    /// current connection: drops the entries it holds whole, and the
    /// whole frames it holds of the first one it holds in part (a frame
    /// the peer has only part of is written again whole).
    fn acked(&mut self, acked: u64) {
        while let Some(first) = self.entries.front_mut() {
            let len = first.text().len() as u64;
            if self.base + len <= acked {
                self.bytes -= len as usize;
                self.base += len;
                self.entries.pop_front();
                continue;
            }
            let mut rest = usize::try_from(acked.saturating_sub(self.base)).unwrap_or(usize::MAX);
            while let Some(frame) = frame_len(first.text()).filter(|&f| f <= rest) {
                first.skip += frame;
                first.lines = first.lines.saturating_sub(1);
                self.bytes -= frame;
                self.base += frame as u64;
                rest -= frame;
            }
            break;
        }
    }

    /// The connection is gone: what is left is written again, from the
    /// start of the next one.
    fn reconnecting(&mut self) {
        self.base = 0;
    }
}

/// The length of the first `LENGTH SP MESSAGE` frame of `text`, framing
/// included; `None` if it is not whole (then it is written again).
fn frame_len(text: &[u8]) -> Option<usize> {
    let space = text.iter().take(12).position(|&b| b == b' ')?;
    let len: usize = std::str::from_utf8(&text[..space]).ok()?.parse().ok()?;
    let end = space.checked_add(1)?.checked_add(len)?;
    (end <= text.len()).then_some(end)
}

/// Chunks written since the last flush: acked once a flush succeeds.
#[derive(Default)]
struct Unacked {
    chunks: Vec<Arc<Chunk>>,
    bytes: usize,
}

impl Unacked {
    fn push(&mut self, chunk: Arc<Chunk>) {
        self.bytes += chunk.text.len();
        self.chunks.push(chunk);
    }

    /// The connection flushed what was written: it is acked.
    fn flushed(&mut self) {
        for chunk in self.chunks.drain(..) {
            chunk.written();
        }
        self.bytes = 0;
    }
}

/// Writes chunks to a syslog stream in order; a failed write reconnects
/// and writes the same chunk again, so a message may arrive twice but
/// never not at all while the receiver comes back.
pub struct StreamWriter {
    queue: Queue,
    target: SyslogTarget,
    shutdown_timeout: Duration,
    resend_unacknowledged_only: bool,
    conn: Option<Conn>,
    written: u64,
    replay: Replay,
    unacked: Unacked,
    reconnects: Reconnects,
    /// Set once the sources are done (the queue is closed): from then on
    /// the receiver has `shutdown_timeout` to take the rest.
    deadline: Option<Instant>,
}

impl StreamWriter {
    pub fn new(queue: Queue, spec: &SyslogSpec) -> StreamWriter {
        StreamWriter {
            queue,
            target: spec.target.clone(),
            shutdown_timeout: spec.shutdown_timeout,
            resend_unacknowledged_only: spec.resend_unacknowledged_only,
            conn: None,
            written: 0,
            replay: Replay::default(),
            unacked: Unacked::default(),
            reconnects: Reconnects::new(),
            deadline: None,
        }
    }

    /// Sends until the queue closes; returns the messages sent.
    pub async fn run(mut self) -> Result<u64> {
        while let Some(chunk) = self.next().await {
            self.send(chunk).await?;
        }
        self.close().await?;
        Ok(self.written)
    }

    /// The next chunk; when the queue runs dry, what was written is
    /// flushed (and acked) before waiting.
    async fn next(&mut self) -> Option<Arc<Chunk>> {
        match self.queue.try_recv() {
            Ok(c) => Some(c),
            Err(mpsc::error::TryRecvError::Empty) => {
                self.flush().await;
                self.queue.recv().await
            }
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        }
    }

    /// Flushes the connection, if any, acking what it wrote; a failure
    /// drops the connection.
    async fn flush(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            match c.w.flush().await {
                Ok(()) => {
                    self.unacked.flushed();
                    if let Some(a) = c.acked(&self.target) {
                        self.replay.acked(a);
                    }
                }
                Err(e) => {
                    tracing::warn!(destination = %self.target, error = %e, "connection lost; reconnecting");
                    self.lost();
                }
            }
        }
    }

    /// The connection failed: keeps to write again only what the peer had
    /// not acknowledged when it did.
    fn lost(&mut self) {
        if let Some(c) = self.conn.take()
            && let Some(a) = c.acked(&self.target)
        {
            self.replay.acked(a);
        }
        self.replay.reconnecting();
    }

    fn start_deadline_if_closing(&mut self) {
        if self.deadline.is_none() && self.queue.is_closed() {
            self.deadline = Some(Instant::now() + self.shutdown_timeout);
        }
    }

    /// Writes one chunk, connecting (and sending the replay) as often as it
    /// takes, or until the shutdown deadline has passed.
    async fn send(&mut self, chunk: Arc<Chunk>) -> Result<()> {
        loop {
            if self.conn.is_none() {
                self.start_deadline_if_closing();
                self.connect(&chunk).await?;
                continue;
            }
            let Some(c) = self.conn.as_mut() else {
                continue;
            };
            match c.w.write_all(&chunk.text).await {
                Ok(()) => {
                    self.written += chunk.lines;
                    self.queue.sent(chunk.lines);
                    self.replay.push(chunk.clone());
                    self.unacked.push(chunk);
                    // Under sustained load the queue is never empty: flush
                    // now and then so that acks keep coming.
                    if self.unacked.bytes >= ACK_FLUSH_BYTES {
                        self.flush().await;
                    }
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(destination = %self.target, error = %e, "connection lost; reconnecting and sending again");
                    self.lost();
                }
            }
        }
    }

    /// One attempt to connect and send the replay; waits the backoff after
    /// a failed attempt. Fails once the shutdown deadline would pass.
    async fn connect(&mut self, chunk: &Chunk) -> Result<()> {
        match open_stream(&self.target, self.resend_unacknowledged_only).await {
            Ok(mut conn) => {
                let mut resent = 0u64;
                for old in &self.replay.entries {
                    if conn.w.write_all(old.text()).await.is_err() {
                        tracing::warn!(destination = %self.target, "connection lost while sending again; reconnecting");
                        self.conn = Some(conn);
                        self.lost();
                        return Ok(());
                    }
                    resent += old.lines;
                }
                self.reconnects.connected(&self.target, &self.queue, resent);
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) => {
                if !self
                    .reconnects
                    .failed(&self.target, &e, self.deadline)
                    .await
                {
                    return Err(self.undelivered(chunk.lines));
                }
                Ok(())
            }
        }
    }

    /// After the last chunk: the final flush, within the shutdown deadline.
    async fn close(&mut self) -> Result<()> {
        self.start_deadline_if_closing();
        let deadline = self
            .deadline
            .unwrap_or_else(|| Instant::now() + self.shutdown_timeout);
        if let Some(mut c) = self.conn.take() {
            match tokio::time::timeout_at(deadline, c.w.flush()).await {
                Ok(Ok(())) => {
                    self.unacked.flushed();
                    let _ = c.w.shutdown().await;
                }
                _ => bail!(
                    "the last messages sent to {} may not have arrived: the connection failed while stopping",
                    self.target
                ),
            }
        }
        self.reconnects.report(&self.target);
        Ok(())
    }

    /// The error of a receiver that stayed down past the deadline, counting
    /// `current` and everything still queued.
    fn undelivered(&mut self, current: u64) -> anyhow::Error {
        let mut lost = current;
        while let Ok(c) = self.queue.try_recv() {
            lost += c.lines;
        }
        anyhow::anyhow!(
            "{lost} messages could not be delivered to {}: the receiver stayed down past shutdown_timeout",
            self.target
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_whole_or_none() {
        assert_eq!(frame_len(b"3 abc2 de"), Some(5));
        assert_eq!(frame_len(b"2 de"), Some(4));
        assert_eq!(frame_len(b"9 short"), None);
        assert_eq!(frame_len(b"x abc"), None);
        assert_eq!(frame_len(b""), None);
    }

    #[test]
    fn resending_only_the_unacknowledged_is_a_tcp_key() {
        let parse = |text: &str| {
            let raw: RawSyslog = toml::from_str(text).unwrap();
            SyslogSpec::from_raw(raw, Path::new("/"), "f.toml: destination 1")
        };
        let tcp = parse(
            "transport = \"tcp\"\naddress = \"127.0.0.1:514\"\nresend_unacknowledged_only = true",
        );
        assert!(tcp.unwrap().resend_unacknowledged_only);
        let unix = parse("transport = \"unix\"\npath = \"s\"\nresend_unacknowledged_only = true");
        let e = format!("{:#}", unix.unwrap_err());
        assert!(
            e.contains("f.toml") && e.contains("resend_unacknowledged_only"),
            "{e}"
        );
    }
}
