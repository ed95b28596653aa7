//! The queues between the sources and the destinations. Each destination
//! has its own queue of rendered chunks, bounded in chunks and in bytes
//! ([`QUEUE_CHUNKS`], [`QUEUE_BYTES`]); a source's [`Sinks`]
//! hands each destination the chunk in its encoding and waits while a
//! queue is full, which suspends the posting guest: a slow or unreachable
//! destination slows its sources down instead of losing messages or
//! growing without bound. Each chunk carries the ack token that moves the
//! source's acks once every destination has written it.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::acks::{AckState, AckToken};
use super::render::Encoding;
use crate::metrics::DestinationMetrics;

/// A destination's end of its queue: counts what it takes and sends.
pub struct Queue {
    rx: mpsc::Receiver<Queued>,
    metrics: Arc<DestinationMetrics>,
}

/// A chunk in a queue, holding its bytes of the queue's byte bound until
/// the destination takes it.
struct Queued {
    chunk: Arc<Chunk>,
    bytes: OwnedSemaphorePermit,
}

impl Queue {
    /// The destination's counters.
    pub fn metrics(&self) -> &DestinationMetrics {
        &self.metrics
    }

    /// The destination's counters, for callbacks that outlive a borrow.
    pub fn metrics_handle(&self) -> Arc<DestinationMetrics> {
        self.metrics.clone()
    }

    pub async fn recv(&mut self) -> Option<Arc<Chunk>> {
        let q = self.rx.recv().await?;
        Some(self.taken(q))
    }

    pub fn try_recv(&mut self) -> Result<Arc<Chunk>, mpsc::error::TryRecvError> {
        let q = self.rx.try_recv()?;
        Ok(self.taken(q))
    }

    fn taken(&self, q: Queued) -> Arc<Chunk> {
        self.metrics.queued.fetch_sub(1, Relaxed);
        self.metrics
            .queued_bytes
            .fetch_sub(q.bytes.num_permits() as u64, Relaxed);
        q.chunk
    }

    pub fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    pub fn sent(&self, messages: u64) {
        self.metrics.sent.fetch_add(messages, Relaxed);
    }
}

/// Rendered messages of one source in one encoding: text for the text
/// formats, protobuf for OTLP.
pub struct Chunk {
    pub text: Vec<u8>,
    pub lines: u64,
    /// The source's name (shared, not copied per chunk), for destinations
    /// that key or route by source.
    pub source: Arc<str>,
    /// Marked once this destination has written the chunk.
    ack: Arc<AckToken>,
}

impl Chunk {
    /// This destination has written (and flushed) the chunk.
    pub fn written(&self) {
        self.ack.done();
    }
}

#[cfg(test)]
impl Chunk {
    /// A chunk of `source` outside any queue, for the writers' tests.
    pub fn for_test(text: Vec<u8>, lines: u64, source: &str) -> Arc<Chunk> {
        Arc::new(Chunk {
            text,
            lines,
            source: source.into(),
            ack: AckToken::new(Arc::new(AckState::default()), lines, 1),
        })
    }
}

/// How many chunks may wait for one destination.
pub const QUEUE_CHUNKS: usize = 64;

/// How many bytes of rendered text may wait for one destination. A chunk
/// larger than this on its own waits for the queue to be empty.
pub const QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// The sending side of every destination; cloned into each source.
#[derive(Clone, Default)]
pub struct Sinks {
    /// The distinct encodings the destinations use, in a fixed order.
    encodings: Arc<[Encoding]>,
    /// Each destination's queue, the index of its encoding, its metrics.
    queues: Vec<Sender>,
}

/// The sending side of one destination's queue.
#[derive(Clone)]
struct Sender {
    encoding: usize,
    tx: mpsc::Sender<Queued>,
    /// The queue's byte bound: a permit a byte queued.
    bytes: Arc<Semaphore>,
    metrics: Arc<DestinationMetrics>,
}

impl Sinks {
    /// The encodings a source renders its messages in; `send` takes one
    /// rendering per encoding, in this order.
    pub fn encodings(&self) -> &[Encoding] {
        &self.encodings
    }

    /// Adds a destination that takes `encoding`; returns its end of the
    /// queue.
    pub fn add(&mut self, encoding: Encoding, metrics: Arc<DestinationMetrics>) -> Queue {
        let index = match self.encodings.iter().position(|e| *e == encoding) {
            Some(i) => i,
            None => {
                let mut all = self.encodings.to_vec();
                all.push(encoding);
                self.encodings = all.into();
                self.encodings.len() - 1
            }
        };
        let (tx, rx) = mpsc::channel(QUEUE_CHUNKS);
        self.queues.push(Sender {
            encoding: index,
            tx,
            bytes: Arc::new(Semaphore::new(QUEUE_BYTES)),
            metrics: metrics.clone(),
        });
        Queue { rx, metrics }
    }

    /// The sending side of some of the destinations (by index in the
    /// config), for a source that feeds only those.
    pub fn select(&self, which: &[usize]) -> Sinks {
        let mut encodings: Vec<Encoding> = Vec::new();
        let mut queues = Vec::new();
        for &i in which {
            let Some(sender) = self.queues.get(i) else {
                continue;
            };
            let encoding = self.encodings[sender.encoding];
            let index = match encodings.iter().position(|e| *e == encoding) {
                Some(j) => j,
                None => {
                    encodings.push(encoding);
                    encodings.len() - 1
                }
            };
            queues.push(Sender {
                encoding: index,
                ..sender.clone()
            });
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
        source: &Arc<str>,
        texts: impl IntoIterator<Item = Vec<u8>>,
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
                    source: source.clone(),
                    ack: ack.clone(),
                })
            })
            .collect();
        let mut ok = true;
        for q in &self.queues {
            let Some(chunk) = chunks.get(q.encoding) else {
                continue;
            };
            let weight = chunk.text.len().clamp(1, QUEUE_BYTES) as u32;
            let Ok(bytes) = q.bytes.clone().acquire_many_owned(weight).await else {
                ok = false;
                continue;
            };
            q.metrics.queued.fetch_add(1, Relaxed);
            q.metrics.queued_bytes.fetch_add(u64::from(weight), Relaxed);
            let queued = Queued {
                chunk: chunk.clone(),
                bytes,
            };
            ok &= q.tx.send(queued).await.is_ok();
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::render::{Encoding, Format, Framing};
    use std::time::Duration;

    #[tokio::test]
    async fn a_queue_is_bounded_in_bytes_as_well_as_chunks() {
        let mut sinks = Sinks::default();
        let encoding = Encoding {
            format: Format::Json,
            framing: Framing::Newline,
        };
        let metrics = Arc::new(DestinationMetrics::default());
        let mut queue = sinks.add(encoding, metrics.clone());
        let acks = Arc::new(AckState::default());
        let big = || vec![vec![b'x'; QUEUE_BYTES / 2 + 1]];
        let source: Arc<str> = "s".into();
        assert!(sinks.send(&source, big(), 1, &acks, 1).await);
        assert_eq!(
            metrics.queued_bytes.load(Relaxed),
            (QUEUE_BYTES / 2 + 1) as u64
        );
        // Two chunks fit in 64 chunks, but not in the bytes.
        let second = sinks.send(&source, big(), 1, &acks, 2);
        tokio::pin!(second);
        let waited = tokio::time::timeout(Duration::from_millis(100), &mut second).await;
        assert!(waited.is_err(), "the second chunk passed the byte bound");
        let first = queue.recv().await.expect("the first chunk");
        assert_eq!(first.text.len(), QUEUE_BYTES / 2 + 1);
        assert!(
            second.await,
            "the second chunk goes once the first is taken"
        );
        assert_eq!(metrics.queued.load(Relaxed), 1);
    }
}
