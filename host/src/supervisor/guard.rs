//! Guest calls that a stop always ends: on a graceful stop a call gets
//! the exit grace (for run(), after request_exit()), on an immediate stop
//! or when the grace has passed it is interrupted: a guest running wasm by
//! a trap at its next epoch tick, whose core dump keeps what it had
//! posted (see guest_api/pending.rs), a guest waiting in the host by
//! dropping its call. Nothing a guest does (a loop at import, in init or
//! in deinit) can hold up a stop.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::Stop;
use crate::guest_api::Control;

/// How a guarded guest call ended.
pub enum Guarded<T> {
    Done(T),
    /// Stopped by the host: the call was dropped and the instance is gone.
    Interrupted,
    /// Stopped by the host with a trap at an epoch tick: the call's result
    /// is that trap, and the instance is gone.
    Stopped(T),
}

/// Runs guest calls so that a stop always ends them: on a graceful stop a
/// call gets the exit grace (for run(), after request_exit), on an
/// immediate stop or when the grace has passed it is interrupted. Nothing a
/// guest does (a loop at import, in init or in deinit) can hold up a stop.
pub struct Guard<'a> {
    pub grace: Duration,
    /// The longest a guest running wasm goes between two epoch ticks.
    pub slice: Duration,
    pub control: &'a Control,
}

impl Guard<'_> {
    pub async fn call<T>(
        &self,
        stop: &mut watch::Receiver<Stop>,
        what: &str,
        request_exit: bool,
        call: impl std::future::Future<Output = T>,
    ) -> Guarded<T> {
        tokio::pin!(call);
        let _in_run = request_exit.then(|| self.control.in_run());
        let mut stopping_since = match *stop.borrow() {
            Stop::Running => None,
            _ => Some(Instant::now()),
        };
        if stopping_since.is_some() && request_exit {
            self.control.request_exit();
        }
        let mut stop_open = true;
        loop {
            let deadline = async {
                match stopping_since {
                    Some(t) => tokio::time::sleep_until((t + self.grace).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = &mut call => return Guarded::Done(result),
                changed = stop.changed(), if stop_open => {
                    if changed.is_err() {
                        stop_open = false;
                        continue;
                    }
                    let now = *stop.borrow_and_update();
                    match now {
                        Stop::Immediate => {
                            tracing::warn!("stopped at once; the guest is interrupted");
                            return self.interrupt(call).await;
                        }
                        Stop::Graceful if stopping_since.is_none() => {
                            if request_exit {
                                tracing::debug!("asking the source to exit");
                                self.control.request_exit();
                            }
                            stopping_since = Some(Instant::now());
                        }
                        _ => {}
                    }
                }
                () = deadline => {
                    let after = if request_exit { "request_exit()" } else { "the stop" };
                    tracing::error!(grace = ?self.grace, "{what} did not return within the exit grace after {after}; interrupted");
                    return self.interrupt(call).await;
                }
            }
        }
    }

    /// Stops the guest: with a trap at its next epoch tick if it is running
    /// wasm (the call then ends within a slice), else, when it waits in
    /// the host, by dropping the call.
    async fn interrupt<T>(
        &self,
        call: std::pin::Pin<&mut impl std::future::Future<Output = T>>,
    ) -> Guarded<T> {
        self.control.interrupt();
        let wait = self.slice + crate::engine::EPOCH_TICK * 2;
        match tokio::time::timeout(wait, call).await {
            Ok(result) => Guarded::Stopped(result),
            Err(_) => Guarded::Interrupted,
        }
    }
}
