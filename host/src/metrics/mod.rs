//! Metrics: counters per source and per destination, rendered in the
//! Prometheus text format, and served by [`server`] when the config asks
//! for it (`[metrics] listen = "127.0.0.1:9464"`, off by default).
//!
//! The counters are atomics updated where the work happens (a block of
//! messages, a restart, a memory growth), so reading them costs the hot
//! path nothing.

pub mod server;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

pub use server::serve;

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
    /// Time the guest was found running past its cpu slices, in
    /// milliseconds: an upper estimate of its busy time at the epoch
    /// tick's resolution (10 ms; a guest that wakes from a long wait
    /// counts one slice at once).
    pub busy_ms: AtomicU64,
    /// Lines of the guest's log output past its `log_rate`.
    pub log_suppressed: AtomicU64,
    /// How its instances ended, by the supervisor's label for the ending
    /// (`returned`, `trapped`, `limit`, `host_fault`, ...).
    endings: Mutex<BTreeMap<&'static str, u64>>,
}

impl SourceMetrics {
    /// Counts an instance that ended so.
    pub fn ended(&self, ending: &'static str) {
        let mut endings = self.endings.lock().unwrap_or_else(|e| e.into_inner());
        *endings.entry(ending).or_default() += 1;
    }

    pub fn set_state(&self, s: State) {
        self.state.store(s as u64, Relaxed);
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
    pub queued: AtomicU64,
    /// Bytes of the chunks waiting in the queue.
    pub queued_bytes: AtomicU64,
}

/// Every counter of a run.
#[derive(Debug, Default)]
pub struct Registry {
    sources: Mutex<BTreeMap<String, Arc<SourceMetrics>>>,
    destinations: Mutex<Vec<(String, Arc<DestinationMetrics>)>>,
}

impl Registry {
    pub fn source(&self, name: &str) -> Arc<SourceMetrics> {
        let mut map = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_owned()).or_default().clone()
    }

    pub fn destination(&self, name: &str) -> Arc<DestinationMetrics> {
        let m = Arc::new(DestinationMetrics::default());
        self.destinations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_owned(), m.clone()));
        m
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let source_metrics: [Metric<SourceMetrics>; 11] = [
            (
                "sandlog_source_messages_total",
                "counter",
                "Messages posted.",
                |m| m.messages.load(Relaxed),
            ),
            (
                "sandlog_source_bytes_total",
                "counter",
                "Bytes of rendered messages.",
                |m| m.bytes.load(Relaxed),
            ),
            (
                "sandlog_source_batches_total",
                "counter",
                "Batches closed.",
                |m| m.batches.load(Relaxed),
            ),
            (
                "sandlog_source_dropped_total",
                "counter",
                "Messages the host refused.",
                |m| m.dropped.load(Relaxed),
            ),
            (
                "sandlog_source_restarts_total",
                "counter",
                "Restarts after a failure.",
                |m| m.restarts.load(Relaxed),
            ),
            (
                "sandlog_source_recycles_total",
                "counter",
                "Fresh instances after memory stayed above recycle_above.",
                |m| m.recycles.load(Relaxed),
            ),
            (
                "sandlog_source_state",
                "gauge",
                "0 starting, 1 running, 2 restarting, 3 ended.",
                |m| m.state.load(Relaxed),
            ),
            (
                "sandlog_source_memory_bytes",
                "gauge",
                "Linear memory of the instance.",
                |m| m.memory.load(Relaxed),
            ),
            (
                "sandlog_source_memory_peak_bytes",
                "gauge",
                "Most linear memory an instance had.",
                |m| m.memory_peak.load(Relaxed),
            ),
            (
                "sandlog_source_guest_busy_milliseconds_total",
                "counter",
                "Time the guest ran without yielding, counted in 10 ms epoch ticks.",
                |m| m.busy_ms.load(Relaxed),
            ),
            (
                "sandlog_source_log_lines_suppressed_total",
                "counter",
                "Lines of the guest's log output dropped past its log_rate.",
                |m| m.log_suppressed.load(Relaxed),
            ),
        ];
        for (name, kind, help, get) in source_metrics {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (source, m) in sources.iter() {
                let _ = writeln!(out, "{name}{{source=\"{}\"}} {}", label(source), get(m));
            }
        }
        let name = "sandlog_source_endings_total";
        let _ = writeln!(
            out,
            "# HELP {name} Instances that ended, by how: returned, raised, trapped, interrupted, limit (a policy limit hit), host_fault (the host could not grant the config), and the rest.\n# TYPE {name} counter"
        );
        for (source, m) in sources.iter() {
            let endings = m.endings.lock().unwrap_or_else(|e| e.into_inner());
            for (ending, n) in endings.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{source=\"{}\",ending=\"{ending}\"}} {n}",
                    label(source)
                );
            }
        }
        drop(sources);
        let dests = self.destinations.lock().unwrap_or_else(|e| e.into_inner());
        let dest_metrics: [Metric<DestinationMetrics>; 5] = [
            (
                "sandlog_destination_sent_total",
                "counter",
                "Messages written or sent.",
                |m| m.sent.load(Relaxed),
            ),
            (
                "sandlog_destination_retries_total",
                "counter",
                "Reconnects after a failure (Kafka: requests retried).",
                |m| m.retries.load(Relaxed),
            ),
            (
                "sandlog_destination_errors_total",
                "counter",
                "Errors reported by the receiver or broker.",
                |m| m.errors.load(Relaxed),
            ),
            (
                "sandlog_destination_queue_depth",
                "gauge",
                "Chunks waiting in the queue.",
                |m| m.queued.load(Relaxed),
            ),
            (
                "sandlog_destination_queue_bytes",
                "gauge",
                "Bytes of rendered messages waiting in the queue (at most 64 MiB).",
                |m| m.queued_bytes.load(Relaxed),
            ),
        ];
        for (name, kind, help, get) in dest_metrics {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (dest, m) in dests.iter() {
                let _ = writeln!(out, "{name}{{destination=\"{}\"}} {}", label(dest), get(m));
            }
        }
        out
    }
}

/// A metric in the exposition: name, type, help, and how to read it.
type Metric<M> = (&'static str, &'static str, &'static str, fn(&M) -> u64);

/// A label value, escaped as the text format requires.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_are_counted_by_kind() {
        let registry = Registry::default();
        let m = registry.source("tenant");
        m.ended("trapped");
        m.ended("trapped");
        m.ended("host_fault");
        let text = registry.render();
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
