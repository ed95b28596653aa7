//! Kafka (`type = "kafka"`): each message becomes one record, keyed by its
//! source, produced through librdkafka (the `rdkafka` crate) with an
//! idempotent producer and `acks=all` by default.
//!
//! A chunk from the queue holds one source's messages; the writer splits it
//! into records and acks the chunk only once the broker has confirmed every
//! record of it (librdkafka's delivery reports). Chunks are acked in the
//! order they were taken, so a source's ack count never passes a message
//! the broker has not confirmed. While the brokers are down, librdkafka
//! holds the records and retries them (no local timeout by default); once
//! its own queue is full the writer stops taking chunks, the destination's
//! queue fills and the sources are held back. Nothing is dropped: a record
//! the broker refuses for good fails the destination, which stops sandlog
//! with the reason. When sandlog stops, records still in flight get
//! `shutdown_timeout` to be confirmed; what is left is reported by count.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, PurgeConfig, ThreadedProducer};
use rdkafka::statistics::Statistics;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::metrics::DestinationMetrics;
use crate::pipeline::queue::{Chunk, Queue};
use crate::pipeline::render::{Format, Framing};

/// `[[destination]] type = "kafka"` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKafka {
    pub name: Option<String>,
    pub brokers: Vec<String>,
    pub topic: String,
    pub key: Option<String>,
    pub format: Option<Format>,
    pub source_header: Option<String>,
    pub compression: Option<Compression>,
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub shutdown_timeout: Option<Duration>,
    #[serde(default)]
    pub librdkafka: BTreeMap<String, Setting>,
}

/// A librdkafka setting's value as written: TOML strings, numbers and
/// booleans are all passed on as text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Setting {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Setting {
    fn text(&self) -> String {
        match self {
            Setting::Text(s) => s.clone(),
            Setting::Integer(i) => i.to_string(),
            Setting::Float(f) => f.to_string(),
            Setting::Bool(b) => b.to_string(),
        }
    }
}

/// How record batches are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn librdkafka_name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// A topic or key over the source's name: literal text and `${SOURCE}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Source,
}

impl Template {
    /// Parses `text`; any `${NAME}` other than `${SOURCE}` is an error
    /// naming `key`.
    pub fn parse(text: &str, at: &str, key: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let Some(len) = rest[start + 2..].find('}') else {
                bail!("{at}: key `{key}`: {text:?} has a `${{` without its `}}`");
            };
            let name = &rest[start + 2..start + 2 + len];
            if name != "SOURCE" {
                bail!(
                    "{at}: key `{key}`: unknown macro `${{{name}}}` in {text:?} (only `${{SOURCE}}`, the source's name, is known)"
                );
            }
            parts.push(Part::Source);
            rest = &rest[start + 3 + len..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The text for messages of `source`.
    pub fn render(&self, source: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Source => out.push_str(source),
            }
        }
        out
    }

    /// The literal text, when the template does not use the source.
    fn fixed(&self) -> Option<String> {
        self.parts
            .iter()
            .all(|p| matches!(p, Part::Text(_)))
            .then(|| self.render(""))
    }
}

/// Whether `topic` is a name Kafka accepts: 1 to 249 of `[A-Za-z0-9._-]`,
/// and not `.` or `..`.
pub fn is_topic_name(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// librdkafka settings the destination's own keys set: giving them in the
/// `librdkafka` table too would leave two answers to one question.
const MODELED: &[(&str, &str)] = &[
    ("bootstrap.servers", "brokers"),
    ("metadata.broker.list", "brokers"),
    ("compression.type", "compression"),
    ("compression.codec", "compression"),
];

/// librdkafka settings that would break the delivery reports the acks are
/// built on, or need a protocol this destination does not speak.
const REFUSED: &[&str] = &[
    "delivery.report.only.error",
    "dr_cb",
    "dr_msg_cb",
    "transactional.id",
];

/// A checked Kafka destination.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSpec {
    /// `host:port` of each bootstrap broker.
    pub brokers: Vec<String>,
    pub topic: Template,
    /// Default: `${SOURCE}`.
    pub key: Template,
    /// Default: JSON.
    pub format: Format,
    /// The header carrying the source's name. Default: `source`; empty for
    /// none.
    pub source_header: Option<String>,
    pub compression: Compression,
    /// How long opening waits for the brokers to answer. Default: 10 s.
    pub connect_timeout: Duration,
    /// How long, once sandlog is stopping, records in flight have to be
    /// confirmed. Default: 5 s.
    pub shutdown_timeout: Duration,
    /// Every librdkafka setting the producer is created with: the defaults
    /// (`enable.idempotence=true`, `acks=all`, no local message timeout),
    /// then the destination's keys, then the `librdkafka` table.
    pub settings: BTreeMap<String, String>,
}

impl KafkaSpec {
    pub fn from_raw(raw: RawKafka, at: &str) -> Result<KafkaSpec> {
        if raw.brokers.is_empty() {
            bail!("{at}: key `brokers` must name at least one broker (HOST:PORT)");
        }
        for b in &raw.brokers {
            if b.is_empty() || b.contains(',') || !b.contains(':') {
                bail!("{at}: key `brokers`: {b:?} is not HOST:PORT");
            }
        }
        let topic = Template::parse(&raw.topic, at, "topic")?;
        if let Some(fixed) = topic.fixed()
            && !is_topic_name(&fixed)
        {
            bail!(
                "{at}: key `topic`: {fixed:?} is not a Kafka topic name (1 to 249 of letters, digits, `.`, `_`, `-`)"
            );
        }
        let key = Template::parse(raw.key.as_deref().unwrap_or("${SOURCE}"), at, "key")?;
        let source_header = match raw.source_header {
            None => Some("source".to_owned()),
            Some(h) if h.is_empty() => None,
            Some(h) => Some(h),
        };
        let compression = raw.compression.unwrap_or_default();
        let mut settings: BTreeMap<String, String> = [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            // Records wait for the brokers as long as it takes: the queue
            // in front of this destination holds the sources back instead.
            ("message.timeout.ms", "0"),
            ("statistics.interval.ms", "1000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        settings.insert("bootstrap.servers".into(), raw.brokers.join(","));
        settings.insert(
            "compression.type".into(),
            compression.librdkafka_name().into(),
        );
        for (name, value) in &raw.librdkafka {
            if let Some((_, own)) = MODELED.iter().find(|(k, _)| k == name) {
                bail!("{at}: key `librdkafka.{name:?}`: set it with the destination's key `{own}`");
            }
            if REFUSED.contains(&name.as_str()) {
                bail!(
                    "{at}: key `librdkafka.{name:?}`: not allowed here (the destination relies on a delivery report for every record)"
                );
            }
            settings.insert(name.clone(), value.text());
        }
        validate(&settings, at)?;
        Ok(KafkaSpec {
            brokers: raw.brokers,
            topic,
            key,
            format: raw.format.unwrap_or(Format::Json),
            source_header,
            compression,
            connect_timeout: crate::units::duration(
                raw.connect_timeout.unwrap_or(Duration::from_secs(10)),
                at,
                "connect_timeout",
            )?,
            shutdown_timeout: crate::units::duration(
                raw.shutdown_timeout.unwrap_or(Duration::from_secs(5)),
                at,
                "shutdown_timeout",
            )?,
            settings,
        })
    }

    /// How messages are framed in the chunks this destination takes: JSON
    /// lines never hold a newline, syslog formats may, so they are octet
    /// counted.
    pub fn framing(&self) -> Framing {
        match self.format {
            Format::Json => Framing::Newline,
            Format::Rfc5424 | Format::Rfc3164 => Framing::OctetCounted,
            // Not a `format` a config can name.
            Format::Otlp => Framing::Protobuf,
        }
    }

    /// A name for logs and errors.
    pub fn describe(&self) -> String {
        let topic = self
            .topic
            .fixed()
            .unwrap_or_else(|| self.topic.render("${SOURCE}"));
        format!("kafka {} {topic}", self.brokers.join(","))
    }

    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (k, v) in &self.settings {
            config.set(k, v);
        }
        config.set_log_level(RDKafkaLogLevel::Warning);
        config
    }
}

/// Checks every setting with librdkafka itself, which knows its keys and
/// their values; this connects to nothing.
fn validate(settings: &BTreeMap<String, String>, at: &str) -> Result<()> {
    let mut config = ClientConfig::new();
    for (k, v) in settings {
        config.set(k, v);
    }
    match config.create_native_config() {
        Ok(_) => Ok(()),
        Err(KafkaError::ClientConfig(_, description, key, _)) => {
            bail!("{at}: key `librdkafka.{key:?}`: {description}")
        }
        Err(e) => bail!("{at}: key `librdkafka`: {e}"),
    }
}

/// The messages of a chunk, one per record, without their framing.
pub fn records(text: &[u8], framing: Framing) -> Records<'_> {
    Records {
        rest: text,
        framing,
    }
}

/// Iterator of [`records`].
pub struct Records<'a> {
    rest: &'a [u8],
    framing: Framing,
}

impl<'a> Iterator for Records<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        match self.framing {
            Framing::Newline => {
                let end = self.rest.iter().position(|&b| b == b'\n');
                let line = &self.rest[..end.unwrap_or(self.rest.len())];
                self.rest = &self.rest[end.map_or(self.rest.len(), |e| e + 1)..];
                Some(line)
            }
            Framing::OctetCounted => {
                let space = self.rest.iter().position(|&b| b == b' ')?;
                let len: usize = std::str::from_utf8(&self.rest[..space])
                    .ok()?
                    .parse()
                    .ok()?;
                let rest = &self.rest[space + 1..];
                let message = rest.get(..len)?;
                self.rest = &rest[len..];
                Some(message)
            }
            // Kafka never takes a binary format.
            Framing::Protobuf => None,
        }
    }
}

/// A chunk whose records are with librdkafka: acked once none is left.
struct InFlight {
    chunk: Arc<Chunk>,
    /// Records not yet confirmed, plus one while the writer is still
    /// producing them.
    remaining: AtomicU64,
    /// The first error a record of the chunk ended with.
    failed: std::sync::Mutex<Option<String>>,
}

/// librdkafka's callbacks: delivery reports, client errors, statistics and
/// log lines, run on the producer's polling thread.
struct Callbacks {
    delivered: Arc<Notify>,
    metrics: Arc<DestinationMetrics>,
    destination: String,
    /// Whether a client error was logged since the last success, so that a
    /// broker that stays down is logged once, not on every attempt.
    erring: AtomicBool,
}

impl ClientContext for Callbacks {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(destination = %self.destination, facility, "librdkafka: {message}");
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(destination = %self.destination, facility, "librdkafka: {message}");
            }
            _ => {
                tracing::debug!(destination = %self.destination, facility, "librdkafka: {message}")
            }
        }
    }

    fn stats(&self, statistics: Statistics) {
        let retries: u64 = statistics.brokers.values().map(|b| b.txretries).sum();
        self.metrics.retries.fetch_max(retries, Relaxed);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.metrics.errors.fetch_add(1, Relaxed);
        if !self.erring.swap(true, Relaxed) {
            tracing::warn!(destination = %self.destination, error = %error, reason, "broker error; records are held and retried");
        } else {
            tracing::debug!(destination = %self.destination, error = %error, reason, "broker error");
        }
    }
}

impl ProducerContext for Callbacks {
    type DeliveryOpaque = Arc<InFlight>;

    fn delivery(&self, result: &DeliveryResult<'_>, in_flight: Arc<InFlight>) {
        match result {
            Ok(_) => {
                if self.erring.swap(false, Relaxed) {
                    tracing::info!(destination = %self.destination, "the brokers confirm records again");
                }
            }
            Err((e, _)) => {
                self.metrics.errors.fetch_add(1, Relaxed);
                let mut failed = in_flight.failed.lock().unwrap_or_else(|e| e.into_inner());
                failed.get_or_insert_with(|| e.to_string());
            }
        }
        // Release: the writer that sees the count reach zero sees `failed`.
        if in_flight.remaining.fetch_sub(1, AcqRel) == 1 {
            self.delivered.notify_one();
        }
    }
}

/// How long the writer waits between attempts while librdkafka's queue is
/// full, when no delivery report wakes it first.
const FULL_RETRY: Duration = Duration::from_millis(20);

/// Produces each chunk's records and acks chunks as the broker confirms
/// them.
pub struct KafkaWriter {
    queue: Queue,
    producer: Arc<ThreadedProducer<Callbacks>>,
    spec: KafkaSpec,
    destination: String,
    delivered: Arc<Notify>,
    /// Chunks taken from the queue and not yet acked, oldest first.
    in_flight: VecDeque<Arc<InFlight>>,
    written: u64,
    /// Set once sandlog is stopping: until then the records in flight
    /// have to be confirmed.
    deadline: Option<Instant>,
}

impl KafkaWriter {
    /// Creates the producer and waits (at most `connect_timeout`) for the
    /// brokers' metadata: a broker that cannot be reached at start is an
    /// error that says so.
    pub async fn open(queue: Queue, spec: &KafkaSpec) -> Result<KafkaWriter> {
        let destination = spec.describe();
        let delivered = Arc::new(Notify::new());
        let callbacks = Callbacks {
            delivered: delivered.clone(),
            metrics: queue.metrics_handle(),
            destination: destination.clone(),
            erring: AtomicBool::new(false),
        };
        let producer: ThreadedProducer<Callbacks> = spec
            .client_config()
            .create_with_context(callbacks)
            .with_context(|| format!("creating the producer for {destination}"))?;
        let producer = Arc::new(producer);
        let probe = producer.clone();
        let timeout = spec.connect_timeout;
        let metadata =
            tokio::task::spawn_blocking(move || probe.client().fetch_metadata(None, timeout))
                .await
                .context("waiting for the brokers' metadata")?;
        if let Err(e) = metadata {
            bail!(
                "no Kafka broker of {} answered within connect_timeout ({}): {e}",
                spec.brokers.join(","),
                humantime_serde::re::humantime::format_duration(timeout)
            );
        }
        // Errors while connecting are the start's, not the run's.
        producer.context().erring.store(false, Relaxed);
        tracing::info!(destination = %destination, "connected");
        Ok(KafkaWriter {
            queue,
            producer,
            spec: spec.clone(),
            destination,
            delivered,
            in_flight: VecDeque::new(),
            written: 0,
            deadline: None,
        })
    }

    /// Produces until the queue closes, then waits for the last records;
    /// returns the messages the broker confirmed.
    pub async fn run(mut self) -> Result<u64> {
        let delivered = self.delivered.clone();
        loop {
            tokio::select! {
                biased;
                () = delivered.notified() => self.ack_confirmed()?,
                chunk = self.queue.recv() => match chunk {
                    Some(chunk) => self.produce(chunk).await?,
                    None => break,
                },
            }
        }
        self.close().await
    }

    /// Hands every record of `chunk` to librdkafka, waiting while its
    /// queue is full.
    async fn produce(&mut self, chunk: Arc<Chunk>) -> Result<()> {
        let in_flight = Arc::new(InFlight {
            chunk: chunk.clone(),
            remaining: AtomicU64::new(1),
            failed: std::sync::Mutex::new(None),
        });
        self.in_flight.push_back(in_flight.clone());
        let topic = self.spec.topic.render(&chunk.source);
        let key = self.spec.key.render(&chunk.source);
        for payload in records(&chunk.text, self.spec.framing()) {
            in_flight.remaining.fetch_add(1, Relaxed);
            let mut record = BaseRecord::with_opaque_to(&topic, in_flight.clone())
                .payload(payload)
                .key(key.as_str());
            if let Some(name) = &self.spec.source_header {
                record = record.headers(OwnedHeaders::new_with_capacity(1).insert(Header {
                    key: name,
                    value: Some(chunk.source.as_bytes()),
                }));
            }
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        // Acks keep moving while the writer waits.
                        self.ack_confirmed()?;
                        if self.past_deadline() {
                            return Err(self.give_up().await);
                        }
                        let _ = tokio::time::timeout(FULL_RETRY, self.delivered.notified()).await;
                    }
                    Err((e, _)) => {
                        self.queue.metrics().errors.fetch_add(1, Relaxed);
                        bail!(
                            "librdkafka refused a message of source {:?} for topic {topic:?}: {e}",
                            &*chunk.source
                        );
                    }
                }
            }
        }
        in_flight.remaining.fetch_sub(1, AcqRel);
        self.ack_confirmed()
    }

    /// Acks the chunks at the front whose records are all confirmed; a
    /// record the broker refused fails the destination.
    fn ack_confirmed(&mut self) -> Result<()> {
        while let Some(front) = self.in_flight.front() {
            if front.remaining.load(Acquire) != 0 {
                break;
            }
            let failed = front
                .failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(error) = failed {
                bail!(
                    "the broker did not take a message of source {:?}: {error}",
                    &*front.chunk.source
                );
            }
            front.chunk.written();
            self.queue.sent(front.chunk.lines);
            self.written += front.chunk.lines;
            self.in_flight.pop_front();
        }
        Ok(())
    }

    /// Whether sandlog is stopping (the queue is closed) and the records
    /// in flight have had their `shutdown_timeout`.
    fn past_deadline(&mut self) -> bool {
        if !self.queue.is_closed() {
            return false;
        }
        let timeout = self.spec.shutdown_timeout;
        let deadline = *self
            .deadline
            .get_or_insert_with(|| Instant::now() + timeout);
        Instant::now() >= deadline
    }

    /// After the last chunk: waits up to `shutdown_timeout` for the records
    /// in flight.
    async fn close(mut self) -> Result<u64> {
        let timeout = self.spec.shutdown_timeout;
        let deadline = *self
            .deadline
            .get_or_insert_with(|| Instant::now() + timeout);
        loop {
            self.ack_confirmed()?;
            if self.in_flight.is_empty() {
                break;
            }
            if tokio::time::timeout_at(deadline, self.delivered.notified())
                .await
                .is_err()
            {
                return Err(self.give_up().await);
            }
        }
        let producer = self.producer;
        // Dropping the producer blocks on librdkafka's threads.
        let _ = tokio::task::spawn_blocking(move || drop(producer)).await;
        Ok(self.written)
    }

    /// The brokers did not confirm everything within `shutdown_timeout`:
    /// the records left are purged and counted, with what is still queued.
    async fn give_up(&mut self) -> anyhow::Error {
        let mut unconfirmed: u64 = self.in_flight.drain(..).map(|f| f.chunk.lines).sum();
        while let Ok(chunk) = self.queue.try_recv() {
            unconfirmed += chunk.lines;
        }
        let producer = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || {
            producer.purge(PurgeConfig::default().queue().inflight());
        })
        .await;
        anyhow::anyhow!(
            "{unconfirmed} messages were not confirmed by {} within shutdown_timeout ({}); their sources did not see them acked",
            self.destination,
            humantime_serde::re::humantime::format_duration(self.spec.shutdown_timeout)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(extra: &str) -> Result<KafkaSpec> {
        let text = format!("brokers = [\"127.0.0.1:9092\"]\ntopic = \"logs\"\n{extra}");
        let raw: RawKafka = toml::from_str(&text)?;
        KafkaSpec::from_raw(raw, "f.toml: destination #1")
    }

    #[test]
    fn defaults_are_idempotent_and_acks_all() -> Result<()> {
        let spec = raw("")?;
        assert_eq!(spec.settings["enable.idempotence"], "true");
        assert_eq!(spec.settings["acks"], "all");
        assert_eq!(spec.settings["bootstrap.servers"], "127.0.0.1:9092");
        assert_eq!(spec.key.render("tenant-a"), "tenant-a");
        assert_eq!(spec.source_header.as_deref(), Some("source"));
        assert_eq!(spec.format, Format::Json);
        Ok(())
    }

    #[test]
    fn librdkafka_keys_are_checked_by_name() -> Result<()> {
        let spec = raw("librdkafka = { \"linger.ms\" = 20, \"acks\" = \"1\" }")?;
        assert_eq!(spec.settings["linger.ms"], "20");
        assert_eq!(spec.settings["acks"], "1");
        let e = raw("librdkafka = { \"no.such.key\" = 1 }")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.toml: destination #1: key `librdkafka.\"no.such.key\"`"),
            "{e}"
        );
        let e = raw("librdkafka = { \"bootstrap.servers\" = \"x:1\" }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`brokers`"), "{e}");
        let e = raw("librdkafka = { \"delivery.report.only.error\" = true }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not allowed"), "{e}");
        Ok(())
    }

    #[test]
    fn templates_know_only_the_source() -> Result<()> {
        let t = Template::parse("logs-${SOURCE}.v1", "f", "topic")?;
        assert_eq!(t.render("a"), "logs-a.v1");
        assert_eq!(t.fixed(), None);
        assert_eq!(
            Template::parse("plain", "f", "topic")?.fixed(),
            Some("plain".into())
        );
        let e = Template::parse("x-${HOST}", "f", "topic")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `topic`") && e.contains("${HOST}"), "{e}");
        assert!(Template::parse("x-${SOURCE", "f", "key").is_err());
        Ok(())
    }

    #[test]
    fn a_fixed_topic_must_be_a_topic_name() {
        let raw: RawKafka =
            toml::from_str("brokers = [\"127.0.0.1:9092\"]\ntopic = \"no spaces\"").unwrap();
        let e = KafkaSpec::from_raw(raw, "f").unwrap_err().to_string();
        assert!(e.contains("key `topic`"), "{e}");
    }

    #[test]
    fn chunks_split_into_records() {
        let lines: Vec<&[u8]> = records(b"{\"a\":1}\n{\"b\":2}\n", Framing::Newline).collect();
        assert_eq!(lines, [&b"{\"a\":1}"[..], b"{\"b\":2}"]);
        let counted: Vec<&[u8]> = records(b"5 ab\ncd3 xyz", Framing::OctetCounted).collect();
        assert_eq!(counted, [&b"ab\ncd"[..], b"xyz"]);
        assert_eq!(records(b"", Framing::Newline).count(), 0);
    }
}
