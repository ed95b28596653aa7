//! A source's messages on their way from the guest to the destinations:
//! each block is checked, rendered once per encoding the destinations use,
//! and handed to the sinks with the ack count it completes.
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
use std::time::Duration;

use crate::acks::AckState;
use crate::bindings::MessageBlock;
use crate::metrics::SourceMetrics;
use crate::render::{self, Encoding, MessageView, Received, SourceFields};
use crate::sink::Sinks;

/// Counters of one source's traffic.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub messages: u64,
    pub batches: u64,
    pub bytes: u64,
    /// Time spent rendering posted messages, in the host.
    pub render_time: Duration,
}

/// Turns blocks from the guest into text, one per encoding.
struct Renderer {
    name: Arc<str>,
    fields: SourceFields,
    encodings: Vec<Encoding>,
    max_message_size: u64,
    metrics: Arc<SourceMetrics>,
    scratch: String,
    stats: Stats,
    /// A destination refused this source's messages (said once).
    failed: bool,
}

impl Renderer {
    /// Renders a block of messages into `texts`; returns how many were
    /// rendered. Everything in the block comes from the guest: a block
    /// whose lengths do not add up is refused (and said so), never read out
    /// of bounds, and an oversized message is refused even from a guest
    /// that skipped its own check.
    fn render_block(
        &mut self,
        block: &MessageBlock,
        texts: &mut Vec<String>,
        received: &Received,
    ) -> u64 {
        texts.resize_with(self.encodings.len(), String::new);
        let started = std::time::Instant::now();
        let decoded = (
            render::latin1(&block.values),
            render::latin1(&block.value_lengths).map(|b| render::packed_u32s(&b)),
            render::latin1(&block.counts).map(|b| render::packed_u32s(&b)),
        );
        let (Some(values), Some(value_lengths), Some(counts)) = decoded else {
            tracing::error!(source = %self.name, "malformed message block from the guest (not bytes); refused");
            return 0;
        };
        let mut pairs = Vec::new();
        let split = render::split_pairs(&block.names, &values, &value_lengths, &mut pairs);
        let mut extras = block.extras.iter().peekable();
        let mut at = 0usize;
        let mut rendered = 0u64;
        let mut refused_pairs = 0usize;
        for (index, &count) in counts.iter().enumerate() {
            let end = at.saturating_add(count as usize);
            let (Some(()), Some(msg_pairs)) = (split, pairs.get(at..end)) else {
                tracing::error!(source = %self.name, refused = counts.len() - index, "malformed message block from the guest; refused");
                break;
            };
            let extra = match extras.peek() {
                Some((i, _)) if *i as usize == index => extras.next().map(|(_, e)| e),
                _ => None,
            };
            at = end;
            let size = render::message_size(msg_pairs, extra);
            if size > self.max_message_size {
                tracing::error!(source = %self.name, size, "refused a message over max_message_size");
                continue;
            }
            let view = MessageView {
                pairs: msg_pairs,
                extras: extra,
            };
            for (i, (text, &encoding)) in texts.iter_mut().zip(&self.encodings).enumerate() {
                let refused = render::encode(
                    text,
                    &mut self.scratch,
                    view,
                    &self.fields,
                    received,
                    encoding,
                );
                if i == 0 {
                    refused_pairs += refused;
                }
            }
            rendered += 1;
        }
        if refused_pairs > 0 {
            tracing::warn!(source = %self.name, refused_pairs, "refused pairs named like fields sandlog computes (SOURCE, PRI, ...)");
        }
        self.stats.messages += rendered;
        self.metrics.messages.fetch_add(rendered, Relaxed);
        self.metrics
            .dropped
            .fetch_add(counts.len() as u64 - rendered, Relaxed);
        self.stats.render_time += started.elapsed();
        rendered
    }

    fn count_batches(&mut self, batches: u64) {
        self.stats.batches += batches;
        self.metrics.batches.fetch_add(batches, Relaxed);
    }

    /// Hands rendered text to the destinations; once written, the acks
    /// reach `through`.
    async fn deliver(
        &mut self,
        sinks: &Sinks,
        acks: &Arc<AckState>,
        texts: Vec<String>,
        lines: u64,
        through: u64,
    ) {
        let bytes = texts.first().map_or(0, |t| t.len() as u64);
        self.stats.bytes += bytes;
        self.metrics.bytes.fetch_add(bytes, Relaxed);
        if !sinks.send(texts, lines, acks, through).await && !self.failed {
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
    /// Unbuffered mode: the batch not yet closed, one text per encoding.
    pending: Vec<String>,
    pending_lines: u64,
}

/// How many messages a block holds, as its counts say.
fn block_len(block: &MessageBlock) -> u64 {
    render::latin1(&block.counts).map_or(0, |b| (b.len() / 4) as u64)
}

impl Delivery {
    pub fn new(
        name: Arc<str>,
        fields: SourceFields,
        sinks: Sinks,
        max_message_size: u64,
        metrics: Arc<SourceMetrics>,
    ) -> Self {
        Self {
            render: Renderer {
                name,
                fields,
                encodings: sinks.encodings().to_vec(),
                max_message_size,
                metrics,
                scratch: String::new(),
                stats: Stats::default(),
                failed: false,
            },
            sinks,
            acks: Arc::new(AckState::default()),
            posted: 0,
            delivered: 0,
            pending: Vec::new(),
            pending_lines: 0,
        }
    }

    /// Unbuffered mode: one message, rendered now, handed on when its
    /// batch closes.
    pub fn post_one(&mut self, block: &MessageBlock) {
        self.posted += block_len(block);
        let mut texts = std::mem::take(&mut self.pending);
        let rendered = self
            .render
            .render_block(block, &mut texts, &Received::now());
        self.pending = texts;
        self.pending_lines += rendered;
    }

    /// Unbuffered mode: the batch is closed.
    pub async fn close_batch(&mut self) {
        if self.pending_lines > 0 {
            self.render.count_batches(1);
        }
        self.close_pending().await;
    }

    /// Hands on what unbuffered mode holds. Refused messages count too, so
    /// that the acks reach them.
    pub async fn close_pending(&mut self) {
        if self.posted > self.delivered {
            let texts = std::mem::take(&mut self.pending);
            let lines = std::mem::take(&mut self.pending_lines);
            self.delivered = self.posted;
            self.render
                .deliver(&self.sinks, &self.acks, texts, lines, self.posted)
                .await;
        }
    }

    /// Buffered mode: a block, rendered and queued for the destinations.
    pub async fn post_block(&mut self, block: MessageBlock) {
        self.posted += block_len(&block);
        self.delivered = self.posted;
        let size = block.values.len() + block.names.len() * 2 + 1024;
        let mut texts: Vec<String> = self
            .render
            .encodings
            .iter()
            .map(|_| String::with_capacity(size))
            .collect();
        let rendered = self
            .render
            .render_block(&block, &mut texts, &Received::now());
        self.render
            .count_batches(block.closes.as_ref().map_or(rendered, |c| c.len() as u64));
        self.render
            .deliver(&self.sinks, &self.acks, texts, rendered, self.posted)
            .await;
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
