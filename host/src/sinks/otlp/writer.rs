//! The OTLP destination's task: takes chunks from its queue into requests
//! (bounded by `max_records` and `max_bytes`, sent once full or once the
//! first chunk has waited `max_delay`), sends one request at a time, and
//! acks a request's chunks once the receiver has accepted it.
//!
//! While the receiver is down or answers "retry", the same request is sent
//! again after a backoff (or the receiver's Retry-After); the queue fills
//! meanwhile and holds the sources back. A request the receiver refuses
//! for good is logged with the receiver's message, counted
//! (`sandlog_destination_rejected_total`) and acked as dropped: sending it
//! again would be refused again, and the sources must not be stuck behind
//! it. When sandlog stops, the last requests get `shutdown_timeout`; what
//! is left is reported by count.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::Instant;

use super::OtlpSpec;
use super::request::{Piece, Resources, pieces};
use super::transport::{Client, Outcome};
use crate::pipeline::queue::Queue;

/// The first wait before a request is sent again; it doubles up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How often a wait checks whether sandlog is stopping.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Sends chunks to an OTLP receiver and acks what it accepted.
pub struct OtlpWriter {
    queue: Queue,
    spec: OtlpSpec,
    client: Client,
    resources: Resources,
    destination: String,
    /// Pieces of a cut chunk that did not fit the last request.
    carried: VecDeque<Piece>,
    written: u64,
    /// Whether a failure was logged since the last accepted request.
    erring: bool,
    /// Set once sandlog is stopping.
    deadline: Option<Instant>,
}

impl OtlpWriter {
    /// Sets up the client. Nothing is connected until the first request: a
    /// receiver that is not up yet holds the sources back, like one that
    /// goes down.
    pub async fn open(queue: Queue, spec: &OtlpSpec) -> Result<OtlpWriter> {
        let destination = spec.describe();
        let client = Client::new(spec)?;
        let hostname = gethostname::gethostname().to_string_lossy().into_owned();
        Ok(OtlpWriter {
            queue,
            resources: Resources::new(&spec.service_name, &spec.resource_attributes, &hostname),
            spec: spec.clone(),
            client,
            destination,
            carried: VecDeque::new(),
            written: 0,
            erring: false,
            deadline: None,
        })
    }

    /// Sends until the queue closes and is empty; returns the messages the
    /// receiver accepted.
    pub async fn run(mut self) -> Result<u64> {
        let mut body = Vec::new();
        while let Some(batch) = self.next_batch().await {
            body.clear();
            self.resources.request(&batch, &mut body);
            self.deliver(batch, Bytes::copy_from_slice(&body)).await?;
        }
        Ok(self.written)
    }

    /// The pieces of the next request, once it is full or its first chunk
    /// has waited `max_delay`; None once the queue is closed and empty.
    async fn next_batch(&mut self) -> Option<Vec<Piece>> {
        let mut batch = Vec::new();
        let (mut records, mut bytes) = (0usize, 0usize);
        let mut full = self.fill(&mut batch, &mut records, &mut bytes);
        if batch.is_empty() {
            let chunk = self.queue.recv().await?;
            self.carried
                .extend(pieces(&chunk, self.spec.max_records, self.spec.max_bytes));
            full = self.fill(&mut batch, &mut records, &mut bytes);
        }
        let until = Instant::now() + self.spec.max_delay;
        while !full {
            let chunk = match self.queue.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    match tokio::time::timeout_at(until, self.queue.recv()).await {
                        Ok(Some(c)) => c,
                        Ok(None) | Err(_) => break,
                    }
                }
            };
            self.carried
                .extend(pieces(&chunk, self.spec.max_records, self.spec.max_bytes));
            full = self.fill(&mut batch, &mut records, &mut bytes);
        }
        Some(batch)
    }

    /// Moves carried pieces into `batch` while they fit; true once the
    /// next one does not (the request is full).
    fn fill(&mut self, batch: &mut Vec<Piece>, records: &mut usize, bytes: &mut usize) -> bool {
        while let Some(p) = self.carried.front() {
            let (r, b) = (p.records as usize, p.bytes().len());
            if !batch.is_empty()
                && (*records + r > self.spec.max_records || *bytes + b > self.spec.max_bytes)
            {
                return true;
            }
            *records += r;
            *bytes += b;
            if let Some(p) = self.carried.pop_front() {
                batch.push(p);
            }
        }
        *records >= self.spec.max_records || *bytes >= self.spec.max_bytes
    }

    /// Sends one request until the receiver accepts or refuses it for
    /// good, then acks its chunks.
    async fn deliver(&mut self, batch: Vec<Piece>, body: Bytes) -> Result<()> {
        let records: u64 = batch.iter().map(|p| p.records).sum();
        if body.is_empty() {
            // Only messages the gate refused: nothing to send.
            self.ack(&batch, false);
            return Ok(());
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.client.send(body.clone()).await {
                Outcome::Accepted { rejected, message } => {
                    if self.erring {
                        self.erring = false;
                        tracing::info!(destination = %self.destination, "the receiver accepts records again");
                    }
                    if rejected > 0 {
                        let rejected = u64::try_from(rejected).unwrap_or(0).min(records);
                        self.queue.metrics().rejected.fetch_add(rejected, Relaxed);
                        tracing::warn!(destination = %self.destination, rejected, receiver = %message, "the receiver refused part of a request");
                    }
                    self.ack(&batch, true);
                    return Ok(());
                }
                Outcome::Rejected { reason } => {
                    let metrics = self.queue.metrics();
                    metrics.errors.fetch_add(1, Relaxed);
                    metrics.rejected.fetch_add(records, Relaxed);
                    tracing::error!(destination = %self.destination, records, receiver = %reason, "the receiver refused a request for good; its records are dropped");
                    self.ack(&batch, false);
                    return Ok(());
                }
                Outcome::Retry { after, reason } => {
                    let metrics = self.queue.metrics();
                    metrics.errors.fetch_add(1, Relaxed);
                    metrics.retries.fetch_add(1, Relaxed);
                    let wait = after.unwrap_or(backoff);
                    if !self.erring {
                        self.erring = true;
                        tracing::warn!(destination = %self.destination, reason = %reason, "request not accepted; sending it again until it is");
                    } else {
                        tracing::debug!(destination = %self.destination, reason = %reason, "request not accepted");
                    }
                    if !self.wait(wait).await {
                        return Err(self.give_up(&batch));
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Acks the chunks whose last piece is in `batch`; `sent` counts their
    /// records as sent (else they were dropped).
    fn ack(&mut self, batch: &[Piece], sent: bool) {
        for p in batch {
            if sent {
                self.written += p.records;
                self.queue.sent(p.records);
            }
            if p.last {
                p.chunk.written();
            }
        }
    }

    /// Waits `wait` before the next attempt; false if sandlog is stopping
    /// and `shutdown_timeout` has passed (or would before then).
    async fn wait(&mut self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        loop {
            if self.queue.is_closed() {
                let timeout = self.spec.shutdown_timeout;
                let deadline = *self
                    .deadline
                    .get_or_insert_with(|| Instant::now() + timeout);
                if until > deadline {
                    return false;
                }
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            tokio::time::sleep((until - now).min(STOP_CHECK)).await;
        }
    }

    /// The receiver did not accept everything within `shutdown_timeout`:
    /// counts what is left, queued messages included.
    fn give_up(&mut self, batch: &[Piece]) -> anyhow::Error {
        let mut unsent: u64 = batch.iter().map(|p| p.records).sum();
        unsent += self.carried.drain(..).map(|p| p.records).sum::<u64>();
        while let Ok(chunk) = self.queue.try_recv() {
            unsent += chunk.lines;
        }
        anyhow::anyhow!(
            "{unsent} messages were not accepted by {} within shutdown_timeout ({}); their sources did not see them acked",
            self.destination,
            humantime_serde::re::humantime::format_duration(self.spec.shutdown_timeout)
        )
    }
}
