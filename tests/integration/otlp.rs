//! The OTLP destination against a real OTLP receiver: tests/otlp/receiver.py
//! on the OpenTelemetry protocol's own Python types (`opentelemetry-proto`,
//! `grpcio`), which .ci/run installs into a virtualenv and names in
//! `SANDLOG_OTLP_PYTHON`. The receiver decodes every request and writes it
//! as a JSON line; the tests check what arrived field by field.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(120);

/// The virtualenv's Python: `SANDLOG_OTLP_PYTHON`, else where .ci/run
/// makes it. Missing, it fails the test with what to do.
fn python() -> PathBuf {
    let hint = "Run .ci/run (it installs tests/otlp/requirements.txt into a virtualenv and sets SANDLOG_OTLP_PYTHON), or set SANDLOG_OTLP_PYTHON to a Python that can import opentelemetry.proto and grpc.";
    let path = match std::env::var_os("SANDLOG_OTLP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("HOME")
            .map(|h| Path::new(&h).join(".cache/sandlog-otlp-venv/bin/python"))
            .unwrap_or_default(),
    };
    let usable = Command::new(&path)
        .args(["-c", "import opentelemetry.proto, grpc"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !usable {
        let text = format!(
            "The OTLP test receiver's Python ({}) cannot import opentelemetry.proto and grpc. {hint}",
            path.display()
        );
        eprintln!("\n{text}\n");
        // Not `panic!`: the panic hook would print a backtrace per test.
        std::panic::resume_unwind(Box::new(text));
    }
    path
}

/// A receiver we started, killed (by its PID) when dropped.
struct Receiver {
    _child: util::ChildGuard,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    /// Starts the receiver speaking `protocol`, answering the first
    /// requests with `answers` (HTTP codes) and then 200.
    fn start(protocol: &str, answers: &str, retry_after: Option<u32>) -> Receiver {
        Receiver::start_then(protocol, answers, 200, retry_after)
    }

    /// As [`Receiver::start`], answering `then` after `answers`.
    fn start_then(protocol: &str, answers: &str, then: u16, retry_after: Option<u32>) -> Receiver {
        Receiver::launch(protocol, answers, then, retry_after, None)
    }

    /// Starts the receiver with every option; `tls` is its certificate
    /// and key (PEM files).
    fn launch(
        protocol: &str,
        answers: &str,
        then: u16,
        retry_after: Option<u32>,
        tls: Option<(&Path, &Path)>,
    ) -> Receiver {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("requests.jsonl");
        let mut cmd = Command::new(python());
        cmd.arg(util::repo_root().join("tests/otlp/receiver.py"))
            .args(["--protocol", protocol, "--answers", answers])
            .args(["--then", &then.to_string(), "--out"])
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // gRPC's C core logs refused handshakes: the tests cause those.
            .env("GRPC_VERBOSITY", "ERROR");
        if let Some(s) = retry_after {
            cmd.args(["--retry-after", &s.to_string()]);
        }
        if let Some((cert, key)) = tls {
            cmd.arg("--tls").arg(cert).arg(key);
        }
        let mut child = util::spawn(&mut cmd, "the OTLP receiver");
        let stdout = child.stdout().expect("receiver stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the receiver's port");
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the receiver did not start: {line:?}"));
        Receiver {
            _child: child,
            port,
            out,
            _dir: dir,
        }
    }

    /// Every request received so far, in order. The receiver may be
    /// writing its last line right now: only whole lines count.
    fn requests(&self) -> Vec<Value> {
        match std::fs::read_to_string(&self.out) {
            Ok(text) => util::json_lines(text.rfind('\n').map_or("", |end| &text[..=end])),
            Err(_) => Vec::new(),
        }
    }

    /// Waits until the requests hold `n` records in all (refused ones
    /// included).
    fn wait_records(&self, n: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let requests = self.requests();
            let seen: usize = requests.iter().map(|r| records(r).len()).sum();
            if seen >= n {
                return requests;
            }
            assert!(
                started.elapsed() < LIMIT,
                "the receiver got {seen} of {n} records"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn records(request: &Value) -> &[Value] {
    request["records"].as_array().map_or(&[], Vec::as_slice)
}

fn destination(protocol: &str, port: u16, extra: &str) -> String {
    format!(
        r#"
[[destination]]
type = "otlp"
protocol = "{protocol}"
endpoint = "http://127.0.0.1:{port}"
max_delay = "20ms"
{extra}
"#
    )
}

fn typed_sources(names: &[&str], n: u64, options: &str) -> String {
    names
        .iter()
        .map(|name| {
            format!(
                "[[source]]\nname = \"{name}\"\nscript = \"otlp_typed.py\"\nclass = \"Typed\"\noptions = {{ n = \"{n}\"{options} }}\n"
            )
        })
        .collect()
}

/// The accepted records, by source, each source's in the order they
/// arrived.
fn accepted_by_source(requests: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in requests.iter().filter(|r| r["answer"] == 200) {
        for rec in records(r) {
            let source = rec["resource"]["sandlog.source"]["string"]
                .as_str()
                .expect("sandlog.source")
                .to_owned();
            out.entry(source).or_default().push(rec.clone());
        }
    }
    out
}

fn seq(record: &Value) -> u64 {
    record["attributes"]["seq"]["int"].as_u64().expect("seq")
}

/// 2024-01-02T03:04:05+01:00, the first message's timestamp.
const FIRST_TIME_NANOS: u64 = 1_704_161_045_000_000_000;

/// Every field of message `i` of a source named `source`, as
/// otlp_typed.py makes it.
fn check_record(rec: &Value, source: &str, i: u64) {
    let resource = &rec["resource"];
    assert_eq!(resource["service.name"], json!({"string": "tenants"}));
    assert_eq!(resource["sandlog.source"], json!({"string": source}));
    assert_eq!(
        resource["deployment.environment"],
        json!({"string": "test"})
    );
    assert_eq!(resource["cluster.size"], json!({"int": 3}));
    assert!(resource["host.name"]["string"].is_string(), "{resource}");
    assert_eq!(rec["scope"], "sandlog");
    assert_eq!(rec["body"], json!({"string": format!("message {i}")}));
    // PRI 8 + i % 8: user facility, severity i % 8 (emerg first).
    let (number, text) = [
        (21, "emerg"),
        (19, "alert"),
        (18, "crit"),
        (17, "err"),
        (13, "warning"),
        (10, "notice"),
        (9, "info"),
        (5, "debug"),
    ][(i % 8) as usize];
    assert_eq!(rec["severity_number"], number, "{rec}");
    assert_eq!(rec["severity_text"], text, "{rec}");
    assert_eq!(
        rec["time_unix_nano"].as_u64(),
        Some(FIRST_TIME_NANOS + i * 1_000_000_000)
    );
    let observed = rec["observed_time_unix_nano"].as_u64().unwrap_or(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    assert!(
        observed <= now && now - observed < LIMIT.as_nanos() as u64,
        "observed time {observed} is not the receive time (now {now})"
    );
    let attributes = &rec["attributes"];
    assert_eq!(attributes["seq"], json!({"int": i}));
    assert_eq!(attributes["ratio"], json!({"double": i as f64 / 4.0}));
    assert_eq!(attributes["even"], json!({"bool": i.is_multiple_of(2)}));
    assert_eq!(
        attributes["tags"],
        json!({"array": [{"string": "a"}, {"string": format!("t{i}")}]})
    );
    assert_eq!(attributes["text"], json!({"string": format!("text {i}")}));
    assert!(attributes.get("MESSAGE").is_none(), "{attributes}");
}

const RESOURCE: &str = r#"service_name = "tenants"
resource_attributes = { "deployment.environment" = "test", "cluster.size" = 3 }
headers = { x-api-key = "env:SANDLOG_TEST_OTLP_KEY" }"#;

/// Two sources' messages over `protocol`: every one arrives once, in
/// order, mapped field by field.
fn two_sources_arrive_once_mapped(protocol: &str, extra: &str) -> Vec<Value> {
    let receiver = Receiver::start(protocol, "", None);
    const N: u64 = 3000;
    let config = typed_sources(&["tenant-a", "tenant-b"], N, "")
        + &destination(protocol, receiver.port, &format!("{RESOURCE}\n{extra}"));
    let setup = Setup::new(&config).script("otlp_typed.py");
    let mut cmd = setup.command();
    cmd.env("SANDLOG_TEST_OTLP_KEY", "k-123");
    util::wait(util::spawn(&mut cmd, "sandlog"), LIMIT).assert_success();

    let requests = receiver.wait_records(2 * N as usize);
    let by_source = accepted_by_source(&requests);
    assert_eq!(
        by_source.keys().collect::<Vec<_>>(),
        ["tenant-a", "tenant-b"]
    );
    for (source, recs) in &by_source {
        let seqs: Vec<u64> = recs.iter().map(seq).collect();
        assert!(
            seqs == (0..N).collect::<Vec<_>>(),
            "{source}: {} records, not each once in order",
            seqs.len()
        );
        for (i, rec) in recs.iter().enumerate() {
            check_record(rec, source, i as u64);
        }
    }
    for r in &requests {
        assert_eq!(r["headers"]["x-api-key"], "k-123", "the header from env:");
    }
    requests
}

#[test]
fn otlp_http_delivers_two_sources_once_mapped_field_by_field() {
    let requests = two_sources_arrive_once_mapped("http", "");
    assert!(
        requests
            .iter()
            .all(|r| r["content_type"] == "application/x-protobuf"
                && r["content_encoding"].is_null())
    );
    // The requests are batched, not one per message.
    assert!(requests.len() < 600, "{} requests", requests.len());
}

#[test]
fn otlp_grpc_delivers_two_sources_once_mapped_field_by_field() {
    two_sources_arrive_once_mapped("grpc", "");
}

#[test]
fn otlp_http_gzip_bodies_arrive_compressed() {
    let requests = two_sources_arrive_once_mapped("http", "compression = \"gzip\"");
    assert!(requests.iter().all(|r| r["content_encoding"] == "gzip"));
}

/// gRPC with gzip: Python's gRPC server decompresses before the handler
/// sees the request, so the records are checked there and the compression
/// on the wire, through a relay that counts the bytes sandlog sends.
#[test]
fn otlp_grpc_gzip_arrives() {
    two_sources_arrive_once_mapped("grpc", "compression = \"gzip\"");
    let plain = grpc_bytes_sent("");
    let gzip = grpc_bytes_sent("compression = \"gzip\"");
    assert!(
        gzip * 3 < plain,
        "gzip sent {gzip} bytes, uncompressed {plain}"
    );
}

/// The bytes sandlog sends to deliver 2,000 messages over gRPC.
fn grpc_bytes_sent(extra: &str) -> u64 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let receiver = Receiver::start("grpc", "", None);
    let listener = TcpListener::bind("127.0.0.1:0").expect("relay");
    let relay_port = listener.local_addr().expect("relay address").port();
    let sent = Arc::new(AtomicU64::new(0));
    let (target, counter) = (receiver.port, sent.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)) else {
                return;
            };
            let (mut back_from, mut back_to) = (
                server.try_clone().expect("clone"),
                client.try_clone().expect("clone"),
            );
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut back_from, &mut back_to);
                let _ = back_to.shutdown(Shutdown::Both);
            });
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = client.read(&mut buf) {
                    if n == 0 || server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    counter.fetch_add(n as u64, Ordering::SeqCst);
                }
                let _ = server.shutdown(Shutdown::Both);
            });
        }
    });
    const N: u64 = 2000;
    let config = typed_sources(&["z"], N, "") + &destination("grpc", relay_port, extra);
    Setup::new(&config)
        .script("otlp_typed.py")
        .run(LIMIT)
        .assert_success();
    let requests = receiver.wait_records(N as usize);
    assert_eq!(accepted_by_source(&requests)["z"].len(), N as usize);
    sent.load(Ordering::SeqCst)
}

/// A receiver that answers "unavailable" twice: the same request is sent
/// again (after its Retry-After for HTTP), and nothing is lost or doubled.
fn unavailable_then_accepted(protocol: &str, retry_after: Option<u32>) {
    let receiver = Receiver::start(protocol, "503,503", retry_after);
    const N: u64 = 500;
    let config = typed_sources(&["only"], N, "") + &destination(protocol, receiver.port, "");
    let started = Instant::now();
    let out = Setup::new(&config).script("otlp_typed.py").run(LIMIT);
    out.assert_success();
    let requests = receiver.wait_records(N as usize);
    let answers: Vec<u64> = requests
        .iter()
        .map(|r| r["answer"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(&answers[..3], [503, 503, 200], "{answers:?}");
    // The refused request was sent again as it was.
    assert_eq!(records(&requests[0]), records(&requests[2]));
    let by_source = accepted_by_source(&requests);
    let seqs: Vec<u64> = by_source["only"].iter().map(seq).collect();
    assert!(seqs == (0..N).collect::<Vec<_>>(), "{} records", seqs.len());
    if let Some(s) = retry_after {
        assert!(
            started.elapsed() >= Duration::from_secs(2 * u64::from(s)),
            "Retry-After was not waited for"
        );
    }
    assert!(
        out.stderr.contains("sending it again"),
        "no warning: {}",
        out.stderr
    );
}

#[test]
fn otlp_http_503_is_retried_after_retry_after_and_nothing_lost() {
    unavailable_then_accepted("http", Some(1));
}

#[test]
fn otlp_grpc_unavailable_is_retried_and_nothing_lost() {
    unavailable_then_accepted("grpc", None);
}

/// The first line of `series` (a name and any labels) in a scrape.
fn series_value(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .filter(|l| l.starts_with(name))
        .find_map(|l| l.rsplit_once(' ')?.1.parse().ok())
}

/// A receiver that refuses a request for good: it is logged with the
/// receiver's message and counted, never sent again, and the source goes
/// on (its later messages arrive).
fn refused_for_good(protocol: &str) {
    let receiver = Receiver::start(protocol, "400", None);
    const N: u64 = 2000;
    let metrics_port = util::free_port();
    let config = format!("[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n")
        + &typed_sources(&["only"], N, ", linger = \"1\"")
        + &destination(protocol, receiver.port, "max_records = 300");
    let setup = Setup::new(&config).script("otlp_typed.py");
    let child = setup.spawn();
    let requests = receiver.wait_records(N as usize);
    let refused = records(&requests[0]).len();
    assert_eq!(requests[0]["answer"], 400);
    assert!(refused > 0);
    // Every message was sent once: the refused ones were not sent again.
    let mut all: Vec<u64> = requests
        .iter()
        .flat_map(|r| records(r).iter().map(seq))
        .collect();
    all.sort_unstable();
    assert!(all == (0..N).collect::<Vec<_>>(), "{} records", all.len());
    assert_eq!(
        accepted_by_source(&requests)["only"].len(),
        N as usize - refused
    );
    let scrape = util::scrape_metrics(metrics_port);
    assert_eq!(
        series_value(&scrape, "sandlog_destination_rejected_total"),
        Some(refused as f64),
        "{scrape}"
    );
    assert_eq!(
        series_value(&scrape, "sandlog_destination_sent_total"),
        Some((N as usize - refused) as f64),
        "{scrape}"
    );
    child.signal("TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        out.stderr.contains("refused a request for good")
            && out.stderr.contains("test receiver says no (400)"),
        "{}",
        out.stderr
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        receiver.requests().len(),
        requests.len(),
        "a request was sent again"
    );
}

#[test]
fn otlp_http_400_is_counted_and_not_retried() {
    refused_for_good("http");
}

#[test]
fn otlp_grpc_invalid_argument_is_counted_and_not_retried() {
    refused_for_good("grpc");
}

/// The receiver is not up when sandlog starts: the source is held back,
/// and once the receiver listens everything arrives once.
#[test]
fn otlp_receiver_down_at_start_holds_the_source_back() {
    let port = util::free_port();
    const N: u64 = 20_000;
    let metrics_port = util::free_port();
    let config = format!("[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n")
        + &typed_sources(&["only"], N, "")
        + "log_iw_size = 1000\n"
        + &destination("http", port, "");
    let setup = Setup::new(&config).script("otlp_typed.py");
    let child = setup.spawn();
    std::thread::sleep(Duration::from_secs(2));
    let scrape = util::scrape_metrics(metrics_port);
    let posted = series_value(&scrape, "sandlog_source_messages_total").unwrap_or(0.0);
    assert!(
        posted < N as f64,
        "the source was not held back: {posted} messages posted"
    );
    // The receiver comes up on the port sandlog was given.
    let receiver = {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("requests.jsonl");
        let mut cmd = Command::new(python());
        cmd.arg(util::repo_root().join("tests/otlp/receiver.py"))
            .args(["--protocol", "http", "--port", &port.to_string(), "--out"])
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        Receiver {
            _child: util::spawn(&mut cmd, "the OTLP receiver"),
            port,
            out,
            _dir: dir,
        }
    };
    let requests = receiver.wait_records(N as usize);
    util::wait(child, LIMIT).assert_success();
    let seqs: Vec<u64> = accepted_by_source(&requests)["only"]
        .iter()
        .map(seq)
        .collect();
    assert!(seqs == (0..N).collect::<Vec<_>>(), "{} records", seqs.len());
}

#[test]
fn otlp_check_rejects_a_bad_endpoint_and_unknown_keys() {
    for (extra, expect) in [
        ("endpoint = \"127.0.0.1:4318\"", "key `endpoint`"),
        ("endpoint = \"ftp://127.0.0.1:4318\"", "key `endpoint`"),
        ("endpoint = \"http://127.0.0.1:4318\"\nbatch = 5", "batch"),
        (
            "endpoint = \"http://127.0.0.1:4318\"\nprotocol = \"udp\"",
            "`udp`, expected `http` or `grpc`",
        ),
        (
            "endpoint = \"http://127.0.0.1:4318\"\nheaders = { k = \"env:SANDLOG_NO_SUCH_VAR\" }",
            "SANDLOG_NO_SUCH_VAR",
        ),
        (
            "endpoint = \"http://127.0.0.1:4318\"\nresource_attributes = { \"service.name\" = \"x\" }",
            "service_name",
        ),
    ] {
        let config = format!(
            "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n[[destination]]\ntype = \"otlp\"\n{extra}\n"
        );
        let setup = Setup::new(&config);
        let out = Command::new(util::bin())
            .arg("--cache-dir")
            .arg(util::cache_dir())
            .arg("check")
            .arg(setup.config_path())
            .output()
            .expect("sandlog check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted: {extra}");
        assert!(
            stderr.contains("sandlog.toml") && stderr.contains(expect),
            "{extra}: {stderr}"
        );
    }
}

/// SIGTERM while the receiver answers "unavailable": what it did not
/// accept within `shutdown_timeout` is reported by count, sandlog exits 1,
/// and the source saw only accepted messages acked.
#[test]
fn otlp_unaccepted_at_shutdown_are_reported_and_never_acked() {
    let accepted = ["200"; 10].join(",");
    let receiver = Receiver::start_then("http", &accepted, 503, None);
    let config = format!(
        r#"
[[source]]
name = "a"
script = "kafka_acked.py"
class = "Acked"
options = {{ name = "a" }}
log_iw_size = 2000
policy = {{ exit_grace = "2s" }}
{}"#,
        destination(
            "http",
            receiver.port,
            "shutdown_timeout = \"1s\"\nmax_records = 200"
        )
    );
    let setup = Setup::new(&config).script("kafka_acked.py");
    let child = setup.spawn();
    let started = Instant::now();
    while !receiver.requests().iter().any(|r| r["answer"] == 503) {
        assert!(started.elapsed() < LIMIT, "the receiver never refused");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.signal("TERM");
    let out = child.wait(Duration::from_secs(30));
    assert!(!out.status.success(), "exited 0 with messages not accepted");
    let unsent: u64 = out
        .stderr
        .lines()
        .find_map(|l| {
            let (count, _) = l.split_once(" messages were not accepted by otlp http")?;
            count.rsplit(' ').next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no count of what was not sent:\n{}", out.stderr));
    assert!(unsent > 0);
    let acked: u64 = out
        .stderr
        .lines()
        .find_map(|l| {
            let rest = l.split_once("ACKED a ")?.1;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or_else(|| panic!("no ack report:\n{}", out.stderr));
    let requests = receiver.requests();
    let seqs: Vec<u64> = accepted_by_source(&requests)["a"].iter().map(seq).collect();
    assert!(
        seqs == (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "not each once in order"
    );
    assert!(
        acked > 0 && acked <= seqs.len() as u64,
        "acked {acked}, {} accepted",
        seqs.len()
    );
}

/// An `https` receiver whose certificate only `ca_file` vouches for.
fn over_tls(protocol: &str) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let receiver = Receiver::launch(protocol, "", 200, None, Some((&cert_path, &key_path)));
    const N: u64 = 200;
    let config = typed_sources(&["tls"], N, "")
        + &destination(protocol, receiver.port, "ca_file = \"ca.pem\"")
            .replace("http://127.0.0.1", "https://127.0.0.1");
    Setup::new(&config)
        .script("otlp_typed.py")
        .file("ca.pem", &cert.pem())
        .run(LIMIT)
        .assert_success();
    let requests = receiver.wait_records(N as usize);
    let seqs: Vec<u64> = accepted_by_source(&requests)["tls"]
        .iter()
        .map(seq)
        .collect();
    assert!(seqs == (0..N).collect::<Vec<_>>(), "{} records", seqs.len());

    // Without the CA file the system store does not know the receiver:
    // nothing is sent, and sandlog says why and what it could not send.
    let config = typed_sources(&["tls"], N, "")
        + &destination(protocol, receiver.port, "shutdown_timeout = \"1s\"")
            .replace("http://127.0.0.1", "https://127.0.0.1");
    let out = Setup::new(&config).script("otlp_typed.py").run(LIMIT);
    assert!(!out.status.success(), "sent to an unknown receiver");
    assert!(
        out.stderr.contains("UnknownIssuer") && out.stderr.contains("messages were not accepted"),
        "{}",
        out.stderr
    );
    assert_eq!(receiver.requests().len(), requests.len());
}

#[test]
fn otlp_http_over_tls_trusts_its_ca_file() {
    over_tls("http");
}

#[test]
fn otlp_grpc_over_tls_trusts_its_ca_file() {
    over_tls("grpc");
}
