//! Sources start one at a time. Starting an instance is mostly page faults
//! on its copy-on-write heap, and two instances starting at once on two
//! cores slow each other down by more than they gain: each copy-on-write
//! fault must flush the other core's TLB, and both contend for the
//! process's memory map (1,000 sources were up in 2.5 s one at a time,
//! 3.7 to 3.9 s two or all at a time; see docs/performance.md). A start
//! keeps the gate for at most [`StartGate::HOLD`], so that a script that
//! takes its time at import or in init() delays the others only that long.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

pub struct StartGate {
    permit: Arc<Semaphore>,
}

/// Held while a source starts; the gate opens for the next one when it is
/// dropped or after [`StartGate::HOLD`], whichever comes first.
pub struct Pass {
    permit: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
    timer: JoinHandle<()>,
}

impl StartGate {
    /// About twice what a start takes on the build machine.
    pub const HOLD: Duration = Duration::from_millis(5);

    pub fn new() -> StartGate {
        StartGate {
            permit: Arc::new(Semaphore::new(1)),
        }
    }

    pub async fn enter(&self) -> Pass {
        // The semaphore is never closed, so acquiring only waits.
        let permit = Arc::new(Mutex::new(self.permit.clone().acquire_owned().await.ok()));
        let held = permit.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(StartGate::HOLD).await;
            release(&held);
        });
        Pass { permit, timer }
    }
}

impl Default for StartGate {
    fn default() -> Self {
        StartGate::new()
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        self.timer.abort();
        release(&self.permit);
    }
}

fn release(permit: &Mutex<Option<OwnedSemaphorePermit>>) {
    drop(permit.lock().unwrap_or_else(|e| e.into_inner()).take());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_at_a_time_and_never_for_long() {
        let gate = StartGate::new();
        let first = gate.enter().await;
        // Taken: the next start waits...
        let second = tokio::time::timeout(Duration::from_millis(1), gate.enter()).await;
        assert!(second.is_err());
        drop(first);
        // ...until the first is done.
        let held = tokio::time::timeout(Duration::from_millis(100), gate.enter())
            .await
            .expect("the gate opens when a start is done");
        // A start that takes long opens the gate after HOLD all the same.
        let waited = std::time::Instant::now();
        let _next = gate.enter().await;
        assert!(waited.elapsed() >= StartGate::HOLD - Duration::from_millis(1));
        drop(held);
    }
}
