//! The host's handle on a running source, shared by the supervisor and the
//! source's guest API: how an exit request reaches a guest that is busy or
//! waiting in the host. AxoSyslog calls request_exit() from another
//! thread; an instance has one, so the request is marked here and the
//! guest is told at its next contact with the host, and a host wait ends
//! at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use tokio::sync::Notify;

use crate::pipeline::acks::AckState;

const EXIT_NONE: u8 = 0;
const EXIT_WANTED: u8 = 1;
const EXIT_TOLD: u8 = 2;

/// The host's handle on a running source, shared with its store: how the
/// supervisor asks a source to exit while the guest is busy.
#[derive(Default)]
pub struct Control {
    exit: AtomicU8,
    wake: Notify,
    /// The guest is to be stopped where it is, by a trap at its next
    /// epoch tick (see [`crate::guest_api::pending`]).
    interrupt: AtomicBool,
}

impl Control {
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
