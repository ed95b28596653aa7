//! A source's messages on their way from the gate to the destinations:
//! each checked message is rendered once per encoding the destinations
//! use, and each batch handed to the sinks with the ack count it completes.
//!
//! This is the hot path. A block of the guest's buffer is rendered in the
//! host call that hands it over (0.2 µs a message, against some 3 µs the
//! guest spends making one; rendering on a task of its own measured slower,
//! the hand-off costing more than it saved) and queued for the
//! destinations, whose writers run on their own tasks; a full queue
//! suspends the guest. Unbuffered messages are rendered as they come and
//! handed over when their batch closes.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::acks::AckState;
use super::message::{MessageView, Verdict};
use super::queue::Sinks;
use super::render::{self, Buffer, Encoding, Received, Scratch, SourceFields};
use crate::metrics::SourceMetrics;

/// The most rendered text an unclosed unbuffered batch holds before it is
/// handed on without its close.
pub const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// Counters of one source's traffic.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub messages: u64,
    pub batches: u64,
    pub bytes: u64,
    /// Time spent checking and rendering posted messages, in the host.
    pub render_time: Duration,
}

/// Rendered messages on their way to the destinations: one text (or, for
/// a binary format, bytes) per encoding, all received at one time.
pub struct Batch {
    texts: Vec<Buffer>,
    lines: u64,
    received: Received,
    started: Instant,
}

/// Renders checked messages, one text per encoding.
struct Renderer {
    name: Arc<str>,
    fields: SourceFields,
    encodings: Vec<Encoding>,
    metrics: Arc<SourceMetrics>,
    scratch: Scratch,
    stats: Stats,
    /// A destination refused this source's messages (said once).
    failed: bool,
}

impl Renderer {
    fn batch(&self, capacity: usize) -> Batch {
        Batch {
            texts: self
                .encodings
                .iter()
                .map(|&encoding| Buffer::new(encoding, capacity))
                .collect(),
            lines: 0,
            received: Received::now(),
            started: Instant::now(),
        }
    }

    fn add(&mut self, batch: &mut Batch, msg: MessageView<'_>) {
        for (text, &encoding) in batch.texts.iter_mut().zip(&self.encodings) {
            render::render(
                text,
                &mut self.scratch,
                msg,
                &self.fields,
                &batch.received,
                encoding,
            );
        }
        batch.lines += 1;
    }

    /// Counts what the gate made of a block whose accepted messages went
    /// into a batch.
    fn count(&mut self, verdict: Verdict, started: Instant) {
        self.stats.messages += verdict.accepted;
        self.metrics.messages.fetch_add(verdict.accepted, Relaxed);
        self.metrics
            .dropped
            .fetch_add(verdict.posted - verdict.accepted, Relaxed);
        self.stats.render_time += started.elapsed();
    }

    fn count_batches(&mut self, batches: u64) {
        self.stats.batches += batches;
        self.metrics.batches.fetch_add(batches, Relaxed);
    }

    /// Hands rendered text to the destinations; once written, the acks
    /// reach `through`.
    async fn deliver(&mut self, sinks: &Sinks, acks: &Arc<AckState>, batch: Batch, through: u64) {
        let bytes = batch.texts.first().map_or(0, |t| t.len() as u64);
        self.stats.bytes += bytes;
        self.metrics.bytes.fetch_add(bytes, Relaxed);
        if !sinks
            .send(
                &self.name,
                batch.texts.into_iter().map(Buffer::into_bytes),
                batch.lines,
                acks,
                through,
            )
            .await
            && !self.failed
        {
            self.failed = true;
            tracing::error!(source = %self.name, "a destination has failed; messages of this source cannot be delivered");
        }
    }
}

/// One source's side of the way to the destinations.
pub struct Delivery {
    render: Renderer,
    sinks: Sinks,
    acks: Arc<AckState>,
    /// Messages received from the guest (refused ones included), and how
    /// many of them have been handed on; the acks count in the same units.
    posted: u64,
    delivered: u64,
    /// Unbuffered mode: the batch not yet closed.
    pending: Option<Batch>,
}

impl Delivery {
    pub fn new(
        name: Arc<str>,
        fields: SourceFields,
        sinks: Sinks,
        metrics: Arc<SourceMetrics>,
    ) -> Self {
        Self {
            render: Renderer {
                name,
                fields,
                encodings: sinks.encodings().to_vec(),
                metrics,
                scratch: Scratch::default(),
                stats: Stats::default(),
                failed: false,
            },
            sinks,
            acks: Arc::new(AckState::default()),
            posted: 0,
            delivered: 0,
            pending: None,
        }
    }

    /// A batch for a block from the guest's buffer of about `size` bytes.
    pub fn batch(&self, size: usize) -> Batch {
        self.render.batch(size)
    }

    /// Renders one checked message into `batch`.
    pub fn render(&mut self, batch: &mut Batch, msg: MessageView<'_>) {
        self.render.add(batch, msg);
    }

    /// Buffered mode: a checked block, rendered into `batch`, queued for
    /// the destinations. `closes` is how many batches the block closed.
    pub async fn post_block(&mut self, batch: Batch, verdict: Verdict, closes: Option<u64>) {
        // Unbuffered messages posted before this block go first: the acks
        // count messages in the order they were posted.
        self.close_pending().await;
        self.posted += verdict.posted;
        self.delivered = self.posted;
        self.render.count(verdict, batch.started);
        self.render
            .count_batches(closes.unwrap_or(verdict.accepted));
        self.render
            .deliver(&self.sinks, &self.acks, batch, self.posted)
            .await;
    }

    /// Unbuffered mode: renders one checked message into the batch that is
    /// open, which is handed on when it closes.
    pub fn render_pending(&mut self, msg: MessageView<'_>) {
        let batch = self.pending.get_or_insert_with(|| self.render.batch(0));
        // Each unbuffered message is received when it is posted.
        batch.received = Received::now();
        self.render.add(batch, msg);
    }

    /// Unbuffered mode: what the gate made of the message given to
    /// [`Self::render_pending`].
    pub fn count_pending(&mut self, verdict: Verdict, started: Instant) {
        self.posted += verdict.posted;
        self.render.count(verdict, started);
    }

    /// Unbuffered mode: a batch the script does not close is handed on all
    /// the same once it holds [`MAX_PENDING_BYTES`], so that the host never
    /// holds more of a source's messages than that.
    pub async fn bound_pending(&mut self) {
        if self
            .pending
            .as_ref()
            .is_some_and(|b| b.texts.iter().map(Buffer::len).sum::<usize>() >= MAX_PENDING_BYTES)
        {
            self.close_pending().await;
        }
    }

    /// Unbuffered mode: the batch is closed.
    pub async fn close_batch(&mut self) {
        if self.pending.as_ref().is_some_and(|b| b.lines > 0) {
            self.render.count_batches(1);
        }
        self.close_pending().await;
    }

    /// Hands on what unbuffered mode holds. Refused messages count too, so
    /// that the acks reach them.
    pub async fn close_pending(&mut self) {
        if self.posted > self.delivered {
            let batch = self.pending.take().unwrap_or_else(|| self.render.batch(0));
            self.delivered = self.posted;
            self.render
                .deliver(&self.sinks, &self.acks, batch, self.posted)
                .await;
        }
    }

    /// The TRANSPORT of the messages posted from now on.
    pub async fn set_transport(&mut self, name: &str) {
        self.close_pending().await;
        self.render.fields.set_transport(name);
    }

    /// Hands on everything posted so far.
    pub async fn finish(&mut self) {
        self.close_pending().await;
    }

    pub fn stats(&self) -> Stats {
        self.render.stats
    }

    /// How many messages the guest has posted, and how far the
    /// destinations have written them.
    pub fn acks(&self) -> (u64, Arc<AckState>) {
        (self.posted, self.acks.clone())
    }

    pub fn ack_state(&self) -> &Arc<AckState> {
        &self.acks
    }
}
