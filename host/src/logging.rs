//! The host's own log: `tracing` events on stderr, as text or JSON lines,
//! each naming the source it concerns.
//!
//! The log never decides whether sources run: an event is formatted into
//! a bounded queue and a thread of its own writes the queue to stderr.
//! When stderr is slow or blocked (a full pipe, a stalled reader) the queue
//! fills and further lines are dropped and counted; when stderr is closed
//! (its reader went away) writes fail and are counted. Nothing of that
//! blocks an executor thread or panics, and signals keep working. Dropped
//! lines are reported in the log once it flows again.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The format of the host log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Lines the queue to stderr holds at most.
const QUEUE_LINES: usize = 8192;

/// What the log could not write.
#[derive(Debug, Default)]
pub struct Dropped {
    /// Lines dropped because the queue to stderr was full.
    pub full: AtomicU64,
    /// Writes to stderr that failed (a closed stderr).
    pub failed: AtomicU64,
}

/// The host log's counters, for the metrics.
pub fn dropped() -> &'static Dropped {
    static DROPPED: std::sync::OnceLock<Dropped> = std::sync::OnceLock::new();
    DROPPED.get_or_init(Dropped::default)
}

/// The writer half: each event is formatted into a buffer, which goes into
/// the queue whole when the event is done.
#[derive(Clone)]
struct Queue {
    tx: SyncSender<Vec<u8>>,
}

/// One event's line.
struct Line {
    buf: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
}

impl Write for Line {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        match self.tx.try_send(std::mem::take(&mut self.buf)) {
            Ok(()) => {
                SENT.fetch_add(1, Relaxed);
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                dropped().full.fetch_add(1, Relaxed);
            }
        }
    }
}

impl<'a> MakeWriter<'a> for Queue {
    type Writer = Line;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            buf: Vec::with_capacity(256),
            tx: self.tx.clone(),
        }
    }
}

/// Writes the queue to `out` until every sender is gone; failed writes
/// are counted, dropped lines reported once writing works again.
fn drain(rx: Receiver<Vec<u8>>, mut out: impl Write) {
    let mut reported = 0u64;
    while let Ok(line) = rx.recv() {
        let written = out.write_all(&line).and_then(|()| out.flush());
        DONE.fetch_add(1, Relaxed);
        if written.is_err() {
            dropped().failed.fetch_add(1, Relaxed);
            continue;
        }
        let full = dropped().full.load(Relaxed);
        if full > reported {
            let note = format!(
                "sandlog: {} host log lines were dropped: stderr did not keep up\n",
                full - reported
            );
            reported = full;
            if out.write_all(note.as_bytes()).is_err() {
                dropped().failed.fetch_add(1, Relaxed);
            }
        }
    }
    let _ = out.flush();
}

/// Lines handed to the writer thread, and lines it has dealt with.
static SENT: AtomicU64 = AtomicU64::new(0);
static DONE: AtomicU64 = AtomicU64::new(0);

/// Dropped when the process is about to exit: waits (half a second at
/// most) until the writer thread has written what is queued.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        let sent = SENT.load(Relaxed);
        let deadline = std::time::Instant::now() + Duration::from_millis(500);
        while DONE.load(Relaxed) < sent && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Installs the subscriber. `RUST_LOG` wins over `level` when set.
pub fn init(level: &str, format: LogFormat) -> Result<Guard> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => {
            EnvFilter::try_new(&v).with_context(|| format!("invalid RUST_LOG {v:?}"))?
        }
        _ => EnvFilter::try_new(level).with_context(|| format!("invalid log level {level:?}"))?,
    };
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE_LINES);
    std::thread::Builder::new()
        .name("sandlog-log".into())
        .spawn(move || drain(rx, std::io::stderr()))
        .context("starting the log writer thread")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Queue { tx })
        .log_internal_errors(false)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))?;
    Ok(Guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose every write fails, as stderr closed by its reader.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn a_closed_stderr_is_counted_not_fatal() {
        let (tx, rx) = sync_channel(4);
        let before = dropped().failed.load(Relaxed);
        tx.send(b"one\n".to_vec()).unwrap();
        tx.send(b"two\n".to_vec()).unwrap();
        drop(tx);
        drain(rx, Closed);
        assert!(dropped().failed.load(Relaxed) >= before + 2);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (tx, _rx) = sync_channel(1);
        let queue = Queue { tx };
        let before = dropped().full.load(Relaxed);
        for _ in 0..3 {
            let mut w = queue.make_writer();
            w.write_all(b"line\n").unwrap();
        }
        assert!(dropped().full.load(Relaxed) >= before + 2);
    }
}
