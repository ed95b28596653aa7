//! Acknowledgements: how far each source's messages have been written by
//! every destination they go to.
//!
//! A source counts the messages it hands over; each chunk it sends carries
//! an [`AckToken`] with the count up to and including its last message.
//! Every destination, once it has written (and, for a file, flushed) a
//! chunk, marks the token; when the last one has, the source's
//! [`AckState`] moves forward. Destinations write in order, so the count
//! only grows. The count is what flow control (log-iw-size) and the ack
//! trackers of the Python API are built on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// How many of a source's messages every destination has written.
#[derive(Default)]
pub struct AckState {
    acked: AtomicU64,
    changed: Notify,
}

impl AckState {
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    fn advance(&self, through: u64) {
        self.acked.fetch_max(through, Ordering::AcqRel);
        self.changed.notify_waiters();
    }

    /// Resolves once at least `count` messages are acked.
    pub async fn reached(&self, count: u64) {
        loop {
            let changed = self.changed.notified();
            if self.acked() >= count {
                return;
            }
            changed.await;
        }
    }
}

/// One chunk's share of the acks: done when every destination it was sent
/// to has written it.
pub struct AckToken {
    remaining: AtomicUsize,
    through: u64,
    state: Arc<AckState>,
}

impl AckToken {
    /// A token for a chunk going to `destinations` destinations that ends
    /// with the source's `through`th message.
    pub fn new(state: Arc<AckState>, through: u64, destinations: usize) -> Arc<AckToken> {
        let token = Arc::new(AckToken {
            remaining: AtomicUsize::new(destinations),
            through,
            state,
        });
        if destinations == 0 {
            token.state.advance(through);
        }
        token
    }

    /// One destination has written the chunk.
    pub fn done(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.advance(self.through);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acked_when_every_destination_has_written() {
        let state = Arc::new(AckState::default());
        let first = AckToken::new(state.clone(), 10, 2);
        let second = AckToken::new(state.clone(), 25, 2);
        first.done();
        assert_eq!(state.acked(), 0);
        first.done();
        assert_eq!(state.acked(), 10);
        second.done();
        second.done();
        assert_eq!(state.acked(), 25);
    }

    #[test]
    fn no_destination_acks_at_once() {
        let state = Arc::new(AckState::default());
        let _t = AckToken::new(state.clone(), 3, 0);
        assert_eq!(state.acked(), 3);
    }
}
