//! The metrics listener: /healthz and /readyz, its cap on connections and
//! its read timeout, and the Grafana dashboard's queries against what
//! /metrics really exports.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(120);

/// One GET on the listener: the status code and the body, or None when
/// the listener does not answer (not up yet, or the connection was cut).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    let mut response = String::new();
    conn.read_to_string(&mut response).ok()?;
    let code = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

/// Polls `path` until `done` holds for an answer (at most LIMIT); returns
/// every answer seen, the last one included.
fn poll(port: u16, path: &str, done: impl Fn(u16, &str) -> bool) -> Vec<(u16, String)> {
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < LIMIT {
        if let Some((code, body)) = get(port, path) {
            let finished = done(code, &body);
            seen.push((code, body));
            if finished {
                return seen;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path} never answered as expected; seen: {seen:?}");
}

#[test]
fn readyz_waits_for_every_first_start_and_healthz_answers_meanwhile() {
    let port = util::free_port();
    let setup = Setup::new(&format!(
        r#"
[metrics]
listen = "127.0.0.1:{port}"

# Takes 2 s to start.
[[source]]
name = "slow"
class = "Slow"
code = """
import time
from syslogng import LogSource, LogMessage
class Slow(LogSource):
    def init(self, options):
        time.sleep(2)
        self.exit = False
        return True
    def run(self):
        self.post_message(LogMessage("started"))
        while not self.exit:
            time.sleep(0.05)
    def request_exit(self):
        self.exit = True
"""

# Fails to start: it counts as through its first start all the same.
[[source]]
name = "refuses"
class = "Refuses"
code = """
from syslogng import LogSource
class Refuses(LogSource):
    def init(self, options):
        return False
    def run(self):
        pass
"""

[[destination]]
type = "file"
path = "out.jsonl"
"#
    ));
    let child = setup.spawn();
    let seen = poll(port, "/readyz", |code, _| code == 200);
    let (first_code, first_body) = &seen[0];
    assert_eq!(*first_code, 503, "not ready at first: {seen:?}");
    assert!(first_body.starts_with("not ready: "), "{seen:?}");
    assert!(
        seen.iter()
            .any(|(code, body)| *code == 503 && body.contains("\"slow\" has not started yet")),
        "the reason names the source it waits for: {seen:?}"
    );
    assert_eq!(seen.last().map(|(_, b)| b.as_str()), Some("ready\n"));
    // By then both sources are through their first start; the running one's
    // first message reaches the file just after.
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 1, LIMIT),
        "the started source never wrote"
    );
    let text = std::fs::read_to_string(setup.path("out.jsonl")).unwrap_or_default();
    assert!(text.contains("started"), "{text}");
    assert_eq!(get(port, "/healthz"), Some((200, "ok\n".into())));
    assert_eq!(get(port, "/nothing").map(|(c, _)| c), Some(404));
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
}

#[test]
fn readyz_says_why_once_a_destination_gave_up() {
    use std::io::{BufRead, BufReader};
    let port = util::free_port();
    let setup = Setup::new(&format!(
        r#"
[metrics]
listen = "127.0.0.1:{port}"

# Keeps posting, and ignores request_exit for its exit grace.
[[source]]
name = "chatty"
class = "Chatty"
policy = {{ exit_grace = "5s" }}
code = """
import time
from syslogng import LogSource, LogMessage
class Chatty(LogSource):
    def run(self):
        i = 0
        while True:
            self.post_message(LogMessage(f"line {{i}}"))
            i += 1
            time.sleep(0.005)
    def request_exit(self):
        pass
"""
"#
    ));
    let mut child = setup.spawn();
    let mut stdout = BufReader::new(child.stdout().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a first line");
    assert!(first.contains("line 0"), "{first}");
    poll(port, "/readyz", |code, _| code == 200);
    // As `sandlog run ... | head -1`: the reader goes away.
    drop(stdout);
    let seen = poll(port, "/readyz", |code, _| code == 503);
    let (_, body) = seen.last().expect("an answer");
    assert!(
        body.starts_with("not ready: destination stdout: Broken pipe"),
        "{body}"
    );
    let out = util::wait(child, LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
}

#[test]
fn a_half_sent_request_is_cut_within_the_read_timeout() {
    let port = util::free_port();
    let setup = Setup::new(&format!(
        r#"
[metrics]
listen = "127.0.0.1:{port}"
read_timeout = "1s"

[[source]]
name = "idle"
script = "sleeper.py"
class = "Sleeper"
"#
    ))
    .script("sleeper.py");
    let child = setup.spawn();
    poll(port, "/healthz", |code, _| code == 200);
    for (what, sent) in [
        ("half a request", &b"GET /metrics HTTP/1.1\r\nHost: loc"[..]),
        ("nothing", &b""[..]),
    ] {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        conn.write_all(sent).expect("write");
        let started = Instant::now();
        let mut answer = Vec::new();
        let read = conn.read_to_end(&mut answer);
        let took = started.elapsed();
        // Cut: an end of stream or a reset, not the client's own timeout.
        if let Err(e) = &read {
            assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "{what}: still open"
            );
        }
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(4),
            "{what}: cut after {took:?}, not about 1 s"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(!answer.contains("200 OK"), "{what}: answered {answer}");
    }
    // The listener still serves whole requests.
    assert_eq!(get(port, "/healthz"), Some((200, "ok\n".into())));
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
}

#[test]
fn idle_connections_past_the_cap_wait_and_a_new_scrape_is_served_once_they_time_out() {
    let port = util::free_port();
    let setup = Setup::new(&format!(
        r#"
[metrics]
listen = "127.0.0.1:{port}"
max_connections = 2
read_timeout = "1s"

[[source]]
name = "idle"
script = "sleeper.py"
class = "Sleeper"
"#
    ))
    .script("sleeper.py");
    let child = setup.spawn();
    poll(port, "/healthz", |code, _| code == 200);
    // Two connections take the two places, three more wait behind them;
    // none sends a byte.
    let idle: Vec<TcpStream> = (0..5)
        .map(|_| {
            let conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            std::thread::sleep(Duration::from_millis(20));
            conn
        })
        .collect();
    let started = Instant::now();
    let (code, body) = get(port, "/metrics").expect("the scrape is served");
    let took = started.elapsed();
    assert_eq!(code, 200);
    assert!(
        body.contains("sandlog_source_state{source=\"idle\"}"),
        "{body}"
    );
    // Served only once the idle ones ahead of it were cut, two at a time,
    // 1 s each: after about 2 s, and well within the bound.
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "served after {took:?}"
    );
    drop(idle);
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
}

#[test]
fn every_metric_the_grafana_dashboard_queries_is_exported() {
    let path = util::repo_root().join("examples/grafana/sandlog.json");
    let text = std::fs::read_to_string(&path).expect("examples/grafana/sandlog.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 8, "the panels' queries: {exprs:?}");
    let mut queried: Vec<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    queried.sort();
    queried.dedup();
    assert!(queried.len() >= 8, "metrics queried: {queried:?}");

    let port = util::free_port();
    let setup = Setup::new(&format!(
        r#"
[metrics]
listen = "127.0.0.1:{port}"

[[source]]
name = "tenant"
script = "sleeper.py"
class = "Sleeper"

[[destination]]
type = "file"
path = "out.jsonl"
"#
    ))
    .script("sleeper.py");
    let child = setup.spawn();
    poll(port, "/readyz", |code, _| code == 200);
    let (_, scrape) = get(port, "/metrics").expect("a scrape");
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
    let exported: Vec<&str> = scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let missing: Vec<&String> = queried
        .iter()
        .filter(|name| !exported.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries {missing:?}, which /metrics does not export:\n{scrape}"
    );
}

/// Every PromQL query in a Grafana dashboard, at any depth: the panels'
/// `expr` and the template variables' `query` and `definition`.
fn collect_exprs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "query" | "definition", serde_json::Value::String(e)) => {
                        out.push(e.clone())
                    }
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// The sandlog metric names a PromQL query names.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("sandlog_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn metric_names_are_read_out_of_promql() {
    assert_eq!(
        metric_names(
            "topk(10, sum by (source) (rate(sandlog_source_messages_total{source=~\"$source\"}[5m]))) / sandlog_x"
        ),
        ["sandlog_source_messages_total", "sandlog_x"]
    );
}
