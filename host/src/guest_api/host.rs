//! The host side of the guest's `host` interface: every call a source's
//! guest can make into the host lands here, on the source's [`GuestApi`].
//!
//! The hot path of sandlog starts at `post_messages`: a block of messages
//! from the guest passes the [`Gate`], each checked message is rendered
//! into a batch by the source's [`Delivery`], and the batch goes to the
//! destinations; while they are behind, the guest stays suspended in this
//! call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::control::{Control, WaitEnds};
use super::gate::{Gate, LogBudget, clip};
use crate::bindings::sandlog::guest::{host, types};
use crate::bindings::{LogLevel, MessageBlock, PendingArea, Status};
use crate::pipeline::acks::AckState;
use crate::pipeline::delivery::{Delivery, Stats};
use crate::schedule::{Slice, TURNS};

/// The longest a source that heard its exit request waits for the others
/// to hear theirs.
const HEARING_WAIT: Duration = Duration::from_millis(250);

/// What a source's guest API holds: the source's name, the supervisor's
/// handle on it and its way to the destinations.
pub struct GuestApi {
    name: Arc<str>,
    control: Arc<Control>,
    gate: Gate,
    delivery: Delivery,
    log_budget: Arc<LogBudget>,
    /// The ack count given by the last prepare-wait, until a WASI poll
    /// takes it.
    announced_wait: Option<u64>,
    /// The guest's use of its `cpu` slice; every wait in a call goes
    /// through [`TURNS`] with it.
    slice: Slice,
    /// Where the guest says its buffer is (see [`super::pending`]).
    pending: Option<PendingArea>,
    /// How many messages the guest has handed over, refused ones included.
    handed: u64,
    /// The guest was told to exit and has not stepped aside since.
    step_aside_after_exit: bool,
}

impl GuestApi {
    pub fn new(
        name: Arc<str>,
        control: Arc<Control>,
        delivery: Delivery,
        max_message_size: u64,
        log_budget: Arc<LogBudget>,
    ) -> Self {
        Self {
            gate: Gate::new(name.clone(), max_message_size),
            name,
            control,
            delivery,
            log_budget,
            announced_wait: None,
            slice: Slice::new(crate::schedule::COARSE_TICK),
            pending: None,
            handed: 0,
            step_aside_after_exit: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the guest last said its buffer is.
    pub fn pending_area(&self) -> Option<&PendingArea> {
        self.pending.as_ref()
    }

    /// How many messages the guest has handed over.
    pub fn handed(&self) -> u64 {
        self.handed
    }

    /// The supervisor wants the guest stopped by a trap at its next epoch
    /// tick.
    pub fn interrupt_wanted(&self) -> bool {
        self.control.interrupt_wanted()
    }

    /// Hands on the messages taken from the memory of the guest after it
    /// trapped, as if it had posted them: through the gate.
    pub async fn post_recovered(&mut self, block: MessageBlock) {
        let n = super::gate::block_len(&block);
        tracing::warn!(source = %self.name, messages = n, "took the messages the guest had posted but not handed over from its memory");
        let _ = host::Host::post_messages(self, block).await;
    }

    /// The guest's use of its `cpu` slice, for the epoch deadline.
    pub fn slice_mut(&mut self) -> &mut Slice {
        &mut self.slice
    }

    /// What ends the wait the guest announced with prepare-wait, for the
    /// first WASI poll after it; None when it announced none.
    pub fn take_announced_wait(&mut self) -> Option<WaitEnds> {
        let wake_at_acked = self.announced_wait.take()?;
        Some(self.wait_ends(wake_at_acked))
    }

    fn wait_ends(&self, wake_at_acked: u64) -> WaitEnds {
        WaitEnds::new(
            self.control.clone(),
            self.delivery.ack_state().clone(),
            wake_at_acked,
        )
    }

    /// Hands on everything the guest posted and waits until the
    /// destinations have it; says what of its log output was suppressed.
    pub async fn finish(&mut self) {
        self.delivery.finish().await;
        self.log_budget.finish();
    }

    /// What the source may put into the host log.
    pub fn log_budget(&self) -> Arc<LogBudget> {
        self.log_budget.clone()
    }

    pub fn stats(&self) -> Stats {
        self.delivery.stats()
    }

    /// How many messages the guest has posted, and how far the
    /// destinations have written them.
    pub fn acks(&self) -> (u64, Arc<AckState>) {
        self.delivery.acks()
    }

    /// Hands on what unbuffered mode holds, waiting as the guest.
    async fn close_pending(&mut self) {
        TURNS
            .wait(&mut self.slice, self.delivery.close_pending())
            .await;
    }

    /// What the guest hears at a contact. Any contact but the wait itself
    /// withdraws an announced wait, so that it cannot end a later one.
    fn status(&mut self) -> Status {
        self.announced_wait = None;
        let exit = self.control.take();
        self.step_aside_after_exit |= exit;
        Status {
            exit,
            acked: self.delivery.ack_state().acked(),
        }
    }
}

impl types::Host for GuestApi {}

impl host::Host for GuestApi {
    async fn post_message(&mut self, mut block: MessageBlock) -> Status {
        let started = Instant::now();
        let delivery = &mut self.delivery;
        let verdict = self
            .gate
            .check_block(&mut block, |msg| delivery.render_pending(msg));
        let posted = verdict.posted;
        delivery.count_pending(verdict, started);
        TURNS.wait(&mut self.slice, delivery.bound_pending()).await;
        self.handed += posted;
        self.status()
    }

    async fn close_batch(&mut self) {
        TURNS
            .wait(&mut self.slice, self.delivery.close_batch())
            .await;
    }

    async fn post_messages(&mut self, mut block: MessageBlock) -> Status {
        let delivery = &mut self.delivery;
        let mut batch = delivery.batch(block.values.len() + block.names.len() * 2 + 1024);
        let verdict = self
            .gate
            .check_block(&mut block, |msg| delivery.render(&mut batch, msg));
        let closes = block.closes.as_ref().map(|c| c.len() as u64);
        let posted = verdict.posted;
        TURNS
            .wait(&mut self.slice, delivery.post_block(batch, verdict, closes))
            .await;
        // Counted once the block is on its way: a call dropped before that
        // leaves the messages to be taken from the guest's memory.
        self.handed += posted;
        self.status()
    }

    async fn set_transport_name(&mut self, name: String) {
        if self.gate.transport(&name) {
            TURNS
                .wait(&mut self.slice, self.delivery.set_transport(&name))
                .await;
        }
    }

    async fn sleep(&mut self, nanos: u64, wake_at_acked: u64) -> Status {
        self.close_pending().await;
        let ends = self.wait_ends(wake_at_acked);
        let length = Duration::from_nanos(nanos);
        let rest = async {
            tokio::select! {
                _ = tokio::time::sleep(length) => {}
                _ = ends.came() => {}
            }
        };
        match Instant::now().checked_add(length) {
            Some(at) => TURNS.wait_until(&mut self.slice, at, rest).await,
            None => TURNS.wait(&mut self.slice, rest).await,
        }
        self.status()
    }

    async fn poll(&mut self) -> Status {
        self.close_pending().await;
        // The guest polls once its request_exit() has run. When many
        // sources stop together, each waits here (for a bounded time: one
        // may be too busy to hear) until the others have heard theirs, so
        // that every source hears request_exit() before any runs the rest
        // of its exit (its last posts, deinit(), teardown).
        if std::mem::take(&mut self.step_aside_after_exit) {
            self.control.heard();
            let heard = tokio::time::timeout(HEARING_WAIT, self.control.others_heard());
            TURNS.wait(&mut self.slice, heard).await.ok();
        }
        self.status()
    }

    async fn prepare_wait(&mut self, wake_at_acked: u64) -> Status {
        self.close_pending().await;
        let status = self.status();
        self.announced_wait = Some(wake_at_acked);
        status
    }

    async fn register_pending(&mut self, area: PendingArea) {
        // Checked only when it is read (see pending.rs): an address is
        // just a number until then.
        self.pending = Some(area);
    }

    async fn log(&mut self, level: LogLevel, text: String) {
        let enabled = match level {
            LogLevel::Trace => tracing::enabled!(tracing::Level::TRACE),
            LogLevel::Debug => tracing::enabled!(tracing::Level::DEBUG),
            LogLevel::Info => tracing::enabled!(tracing::Level::INFO),
            LogLevel::Warn => tracing::enabled!(tracing::Level::WARN),
            LogLevel::Error => tracing::enabled!(tracing::Level::ERROR),
        };
        // Lines the host log drops anyway cost the source nothing.
        if !enabled || !self.log_budget.admit() {
            return;
        }
        let text = clip(&text);
        let source = &*self.name;
        match level {
            LogLevel::Trace => tracing::trace!(source, "{text}"),
            LogLevel::Debug => tracing::debug!(source, "{text}"),
            LogLevel::Info => tracing::info!(source, "{text}"),
            LogLevel::Warn => tracing::warn!(source, "{text}"),
            LogLevel::Error => tracing::error!(source, "{text}"),
        }
    }
}
