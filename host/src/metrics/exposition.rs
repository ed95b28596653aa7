//! The counters in the Prometheus text format (version 0.0.4), through
//! `prometheus-client`: one [`Collector`] reads the atomics at scrape time,
//! so nothing on the hot path knows about the exposition, and a new
//! counter is one line in [`SOURCE_SERIES`] or [`DESTINATION_SERIES`].
//!
//! Counters are named here without their `_total` suffix:
//! `prometheus-client` adds it, so the exposed names (`# HELP`, `# TYPE`
//! and the samples) are `sandlog_source_messages_total` and so on, as
//! before.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{DestinationMetrics, Registry, SourceMetrics};

/// The `Content-Type` of what [`render`] returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// One series per source or per destination: its name (a counter's
/// without `_total`), its type, its help, and how to read it.
struct Series<M> {
    name: &'static str,
    kind: MetricType,
    help: &'static str,
    read: fn(&M) -> u64,
}

const fn counter<M>(name: &'static str, help: &'static str, read: fn(&M) -> u64) -> Series<M> {
    Series {
        name,
        kind: MetricType::Counter,
        help,
        read,
    }
}

const fn gauge<M>(name: &'static str, help: &'static str, read: fn(&M) -> u64) -> Series<M> {
    Series {
        name,
        kind: MetricType::Gauge,
        help,
        read,
    }
}

/// Every per-source series but the endings (which have a second label).
const SOURCE_SERIES: &[Series<SourceMetrics>] = &[
    counter("sandlog_source_messages", "Messages posted.", |m| {
        m.messages.load(Relaxed)
    }),
    counter("sandlog_source_bytes", "Bytes of rendered messages.", |m| {
        m.bytes.load(Relaxed)
    }),
    counter("sandlog_source_batches", "Batches closed.", |m| {
        m.batches.load(Relaxed)
    }),
    counter(
        "sandlog_source_dropped",
        "Messages the host refused.",
        |m| m.dropped.load(Relaxed),
    ),
    counter(
        "sandlog_source_restarts",
        "Restarts after a failure.",
        |m| m.restarts.load(Relaxed),
    ),
    counter(
        "sandlog_source_recycles",
        "Fresh instances after memory stayed above recycle_above.",
        |m| m.recycles.load(Relaxed),
    ),
    gauge(
        "sandlog_source_state",
        "0 starting, 1 running, 2 restarting, 3 ended.",
        |m| m.state.load(Relaxed),
    ),
    gauge(
        "sandlog_source_memory_bytes",
        "Linear memory of the instance.",
        |m| m.memory.load(Relaxed),
    ),
    gauge(
        "sandlog_source_memory_peak_bytes",
        "Most linear memory an instance had.",
        |m| m.memory_peak.load(Relaxed),
    ),
    counter(
        "sandlog_source_guest_busy_milliseconds",
        "Time the guest ran Python, measured at the epoch ticks it ran through.",
        |m| m.busy_ms.load(Relaxed),
    ),
    counter(
        "sandlog_source_log_lines_suppressed",
        "Lines of the guest's log output dropped past its log_rate.",
        |m| m.log_suppressed.load(Relaxed),
    ),
];

const LOG_DROPPED: &str = "sandlog_host_log_lines_dropped";
const LOG_DROPPED_HELP: &str = "Lines of the host log that were not written: full (the queue to stderr was full) or failed (stderr was closed).";

const ENDINGS: &str = "sandlog_source_endings";
const ENDINGS_HELP: &str = "Instances that ended, by how: returned, raised, trapped, interrupted, limit (a policy limit hit), host_fault (the host could not grant the config), and the rest.";

/// Every per-destination series.
const DESTINATION_SERIES: &[Series<DestinationMetrics>] = &[
    counter(
        "sandlog_destination_sent",
        "Messages written or sent.",
        |m| m.sent.load(Relaxed),
    ),
    counter(
        "sandlog_destination_retries",
        "Reconnects after a failure (Kafka: requests retried).",
        |m| m.retries.load(Relaxed),
    ),
    counter(
        "sandlog_destination_errors",
        "Errors reported by the receiver or broker.",
        |m| m.errors.load(Relaxed),
    ),
    counter(
        "sandlog_destination_rejected",
        "Messages the receiver refused for good, logged and dropped (OTLP).",
        |m| m.rejected.load(Relaxed),
    ),
    gauge(
        "sandlog_destination_queue_depth",
        "Chunks waiting in the queue.",
        |m| m.queued.load(Relaxed),
    ),
    gauge(
        "sandlog_destination_queue_bytes",
        "Bytes of rendered messages waiting in the queue (at most 64 MiB).",
        |m| m.queued_bytes.load(Relaxed),
    ),
];

/// Reads a [`Registry`] at scrape time.
#[derive(Debug)]
pub struct Scrape(pub Arc<Registry>);

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sources = self.0.sources();
        for series in SOURCE_SERIES {
            encode_series(&mut encoder, series, "source", &sources)?;
        }
        let mut family =
            encoder.encode_descriptor(ENDINGS, ENDINGS_HELP, None, MetricType::Counter)?;
        for (source, m) in &sources {
            for (ending, n) in m.endings() {
                let labels = [("source", source.as_str()), ("ending", ending)];
                ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
            }
        }
        let destinations = self.0.destinations();
        for series in DESTINATION_SERIES {
            encode_series(&mut encoder, series, "destination", &destinations)?;
        }
        let dropped = crate::logging::dropped();
        let mut family =
            encoder.encode_descriptor(LOG_DROPPED, LOG_DROPPED_HELP, None, MetricType::Counter)?;
        for (reason, n) in [("full", &dropped.full), ("failed", &dropped.failed)] {
            ConstCounter::new(n.load(Relaxed))
                .encode(family.encode_family(&[("reason", reason)])?)?;
        }
        Ok(())
    }
}

/// One series for every source or destination, labelled with its name.
fn encode_series<M>(
    encoder: &mut DescriptorEncoder,
    series: &Series<M>,
    label: &'static str,
    of: &[(String, Arc<M>)],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(series.name, series.help, None, series.kind)?;
    for (name, m) in of {
        let labels = [(label, name.as_str())];
        let value = (series.read)(m);
        let sample = family.encode_family(&labels)?;
        match series.kind {
            MetricType::Counter => ConstCounter::new(value).encode(sample)?,
            _ => ConstGauge::new(value).encode(sample)?,
        }
    }
    Ok(())
}

/// A `prometheus-client` registry holding the collector of `registry`.
pub fn collecting(registry: Arc<Registry>) -> prometheus_client::registry::Registry {
    let mut exposition = prometheus_client::registry::Registry::default();
    exposition.register_collector(Box::new(Scrape(registry)));
    exposition
}

/// The text exposition of `exposition`.
pub fn encode(exposition: &prometheus_client::registry::Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail, and no series here fails to encode.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, exposition);
    out
}

/// The text exposition of every counter of `registry`.
pub fn render(registry: &Arc<Registry>) -> String {
    encode(&collecting(registry.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_labels_are_those_of_the_text_format() {
        let registry = Arc::new(Registry::default());
        let m = registry.source("a \"quoted\"\nname");
        m.messages.fetch_add(7, Relaxed);
        m.memory_grew(4096);
        let d = registry.destination("stdout");
        d.queued.fetch_add(2, Relaxed);
        let text = render(&registry);
        for line in [
            "# HELP sandlog_source_messages_total Messages posted.",
            "# TYPE sandlog_source_messages_total counter",
            "sandlog_source_messages_total{source=\"a \\\"quoted\\\"\\nname\"} 7",
            "# TYPE sandlog_source_memory_bytes gauge",
            "sandlog_source_memory_bytes{source=\"a \\\"quoted\\\"\\nname\"} 4096",
            "# TYPE sandlog_source_guest_busy_milliseconds_total counter",
            "# TYPE sandlog_source_endings_total counter",
            "sandlog_destination_queue_depth{destination=\"stdout\"} 2",
            "sandlog_destination_sent_total{destination=\"stdout\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        assert!(!text.contains("_total_total"), "{text}");
    }
}
