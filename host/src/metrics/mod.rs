//! Metrics: counters per source and per destination, and the listener
//! that serves them when the config asks for it (`[metrics] listen =
//! "127.0.0.1:9464"`, off by default). The rooms:
//!
//! - this module: the counters and the [`Registry`] that holds them;
//! - [`exposition`]: the counters in the Prometheus text format, read at
//!   scrape time;
//! - [`health`]: whether the run is ready, for `/readyz`;
//! - [`server`]: the HTTP listener (`/metrics`, `/healthz`, `/readyz`).
//!
//! The counters are atomics updated where the work happens (a block of
//! messages, a restart, a memory growth), so reading them costs the hot
//! path nothing.

pub mod exposition;
pub mod health;
pub mod server;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

pub use health::Health;
pub use server::{ListenerSpec, serve};

/// A source's lifecycle state, as the `sandlog_source_state` gauge shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Starting = 0,
    Running = 1,
    Restarting = 2,
    Ended = 3,
}

/// One source's counters.
#[derive(Debug, Default)]
pub struct SourceMetrics {
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub batches: AtomicU64,
    /// Messages refused by the host (oversized or malformed from a tampered
    /// guest); stays 0 for a well-behaved source.
    pub dropped: AtomicU64,
    pub restarts: AtomicU64,
    /// Fresh instances because memory stayed above recycle_above.
    pub recycles: AtomicU64,
    pub state: AtomicU64,
    /// Linear memory of the current instance, and the most it has had.
    pub memory: AtomicU64,
    pub memory_peak: AtomicU64,
    /// Time the guest ran Python, in milliseconds, measured between the
    /// epoch ticks at which it was found running (1 ms apart while some
    /// guest is busy, 10 ms otherwise), less the time it waited in host
    /// calls in between.
    pub busy_ms: AtomicU64,
    /// Lines of the guest's log output past its `log_rate`.
    pub log_suppressed: AtomicU64,
    /// How its instances ended, by the supervisor's label for the ending
    /// (`returned`, `trapped`, `limit`, `host_fault`, ...).
    endings: Mutex<BTreeMap<&'static str, u64>>,
    /// Whether the source has gone through its first start since it was
    /// launched: it ran, or its first instance ended (for `/readyz`).
    first_start_done: AtomicBool,
}

impl SourceMetrics {
    /// Counts an instance that ended so.
    pub fn ended(&self, ending: &'static str) {
        let mut endings = self.endings.lock().unwrap_or_else(|e| e.into_inner());
        *endings.entry(ending).or_default() += 1;
        self.first_start_done.store(true, Relaxed);
    }

    /// How its instances ended so far, by ending.
    pub fn endings(&self) -> BTreeMap<&'static str, u64> {
        self.endings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_state(&self, s: State) {
        self.state.store(s as u64, Relaxed);
        if s == State::Running {
            self.first_start_done.store(true, Relaxed);
        }
    }

    /// Whether the source has run, or its first instance has ended, since
    /// it was last launched.
    pub fn first_start_done(&self) -> bool {
        self.first_start_done.load(Relaxed)
    }

    /// Records a permitted growth of one of the instance's memories.
    pub fn memory_grew(&self, by: u64) {
        let now = self.memory.fetch_add(by, Relaxed) + by;
        self.memory_peak.fetch_max(now, Relaxed);
    }

    /// A fresh instance starts from nothing.
    pub fn new_instance(&self) {
        self.memory.store(0, Relaxed);
    }
}

/// One destination's counters.
#[derive(Debug, Default)]
pub struct DestinationMetrics {
    pub sent: AtomicU64,
    pub retries: AtomicU64,
    /// Errors the destination's peer reported (Kafka: broker and delivery
    /// errors).
    pub errors: AtomicU64,
    /// Messages the peer refused for good, dropped (OTLP).
    pub rejected: AtomicU64,
    pub queued: AtomicU64,
    /// Bytes of the chunks waiting in the queue.
    pub queued_bytes: AtomicU64,
}

/// Every counter of a run, and its readiness.
#[derive(Debug, Default)]
pub struct Registry {
    sources: Mutex<BTreeMap<String, Arc<SourceMetrics>>>,
    destinations: Mutex<Vec<(String, Arc<DestinationMetrics>)>>,
    pub health: Health,
}

impl Registry {
    pub fn source(&self, name: &str) -> Arc<SourceMetrics> {
        let mut map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_owned()).or_default().clone()
    }

    /// A source is about to be started (at the start of the run, or by a
    /// reload): it counts as not ready until its first start is done.
    pub fn launching(&self, name: &str) {
        self.source(name).first_start_done.store(false, Relaxed);
    }

    pub fn destination(&self, name: &str) -> Arc<DestinationMetrics> {
        let m = Arc::new(DestinationMetrics::default());
        self.destinations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_owned(), m.clone()));
        m
    }

    /// Every source's counters, by name.
    pub fn sources(&self) -> Vec<(String, Arc<SourceMetrics>)> {
        let map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(n, m)| (n.clone(), m.clone())).collect()
    }

    /// Every destination's counters, in the order of the config.
    pub fn destinations(&self) -> Vec<(String, Arc<DestinationMetrics>)> {
        self.destinations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Why the run is not ready, or None when it is (see [`Health`]).
    pub fn not_ready(&self) -> Option<String> {
        self.health.not_ready(&self.sources())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_are_counted_by_kind() {
        let registry = Arc::new(Registry::default());
        let m = registry.source("tenant");
        m.ended("trapped");
        m.ended("trapped");
        m.ended("host_fault");
        let text = exposition::render(&registry);
        assert!(text.contains("# TYPE sandlog_source_endings_total counter"));
        assert!(
            text.contains("sandlog_source_endings_total{source=\"tenant\",ending=\"trapped\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "sandlog_source_endings_total{source=\"tenant\",ending=\"host_fault\"} 1"
            )
        );
    }
}
