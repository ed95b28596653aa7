//! The queues between the sources and the destinations. Each destination
//! has its own bounded queue of rendered chunks; a source's [`Sinks`]
//! hands each destination the chunk in its encoding and waits while a
//! queue is full, which suspends the posting guest: a slow or unreachable
//! destination slows its sources down instead of losing messages or
//! growing without bound. Each chunk carries the ack token that moves the
//! source's acks once every destination has written it.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::mpsc;

use super::acks::{AckState, AckToken};
use super::render::Encoding;
use crate::metrics::DestinationMetrics;

/// A destination's end of its queue: counts what it takes and sends.
pub struct Queue {
    rx: mpsc::Receiver<Arc<Chunk>>,
    metrics: Arc<DestinationMetrics>,
}

impl Queue {
    /// The destination's counters.
    pub fn metrics(&self) -> &DestinationMetrics {
        &self.metrics
    }

    pub async fn recv(&mut self) -> Option<Arc<Chunk>> {
        let c = self.rx.recv().await;
        if c.is_some() {
            self.metrics.queued.fetch_sub(1, Relaxed);
        }
        c
    }

    pub fn try_recv(&mut self) -> Result<Arc<Chunk>, mpsc::error::TryRecvError> {
        let c = self.rx.try_recv();
        if c.is_ok() {
            self.metrics.queued.fetch_sub(1, Relaxed);
        }
        c
    }

    pub fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    pub fn sent(&self, messages: u64) {
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
    pub fn written(&self) {
        self.ack.done();
    }
}

/// How many chunks may wait for one destination.
const QUEUE_CHUNKS: usize = 64;

/// The sending side of every destination; cloned into each source.
#[derive(Clone, Default)]
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
        self.queues.push((index, tx, metrics.clone()));
        Queue { rx, metrics }
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
