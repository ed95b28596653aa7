//! The host's handle on a running source, shared by the supervisor and the
//! source's guest API: how an exit request reaches a guest that is busy or
//! waiting in the host. AxoSyslog calls request_exit() from another
//! thread; an instance has one, so the request is marked here and the
//! guest is told at its next contact with the host, and a host wait ends
//! at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::pipeline::acks::AckState;

const EXIT_NONE: u8 = 0;
const EXIT_WANTED: u8 = 1;
const EXIT_TOLD: u8 = 2;

/// Whether the sources running run() have heard their exit request, while
/// the whole run stops.
///
/// When many sources stop together, most of the work of stopping is the
/// rest of each exit (last posts, deinit(), freeing the instance, whose
/// unmapping stalls every thread of the process); a source that has heard
/// request_exit() waits here for the others to hear theirs before it goes
/// on, so that the request reaches every source first.
#[derive(Default)]
pub struct Hearing {
    stopping: AtomicBool,
    /// Sources in run() whose request_exit() has not run.
    unheard: AtomicUsize,
    all_heard: Notify,
}

impl Hearing {
    /// The whole run stops: from now on a told source waits for the others.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn heard(&self) {
        if self.unheard.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.all_heard.notify_waiters();
        }
    }

    /// Resolves once every source in run() has heard its exit request, at
    /// once unless the whole run is stopping.
    pub async fn all_heard(&self) {
        loop {
            let notified = self.all_heard.notified();
            if !self.stopping.load(Ordering::SeqCst) || self.unheard.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A source's run() in progress, counted in [`Hearing`] until its
/// request_exit() has run or run() ends.
pub struct InRun<'a>(&'a Control);

impl Drop for InRun<'_> {
    fn drop(&mut self) {
        self.0.uncount();
    }
}

/// The host's handle on a running source, shared with its store: how the
/// supervisor asks a source to exit while the guest is busy.
#[derive(Default)]
pub struct Control {
    exit: AtomicU8,
    wake: Notify,
    /// The guest is to be stopped where it is, by a trap at its next
    /// epoch tick (see [`crate::guest_api::pending`]).
    interrupt: AtomicBool,
    hearing: Arc<Hearing>,
    /// Counted in `hearing` as a source in run() that has not heard its
    /// exit request.
    counted: AtomicBool,
}

impl Control {
    /// A source's handle that counts its exit request in `hearing`.
    pub fn new(hearing: Arc<Hearing>) -> Self {
        Self {
            exit: AtomicU8::new(EXIT_NONE),
            wake: Notify::new(),
            interrupt: AtomicBool::new(false),
            hearing,
            counted: AtomicBool::new(false),
        }
    }

    /// Asks the source to exit: its request_exit() runs at the guest's next
    /// contact with the host, and a host sleep ends now.
    pub fn request_exit(&self) {
        let _ =
            self.exit
                .compare_exchange(EXIT_NONE, EXIT_WANTED, Ordering::SeqCst, Ordering::SeqCst);
        // Wakes every `notified()` future created before this call, polled or
        // not; each waiter checks the state after creating its future.
        self.wake.notify_waiters();
    }

    pub fn exit_requested(&self) -> bool {
        self.exit.load(Ordering::SeqCst) != EXIT_NONE
    }

    /// An exit is wanted and the guest has not been told yet.
    pub(crate) fn exit_pending(&self) -> bool {
        self.exit.load(Ordering::SeqCst) == EXIT_WANTED
    }

    /// True once, when an exit is wanted and the guest has not been told.
    pub(crate) fn take(&self) -> bool {
        self.exit
            .compare_exchange(EXIT_WANTED, EXIT_TOLD, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// The guest's request_exit() has run.
    pub(crate) fn heard(&self) {
        self.uncount();
    }

    /// run() is being called: until its request_exit() has run, it counts
    /// as a source that has not heard its exit request.
    pub fn in_run(&self) -> InRun<'_> {
        if self.exit.load(Ordering::SeqCst) != EXIT_TOLD
            && !self.counted.swap(true, Ordering::SeqCst)
        {
            self.hearing.unheard.fetch_add(1, Ordering::SeqCst);
        }
        InRun(self)
    }

    fn uncount(&self) {
        if self.counted.swap(false, Ordering::SeqCst) {
            self.hearing.heard();
        }
    }

    /// Resolves once every source in run() has heard its exit request, at
    /// once unless the whole run is stopping.
    pub async fn others_heard(&self) {
        self.hearing.all_heard().await;
    }

    /// Stops the guest at its next epoch tick with a trap, whose core dump
    /// holds the messages it had not handed over.
    pub fn interrupt(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }

    pub fn interrupt_wanted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }

    /// The guest is told through the request-exit export instead.
    pub fn mark_told(&self) {
        self.exit.store(EXIT_TOLD, Ordering::SeqCst);
        self.uncount();
    }

    /// A future that resolves at the next exit request; made before the
    /// state is checked, it misses none.
    pub fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// Resolves once an exit has been requested.
    pub async fn requested(&self) {
        loop {
            let notified = self.wake.notified();
            if self.exit_requested() {
                return;
            }
            notified.await;
        }
    }

    /// Resolves while an exit is wanted that the guest has not been told.
    async fn pending(&self) {
        loop {
            let notified = self.wake.notified();
            if self.exit_pending() {
                return;
            }
            notified.await;
        }
    }
}

/// What ends a wait the guest announced (prepare-wait) before it: an exit
/// request it has not been told, or the acks it waits for.
pub struct WaitEnds {
    control: Arc<Control>,
    acks: Arc<AckState>,
    /// The ack count that ends the wait; 0: acks do not.
    wake_at_acked: u64,
}

impl WaitEnds {
    pub fn new(control: Arc<Control>, acks: Arc<AckState>, wake_at_acked: u64) -> Self {
        Self {
            control,
            acks,
            wake_at_acked,
        }
    }

    /// Resolves when the wait should end (at once if it should already).
    pub async fn came(&self) {
        let acked = async {
            if self.wake_at_acked == 0 {
                std::future::pending::<()>().await;
            }
            self.acks.reached(self.wake_at_acked).await;
        };
        tokio::select! {
            _ = self.control.pending() => {}
            _ = acked => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Whether `all_heard` resolves within a moment.
    async fn settles(hearing: &Hearing) -> bool {
        tokio::time::timeout(Duration::from_millis(50), hearing.all_heard())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_told_source_waits_for_the_others_only_while_the_run_stops() {
        let hearing = Arc::new(Hearing::default());
        let (a, b) = (Control::new(hearing.clone()), Control::new(hearing.clone()));
        let (_run_a, _run_b) = (a.in_run(), b.in_run());
        // A reload stopping one source: nobody waits for the others.
        assert!(settles(&hearing).await);
        hearing.stopping();
        a.request_exit();
        b.request_exit();
        assert!(a.take());
        a.heard();
        assert!(!settles(&hearing).await, "b has not heard its request");
        // Told is not heard: b's request_exit() has not run yet.
        assert!(b.take());
        assert!(!settles(&hearing).await);
        b.heard();
        assert!(settles(&hearing).await);
    }

    #[tokio::test]
    async fn a_source_whose_run_ends_unheard_holds_nobody_back() {
        let hearing = Arc::new(Hearing::default());
        hearing.stopping();
        let a = Control::new(hearing.clone());
        let run = a.in_run();
        a.request_exit();
        assert!(!settles(&hearing).await);
        drop(run);
        assert!(settles(&hearing).await);
        // Counted once however often it is heard.
        let again = a.in_run();
        a.heard();
        a.heard();
        drop(again);
        assert_eq!(hearing.unheard.load(Ordering::SeqCst), 0);
    }
}
