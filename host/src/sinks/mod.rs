//! Destinations: each runs as its own task, a writer that takes rendered
//! chunks from its bounded queue ([`crate::pipeline::queue`]) and writes
//! them, and acks each chunk once it is as durable as that destination
//! makes it. One file per kind, each with its config (raw and checked)
//! next to its writer:
//!
//! - [`stdout`]: JSON lines on standard output;
//! - [`file`]: lines appended to a file, rotation followed;
//! - [`syslog`]: a syslog receiver over TCP, RELP or a Unix socket;
//! - [`udp`]: a syslog receiver over UDP;
//! - [`kafka`]: records produced to Kafka, acked once the broker confirms;
//! - [`otlp`]: OTLP log records sent to an OpenTelemetry receiver, acked
//!   once it accepts them.

pub mod file;
pub mod kafka;
pub mod otlp;
pub mod stdout;
pub mod syslog;
pub mod udp;

use std::sync::Arc;

use anyhow::{Result, bail};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::file::{FileSpec, FileWriter};
use self::kafka::{KafkaSpec, KafkaWriter};
use self::otlp::{OtlpSpec, OtlpWriter};
use self::stdout::{StdoutSpec, StreamWriter};
use self::syslog::{SyslogSpec, SyslogTarget};
use self::udp::UdpWriter;
use crate::metrics::Registry;
use crate::pipeline::queue::{Chunk, Queue, Sinks};
use crate::pipeline::render::{Encoding, Framing, OTLP};

/// Where messages go, and in which format.
#[derive(Debug, Clone, PartialEq)]
pub enum DestinationSpec {
    Stdout(StdoutSpec),
    File(FileSpec),
    Syslog(SyslogSpec),
    Kafka(KafkaSpec),
    Otlp(OtlpSpec),
}

impl DestinationSpec {
    /// How this destination's messages are written.
    pub fn encoding(&self) -> Encoding {
        match self {
            DestinationSpec::Stdout(s) => Encoding {
                format: s.format,
                framing: Framing::Newline,
            },
            DestinationSpec::File(f) => Encoding {
                format: f.format,
                framing: Framing::Newline,
            },
            DestinationSpec::Syslog(s) => Encoding {
                format: s.format,
                framing: Framing::OctetCounted,
            },
            DestinationSpec::Kafka(k) => Encoding {
                format: k.format,
                framing: k.framing(),
            },
            DestinationSpec::Otlp(_) => OTLP,
        }
    }

    /// A name for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            DestinationSpec::Stdout(_) => "stdout".into(),
            DestinationSpec::File(f) => f.path.display().to_string(),
            DestinationSpec::Syslog(s) => format!("syslog {}", s.target),
            DestinationSpec::Kafka(k) => k.describe(),
            DestinationSpec::Otlp(o) => o.describe(),
        }
    }

    /// Opens the destination and returns its writer, which runs until its
    /// queue closes.
    async fn writer(&self, queue: Queue) -> Result<Writer> {
        Ok(match self {
            DestinationSpec::Stdout(_) => {
                Box::pin(StreamWriter::new(queue, tokio::io::stdout()).run())
            }
            DestinationSpec::File(spec) => Box::pin(FileWriter::open(queue, spec).await?.run()),
            DestinationSpec::Syslog(SyslogSpec {
                target: SyslogTarget::Udp(address),
                ..
            }) => Box::pin(UdpWriter::bind(queue, *address).await?.run()),
            DestinationSpec::Syslog(
                spec @ SyslogSpec {
                    target: SyslogTarget::Relp(address),
                    ..
                },
            ) => Box::pin(syslog::relp::RelpWriter::new(queue, spec, *address).run()),
            DestinationSpec::Syslog(spec) => Box::pin(syslog::StreamWriter::new(queue, spec).run()),
            DestinationSpec::Kafka(spec) => Box::pin(KafkaWriter::open(queue, spec).await?.run()),
            DestinationSpec::Otlp(spec) => Box::pin(OtlpWriter::open(queue, spec).await?.run()),
        })
    }
}

/// A destination's writer task: the messages it wrote, or why it gave up.
type Writer = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64>> + Send>>;

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
        let mut sinks = Sinks::default();
        let mut tasks = Vec::new();
        let (failed_tx, failed) = watch::channel(None);
        for spec in specs {
            let name = spec.describe();
            let queue = sinks.add(spec.encoding(), registry.destination(&name));
            let writer = spec.writer(queue).await?;
            let task = tokio::spawn(reporting_failure(name.clone(), writer, failed_tx.clone()));
            tasks.push((name, task));
        }
        Ok(SinkSet {
            sinks,
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

/// The chunks of one burst of writes, acked together once they are as
/// durable as the destination makes them.
#[derive(Default)]
pub(crate) struct Burst {
    chunks: Vec<Arc<Chunk>>,
}

impl Burst {
    /// Writes `first` and every chunk already queued behind it, then
    /// flushes: lines reach the destination promptly without a flush per
    /// message. Returns the messages written.
    pub(crate) async fn write<W: AsyncWrite + Unpin>(
        &mut self,
        out: &mut BufWriter<W>,
        queue: &mut Queue,
        first: Arc<Chunk>,
    ) -> Result<u64> {
        let mut lines = first.lines;
        out.write_all(&first.text).await?;
        self.chunks.push(first);
        while let Ok(chunk) = queue.try_recv() {
            lines += chunk.lines;
            out.write_all(&chunk.text).await?;
            self.chunks.push(chunk);
        }
        out.flush().await?;
        Ok(lines)
    }

    /// The burst is written: its chunks are acked.
    pub(crate) fn ack(&mut self) {
        for chunk in self.chunks.drain(..) {
            chunk.written();
        }
    }
}
