//! Whether a run is ready, as `/readyz` answers it: every source the
//! supervisor launched has gone through its first start (it ran, or its
//! first instance ended, whether it failed or not), no destination has
//! given up, and the run is not stopping. The supervisor tells this
//! module what only it knows (that it launched every source of the
//! config, the destinations' failure signal, a stop); each source's own
//! progress is in its [`SourceMetrics`], read at request time.

use std::sync::Arc;
use std::sync::Mutex;

use tokio::sync::watch;

use super::SourceMetrics;

/// What the supervisor has told about the run.
#[derive(Debug, Default)]
pub struct Health {
    inner: Mutex<Told>,
}

#[derive(Debug, Default)]
struct Told {
    /// Every source of the config has been launched.
    launched: bool,
    /// The first failure of a destination that gave up, once there is one.
    failed: Option<watch::Receiver<Option<String>>>,
    /// The run was asked to stop.
    stopping: bool,
}

impl Health {
    /// Every source of the config has been launched.
    pub fn launched(&self) {
        self.told().launched = true;
    }

    /// The signal on which the destinations report that one gave up.
    pub fn watch_destinations(&self, failed: watch::Receiver<Option<String>>) {
        self.told().failed = Some(failed);
    }

    /// The run was asked to stop (a signal, or a destination that gave up).
    pub fn stopping(&self) {
        self.told().stopping = true;
    }

    /// Why the run is not ready, or None when it is.
    pub fn not_ready(&self, sources: &[(String, Arc<SourceMetrics>)]) -> Option<String> {
        let told = self.told();
        if let Some(why) = told.failed.as_ref().and_then(|f| f.borrow().clone()) {
            return Some(why);
        }
        if told.stopping {
            return Some("stopping".into());
        }
        if !told.launched {
            return Some("starting: the sources are not launched yet".into());
        }
        let waiting: Vec<&str> = sources
            .iter()
            .filter(|(_, m)| !m.first_start_done())
            .map(|(name, _)| name.as_str())
            .collect();
        match waiting.as_slice() {
            [] => None,
            [one] => Some(format!("starting: source {one:?} has not started yet")),
            [first, ..] => Some(format!(
                "starting: {} sources have not started yet, among them {first:?}",
                waiting.len()
            )),
        }
    }

    fn told(&self) -> std::sync::MutexGuard<'_, Told> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Registry, State};

    #[test]
    fn ready_once_every_launched_source_started_or_ended() {
        let registry = Registry::default();
        assert!(
            registry
                .not_ready()
                .is_some_and(|w| w.contains("not launched"))
        );
        registry.launching("a");
        registry.launching("b");
        registry.health.launched();
        assert!(
            registry
                .not_ready()
                .is_some_and(|w| w.contains("2 sources"))
        );
        registry.source("a").set_state(State::Running);
        assert!(registry.not_ready().is_some_and(|w| w.contains("\"b\"")));
        registry.source("b").ended("not_started");
        assert_eq!(registry.not_ready(), None);
        // A source launched again by a reload waits for its first start.
        registry.launching("b");
        assert!(registry.not_ready().is_some());
        registry.source("b").set_state(State::Running);
        assert_eq!(registry.not_ready(), None);
    }

    #[test]
    fn a_failed_destination_or_a_stop_is_not_ready() {
        let registry = Registry::default();
        registry.launching("a");
        registry.health.launched();
        registry.source("a").set_state(State::Running);
        let (tx, rx) = watch::channel(None);
        registry.health.watch_destinations(rx);
        assert_eq!(registry.not_ready(), None);
        tx.send_replace(Some("destination stdout: Broken pipe".into()));
        assert_eq!(
            registry.not_ready().as_deref(),
            Some("destination stdout: Broken pipe")
        );

        let registry = Registry::default();
        registry.health.launched();
        registry.health.stopping();
        assert_eq!(registry.not_ready().as_deref(), Some("stopping"));
    }
}
