//! Destinations: each runs as its own task behind a bounded queue of
//! rendered chunks. A full queue suspends the posting guest (the send is
//! awaited inside the host call), so a slow or unreachable destination
//! slows its sources down instead of losing messages or growing without
//! bound.
//!
//! Messages are rendered once per encoding in use (see
//! [`Sinks::encodings`]); each destination gets the chunk of its own.
//! Syslog over TCP reconnects with backoff and, after reconnecting, sends
//! again the last [`REPLAY_BYTES`] it had sent, since a receiver that went
//! away may not have read them (at-least-once: a message may arrive twice,
//! none is lost while the receiver comes back); once sandlog is stopping, a
//! receiver that stays down past the destination's `shutdown_timeout`
//! makes the destination report how many messages it could not deliver.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::acks::{AckState, AckToken};
use crate::config::{DestinationSpec, Fsync, SyslogTarget};
use crate::metrics::{DestinationMetrics, Registry};
use crate::render::Encoding;
use std::sync::atomic::Ordering::Relaxed;

/// A destination's end of its queue: counts what it takes and sends.
struct Queue {
    rx: mpsc::Receiver<Arc<Chunk>>,
    metrics: Arc<DestinationMetrics>,
}

impl Queue {
    async fn recv(&mut self) -> Option<Arc<Chunk>> {
        let c = self.rx.recv().await;
        if c.is_some() {
            self.metrics.queued.fetch_sub(1, Relaxed);
        }
        c
    }

    fn try_recv(&mut self) -> Result<Arc<Chunk>, mpsc::error::TryRecvError> {
        let c = self.rx.try_recv();
        if c.is_ok() {
            self.metrics.queued.fetch_sub(1, Relaxed);
        }
        c
    }

    fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    fn sent(&self, messages: u64) {
        self.metrics.sent.fetch_add(messages, Relaxed);
    }
}

/// Rendered messages in one encoding.
pub struct Chunk {
    pub text: String,
    pub lines: u64,
    /// Marked once this destination has written the chunk.
    ack: Arc<AckToken>,
}

impl Chunk {
    /// This destination has written (and flushed) the chunk.
    fn written(&self) {
        self.ack.done();
    }
}

/// How many chunks may wait for one destination.
const QUEUE_CHUNKS: usize = 64;

/// How much of what was last sent over a TCP connection is kept to send
/// again after the connection fails: what sat in the kernel's buffers, or
/// in a receiver that was stopped before reading it, is not lost.
const REPLAY_BYTES: usize = 16 * 1024 * 1024;

/// How much a stream destination writes between flushes under sustained
/// load, so that the sources' acks keep coming.
const ACK_FLUSH_BYTES: usize = 256 * 1024;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The sending side of every destination; cloned into each source.
#[derive(Clone)]
pub struct Sinks {
    /// The distinct encodings the destinations use, in a fixed order.
    encodings: Arc<[Encoding]>,
    /// Each destination's queue, the index of its encoding, its metrics.
    queues: Vec<(usize, mpsc::Sender<Arc<Chunk>>, Arc<DestinationMetrics>)>,
}

impl Sinks {
    /// The encodings a source renders its messages in; `send` takes one
    /// text per encoding, in this order.
    pub fn encodings(&self) -> &[Encoding] {
        &self.encodings
    }

    /// The sending side of some of the destinations (by index in the
    /// config), for a source that feeds only those.
    pub fn select(&self, which: &[usize]) -> Sinks {
        let mut encodings: Vec<Encoding> = Vec::new();
        let mut queues = Vec::new();
        for &i in which {
            let Some((enc, q, m)) = self.queues.get(i) else {
                continue;
            };
            let encoding = self.encodings[*enc];
            let index = match encodings.iter().position(|e| *e == encoding) {
                Some(j) => j,
                None => {
                    encodings.push(encoding);
                    encodings.len() - 1
                }
            };
            queues.push((index, q.clone(), m.clone()));
        }
        Sinks {
            encodings: encodings.into(),
            queues,
        }
    }

    /// Hands each destination the text of its encoding, waiting while a
    /// queue is full; once all have written it, `acks` reaches `through`.
    /// Returns false when a destination has failed.
    pub async fn send(
        &self,
        texts: Vec<String>,
        lines: u64,
        acks: &Arc<AckState>,
        through: u64,
    ) -> bool {
        let ack = AckToken::new(acks.clone(), through, self.queues.len());
        let chunks: Vec<Arc<Chunk>> = texts
            .into_iter()
            .map(|text| {
                Arc::new(Chunk {
                    text,
                    lines,
                    ack: ack.clone(),
                })
            })
            .collect();
        let mut ok = true;
        for (encoding, q, m) in &self.queues {
            if let Some(chunk) = chunks.get(*encoding) {
                m.queued.fetch_add(1, Relaxed);
                ok &= q.send(chunk.clone()).await.is_ok();
            }
        }
        ok
    }
}

/// The running destinations, to be drained at shutdown.
pub struct SinkSet {
    pub sinks: Sinks,
    tasks: Vec<(String, JoinHandle<Result<u64>>)>,
    /// Set to the first failure of a destination that gave up (standard
    /// output closed by its reader, a file that cannot be written): its
    /// messages can no longer be written, so sandlog stops instead of
    /// holding the sources back forever.
    pub failed: watch::Receiver<Option<String>>,
}

/// A destination's writer task: the messages it wrote, or why it gave up.
type Writer = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64>> + Send>>;

/// Runs a destination's writer; when it gives up, says so on `failed`.
async fn reporting_failure(
    name: String,
    writer: Writer,
    failed: watch::Sender<Option<String>>,
) -> Result<u64> {
    let result = writer.await;
    if let Err(e) = &result {
        let text = format!("destination {name}: {e:#}");
        failed.send_if_modified(|first| first.is_none() && first.replace(text).is_none());
    }
    result
}

impl SinkSet {
    /// Opens every destination and starts its writer task.
    pub async fn start(specs: &[DestinationSpec], registry: &Registry) -> Result<SinkSet> {
        let mut encodings: Vec<Encoding> = Vec::new();
        let mut queues = Vec::new();
        let mut tasks = Vec::new();
        let (failed_tx, failed) = watch::channel(None);
        for spec in specs {
            let encoding = spec.encoding();
            let index = match encodings.iter().position(|e| *e == encoding) {
                Some(i) => i,
                None => {
                    encodings.push(encoding);
                    encodings.len() - 1
                }
            };
            let (tx, rx) = mpsc::channel(QUEUE_CHUNKS);
            let name = spec.describe();
            let metrics = registry.destination(&name);
            let rx = Queue {
                rx,
                metrics: metrics.clone(),
            };
            let writer: Writer = match spec {
                DestinationSpec::Stdout { .. } => {
                    Box::pin(write_stream(rx, Box::new(tokio::io::stdout())))
                }
                DestinationSpec::File { path, fsync, .. } => {
                    let file = open_append(path).await?;
                    Box::pin(write_file(rx, path.clone(), file, *fsync))
                }
                DestinationSpec::Syslog {
                    target: SyslogTarget::Udp(address),
                    ..
                } => Box::pin(write_udp(rx, *address)),
                DestinationSpec::Syslog {
                    target,
                    shutdown_timeout,
                    ..
                } => Box::pin(write_syslog_stream(rx, target.clone(), *shutdown_timeout)),
            };
            let task = tokio::spawn(reporting_failure(name.clone(), writer, failed_tx.clone()));
            queues.push((index, tx, metrics));
            tasks.push((name, task));
        }
        Ok(SinkSet {
            sinks: Sinks {
                encodings: encodings.into(),
                queues,
            },
            tasks,
            failed,
        })
    }

    /// Closes the queues and waits until every destination has written and
    /// flushed what it was given. Returns the messages written per
    /// destination; an error names each destination that failed.
    pub async fn finish(self) -> Result<Vec<(String, u64)>> {
        drop(self.sinks);
        let mut written = Vec::new();
        let mut failures = Vec::new();
        for (name, task) in self.tasks {
            match task.await {
                Ok(Ok(lines)) => written.push((name, lines)),
                Ok(Err(e)) => failures.push(format!("destination {name}: {e:#}")),
                Err(e) => failures.push(format!("destination {name} stopped abnormally: {e}")),
            }
        }
        if !failures.is_empty() {
            bail!("{}", failures.join("; "));
        }
        Ok(written)
    }
}

/// Opens a destination file for appending. A file that ends in the middle
/// of a line (a writer was killed while writing) gets a line break first,
/// so that the cut line stays alone and the next message is a whole line.
async fn open_append(path: &PathBuf) -> Result<tokio::fs::File> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let context = || format!("cannot open destination file {}", path.display());
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .await
        .with_context(context)?;
    let len = file.metadata().await.with_context(context)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(std::io::SeekFrom::Start(len - 1))
            .await
            .with_context(context)?;
        file.read_exact(&mut last).await.with_context(context)?;
        if last[0] != b'\n' {
            tracing::warn!(path = %path.display(), "the file ends in the middle of a line; starting a new one");
            file.write_all(b"\n").await.with_context(context)?;
        }
    }
    Ok(file)
}

/// Writes `first` and every chunk already queued behind it, then flushes:
/// lines reach the destination promptly without a flush per message. The
/// chunks written are left in `burst`, to be acked once they are as
/// durable as the destination makes them. Returns the messages written.
async fn write_burst<W: AsyncWrite + Unpin>(
    out: &mut BufWriter<W>,
    rx: &mut Queue,
    first: Arc<Chunk>,
    burst: &mut Vec<Arc<Chunk>>,
) -> Result<u64> {
    let mut lines = first.lines;
    out.write_all(first.text.as_bytes()).await?;
    burst.push(first);
    while let Ok(chunk) = rx.try_recv() {
        lines += chunk.lines;
        out.write_all(chunk.text.as_bytes()).await?;
        burst.push(chunk);
    }
    out.flush().await?;
    Ok(lines)
}

/// Acks the chunks of a burst that has been written.
fn ack_burst(burst: &mut Vec<Arc<Chunk>>) {
    for chunk in burst.drain(..) {
        chunk.written();
    }
}

/// Writes chunks to a stream (stdout) as they come.
async fn write_stream(mut rx: Queue, out: Box<dyn AsyncWrite + Send + Unpin>) -> Result<u64> {
    let mut out = BufWriter::with_capacity(256 * 1024, out);
    let mut lines = 0u64;
    let mut burst = Vec::new();
    while let Some(chunk) = rx.recv().await {
        let n = write_burst(&mut out, &mut rx, chunk, &mut burst).await?;
        ack_burst(&mut burst);
        rx.sent(n);
        lines += n;
    }
    out.flush().await?;
    Ok(lines)
}

/// Appends chunks to a file. After each burst of writes it syncs (with
/// `Fsync::Always`) and checks that the path still names the file it has
/// open: when the file was renamed or removed (rotated away), it opens the
/// path again, creating a new file, so writing goes on there.
async fn write_file(
    mut rx: Queue,
    path: PathBuf,
    file: tokio::fs::File,
    fsync: Fsync,
) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut inode = file.metadata().await.map(|m| m.ino()).ok();
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let mut lines = 0u64;
    let mut burst = Vec::new();
    while let Some(chunk) = rx.recv().await {
        let n = write_burst(&mut out, &mut rx, chunk, &mut burst).await?;
        rx.sent(n);
        lines += n;
        if fsync == Fsync::Always {
            out.get_ref().sync_data().await?;
        }
        ack_burst(&mut burst);
        let current = tokio::fs::metadata(&path).await.map(|m| m.ino()).ok();
        if current.is_none() || current != inode {
            tracing::info!(path = %path.display(), "file was rotated away; opening it again");
            let file = open_append(&path).await?;
            inode = file.metadata().await.map(|m| m.ino()).ok();
            out = BufWriter::with_capacity(256 * 1024, file);
        }
    }
    out.flush().await?;
    if fsync == Fsync::Always {
        out.get_ref().sync_data().await?;
    }
    Ok(lines)
}

/// Syslog over a stream (TCP or a Unix socket) with octet counting: chunks are written in order; a
/// failed write reconnects and writes the same chunk again, so a message
/// may arrive twice but never not at all while the receiver comes back.
type Stream = Box<dyn AsyncWrite + Send + Unpin>;

/// Opens a stream to a TCP or Unix socket receiver.
async fn open_stream(target: &SyslogTarget) -> std::io::Result<Stream> {
    match target {
        SyslogTarget::Tcp(address) => {
            let s = TcpStream::connect(address).await?;
            let _ = s.set_nodelay(true);
            Ok(Box::new(s))
        }
        SyslogTarget::Unix(path) => Ok(Box::new(tokio::net::UnixStream::connect(path).await?)),
        SyslogTarget::Udp(_) => Err(std::io::Error::other("UDP is not a stream")),
    }
}

async fn write_syslog_stream(
    mut rx: Queue,
    address: SyslogTarget,
    shutdown_timeout: Duration,
) -> Result<u64> {
    let mut conn: Option<BufWriter<Stream>> = None;
    let mut written = 0u64;
    // Chunks sent over the current connection, newest last, at most
    // REPLAY_BYTES; sent again first after a reconnect.
    let mut replay: std::collections::VecDeque<Arc<Chunk>> = std::collections::VecDeque::new();
    let mut replay_bytes = 0usize;
    let mut resent_total = 0u64;
    // Chunks written since the last flush: acked once a flush succeeds.
    let mut unacked: Vec<Arc<Chunk>> = Vec::new();
    let mut unacked_bytes = 0usize;
    let mut backoff = BACKOFF_START;
    // Set once the sources are done (the queue is closed): from then on the
    // receiver has shutdown_timeout to take the rest.
    let mut deadline: Option<tokio::time::Instant> = None;
    let deadline_now = |rx: &Queue, deadline: &mut Option<tokio::time::Instant>| {
        if deadline.is_none() && rx.is_closed() {
            *deadline = Some(tokio::time::Instant::now() + shutdown_timeout);
        }
    };
    loop {
        let chunk = match rx.try_recv() {
            Ok(c) => c,
            Err(mpsc::error::TryRecvError::Empty) => {
                if let Some(c) = conn.as_mut() {
                    match c.flush().await {
                        Ok(()) => {
                            ack_burst(&mut unacked);
                            unacked_bytes = 0;
                        }
                        Err(e) => {
                            tracing::warn!(destination = %address, error = %e, "connection lost; reconnecting");
                            conn = None;
                        }
                    }
                }
                match rx.recv().await {
                    Some(c) => c,
                    None => break,
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
        };
        loop {
            if conn.is_none() {
                deadline_now(&rx, &mut deadline);
                match open_stream(&address).await {
                    Ok(s) => {
                        let mut w = BufWriter::with_capacity(256 * 1024, s);
                        let mut resent = 0u64;
                        let mut ok = true;
                        for old in &replay {
                            if w.write_all(old.text.as_bytes()).await.is_err() {
                                ok = false;
                                break;
                            }
                            resent += old.lines;
                        }
                        if !ok {
                            tracing::warn!(destination = %address, "connection lost while sending again; reconnecting");
                            continue;
                        }
                        if resent > 0 || backoff > BACKOFF_START {
                            rx.metrics.retries.fetch_add(1, Relaxed);
                        }
                        if resent > 0 {
                            tracing::info!(destination = %address, resent, "connected; sent the last messages again, the receiver may see them twice");
                        } else {
                            tracing::info!(destination = %address, "connected");
                        }
                        resent_total += resent;
                        conn = Some(w);
                        backoff = BACKOFF_START;
                    }
                    Err(e) => {
                        tracing::warn!(destination = %address, error = %e, retry_in = ?backoff, "cannot connect; messages are held");
                        if deadline.is_some_and(|d| tokio::time::Instant::now() + backoff > d) {
                            return Err(undelivered(chunk.lines, &mut rx, &address));
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            match c.write_all(chunk.text.as_bytes()).await {
                Ok(()) => {
                    written += chunk.lines;
                    rx.sent(chunk.lines);
                    replay_bytes += chunk.text.len();
                    replay.push_back(chunk.clone());
                    unacked_bytes += chunk.text.len();
                    unacked.push(chunk.clone());
                    // Under sustained load the queue is never empty: flush
                    // now and then so that acks keep coming.
                    if unacked_bytes >= ACK_FLUSH_BYTES {
                        match c.flush().await {
                            Ok(()) => {
                                ack_burst(&mut unacked);
                                unacked_bytes = 0;
                            }
                            Err(e) => {
                                tracing::warn!(destination = %address, error = %e, "connection lost; reconnecting");
                                conn = None;
                            }
                        }
                    }
                    while replay_bytes > REPLAY_BYTES && replay.len() > 1 {
                        if let Some(old) = replay.pop_front() {
                            replay_bytes -= old.text.len();
                        }
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(destination = %address, error = %e, "connection lost; reconnecting and sending again");
                    conn = None;
                }
            }
        }
    }
    deadline_now(&rx, &mut deadline);
    let deadline = deadline.unwrap_or_else(|| tokio::time::Instant::now() + shutdown_timeout);
    if let Some(mut c) = conn {
        match tokio::time::timeout_at(deadline, c.flush()).await {
            Ok(Ok(())) => {
                ack_burst(&mut unacked);
                let _ = c.shutdown().await;
            }
            _ => bail!(
                "the last messages sent to {address} may not have arrived: the connection failed while stopping"
            ),
        }
    }
    if resent_total > 0 {
        tracing::info!(destination = %address, resent = resent_total, "messages sent twice around lost connections");
    }
    Ok(written)
}

fn undelivered(current: u64, rx: &mut Queue, address: &SyslogTarget) -> anyhow::Error {
    let mut lost = current;
    while let Ok(c) = rx.try_recv() {
        lost += c.lines;
    }
    anyhow::anyhow!(
        "{lost} messages could not be delivered to {address}: the receiver stayed down past shutdown_timeout"
    )
}

/// Syslog over UDP: one datagram per message (octet counting stripped).
/// UDP gives no delivery guarantee; send errors are logged, not retried.
async fn write_udp(mut rx: Queue, address: SocketAddr) -> Result<u64> {
    let bind: SocketAddr = if address.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()
    .context("wildcard address")?;
    let socket = UdpSocket::bind(bind)
        .await
        .context("binding a UDP socket")?;
    let mut sent = 0u64;
    let mut failed = 0u64;
    while let Some(chunk) = rx.recv().await {
        let mut rest = chunk.text.as_bytes();
        while let Some(space) = rest.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&rest[..space])
                .ok()
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let Some(msg) = rest.get(space + 1..space + 1 + len) else {
                break;
            };
            match socket.send_to(msg, address).await {
                Ok(_) => {
                    sent += 1;
                    rx.sent(1);
                }
                Err(e) => {
                    if failed == 0 {
                        tracing::warn!(destination = %address, error = %e, "UDP send failed; UDP drops messages when the receiver is away");
                    }
                    failed += 1;
                }
            }
            rest = &rest[space + 1 + len..];
        }
        // Handed to the network, which is as far as UDP goes.
        chunk.written();
    }
    if failed > 0 {
        tracing::warn!(destination = %address, failed, "UDP datagrams that could not be sent");
    }
    Ok(sent)
}
