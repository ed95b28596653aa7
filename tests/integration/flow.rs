//! Flow control and acks: log_iw_size blocks post_message (or suspends a
//! source that can be suspended) while a destination is away, and the ack
//! trackers' callbacks fire only for messages the destination has written.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(60);

fn ack_report(stderr: &str, kind: &str) -> Value {
    let needle = format!("ACKS {kind} ");
    let line = stderr
        .lines()
        .find_map(|l| l.split_once(&needle).map(|(_, rest)| rest.to_owned()))
        .and_then(|rest| rest.rfind('}').map(|end| rest[..=end].to_owned()))
        .unwrap_or_else(|| panic!("no ack report for {kind}:\n{stderr}"));
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn ack_callbacks_fire_once_the_destination_has_written() {
    let mut config = String::new();
    for kind in ["instant", "consecutive", "batched"] {
        config.push_str(&format!(
            r#"
[[source]]
name = "{kind}"
script = "ack_check.py"
class = "Acks"
options = {{ tracker = "{kind}", count = "1010", out = "{kind}.jsonl" }}
destinations = ["{kind}"]
policy = {{ files = [{{ host = "out", guest = "/out" }}] }}

[[destination]]
name = "{kind}"
type = "file"
path = "out/{kind}.jsonl"
"#
        ));
    }
    let setup = Setup::new(&config).script("ack_check.py");
    std::fs::create_dir(setup.path("out")).expect("mkdir");
    let out = setup.run(LIMIT);
    out.assert_success();

    let instant = ack_report(&out.stderr, "instant");
    let calls: Vec<u64> = instant["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|v| v.as_u64().expect("bookmark"))
        .collect();
    assert_eq!(
        calls,
        (1..=1010).collect::<Vec<u64>>(),
        "instant: every bookmark once, in order"
    );
    assert_eq!(instant["unwritten"], serde_json::json!([]));

    let consecutive = ack_report(&out.stderr, "consecutive");
    let calls: Vec<u64> = consecutive["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|v| v.as_u64().expect("bookmark"))
        .collect();
    assert_eq!(calls.last(), Some(&1010), "consecutive ends at the last");
    assert!(
        calls.windows(2).all(|w| w[0] < w[1]),
        "consecutive: increasing: {calls:?}"
    );
    assert!(
        calls.len() < 1010,
        "consecutive: one call per run of acks, not per message: {}",
        calls.len()
    );
    assert_eq!(consecutive["unwritten"], serde_json::json!([]));

    let batched = ack_report(&out.stderr, "batched");
    let batches = batched["calls"].as_array().expect("calls");
    let sizes: Vec<usize> = batches
        .iter()
        .map(|b| b.as_array().expect("batch").len())
        .collect();
    let mut expected = vec![50; 20];
    // The partial batch is delivered after run() returned, before deinit.
    expected.push(10);
    assert_eq!(sizes, expected, "batches of batch_size, then the rest");
    let all: Vec<u64> = batches
        .iter()
        .flat_map(|b| b.as_array().expect("batch").iter())
        .map(|v| v.as_u64().expect("bookmark"))
        .collect();
    assert_eq!(all, (1..=1010).collect::<Vec<u64>>());
    assert_eq!(batched["unwritten"], serde_json::json!([]));
}

#[test]
fn a_bookmark_without_an_ack_tracker_raises() {
    let setup = Setup::new(
        r#"
[[source]]
name = "nobm"
class = "S"
restart = "never"
code = """
from syslogng import LogSource, LogMessage
class S(LogSource):
    def run(self):
        try:
            self.post_message(LogMessage("x", bookmark=1))
        except RuntimeError as e:
            print("refused:", e)
        self.post_message(LogMessage("after"))
    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    out.assert_success();
    assert!(
        out.stderr
            .contains("refused: Bookmarks can not be used without creating an AckTracker"),
        "{}",
        out.stderr
    );
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "the refused message is not posted");
    assert_eq!(lines[0]["MESSAGE"], "after");
}

/// A free loopback port, closed again: a receiver that is not there yet.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Starts a receiver on `port` after `delay`, reading octet-counted frames
/// until the sender closes; returns the `n` of each JSON message.
fn late_receiver(port: u16, delay: Duration) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the receiver");
        let (mut conn, _) = listener.accept().expect("accept");
        let mut data = Vec::new();
        conn.read_to_end(&mut data).expect("read");
        let mut ns = Vec::new();
        let mut rest = &data[..];
        while let Some(space) = rest.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&rest[..space])
                .expect("length")
                .parse()
                .expect("length");
            let msg: Value =
                serde_json::from_slice(&rest[space + 1..space + 1 + len]).expect("json message");
            ns.push(msg["n"].as_u64().expect("n"));
            rest = &rest[space + 1 + len..];
        }
        ns
    })
}

fn window_config(port: u16, class: &str) -> String {
    format!(
        r#"
[[source]]
name = "producer"
script = "window_check.py"
class = "{class}"
options = {{ count = "2000", hold = "1.0" }}
log_iw_size = 100

[[destination]]
type = "syslog"
transport = "tcp"
address = "127.0.0.1:{port}"
format = "json"
"#
    )
}

fn posted_before_hold(stderr: &str) -> u64 {
    let value = stderr
        .split("posted_before_hold=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no report:\n{stderr}"));
    value
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or_else(|_| panic!("the source was not held back ({value}):\n{stderr}"))
}

/// Runs window_check.py's `class` against a receiver that comes 1.5 s
/// late; checks that the source was held back and that every message
/// arrived once, in order. Returns sandlog's log.
fn run_held_back(class: &str) -> String {
    let port = free_port();
    let receiver = late_receiver(port, Duration::from_millis(1500));
    let setup = Setup::new(&window_config(port, class)).script("window_check.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    let early = posted_before_hold(&out.stderr);
    // The guest hands over at most log_iw_size messages at once and waits
    // (or is suspended) while more than log_iw_size are unwritten.
    assert!(
        (100..=201).contains(&early),
        "posted {early} before the receiver was there"
    );
    let got = receiver.join().expect("receiver");
    assert_eq!(
        got,
        (1..=2000).collect::<Vec<u64>>(),
        "every message once, in order"
    );
    out.stderr
}

#[test]
fn a_full_window_blocks_post_message_until_the_destination_takes_messages() {
    run_held_back("Blocking");
}

#[test]
fn a_source_with_suspend_and_wakeup_is_suspended_instead_of_blocked() {
    let stderr = run_held_back("Suspending");
    let report = stderr
        .lines()
        .find(|l| l.contains("WINDOW suspend"))
        .expect("report");
    let count = |key: &str| -> u64 {
        report
            .split(&format!("{key}="))
            .nth(1)
            .and_then(|r| {
                r.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .map(str::to_owned)
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {report}"))
    };
    assert!(count("suspends") >= 1, "{report}");
    // Every suspend is followed by a wakeup, but for one that came with
    // the last messages.
    assert!(
        count("wakeups") + 1 >= count("suspends") && count("wakeups") >= 1,
        "{report}"
    );
}

/// The tail example keeps its offset through its ack tracker: killed
/// (SIGKILL) while lines are still flowing, it loses none of them when it
/// starts again; it may repeat the ones not acknowledged yet.
#[test]
fn a_killed_fetcher_resumes_from_its_acks_without_loss() {
    let setup = util::tail_example();
    const LINES: usize = 100_000;
    let text: String = (0..LINES).map(|i| format!("line {i}\n")).collect();
    std::fs::write(setup.path("data/app.log"), text).expect("log");
    let out = setup.path("out.jsonl");

    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    assert!(
        util::wait_for_file_lines(&out, 10_000, LIMIT),
        "the first run did not start"
    );
    let mut child = child;
    child.kill().expect("SIGKILL");
    child.wait_until_reaped();
    let after_kill = std::fs::read_to_string(&out).expect("out").lines().count();
    assert!(after_kill < LINES, "killed before the end: {after_kill}");

    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("restart");
    let started = std::time::Instant::now();
    let distinct = || -> (usize, usize, usize) {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        let (mut total, mut torn) = (0, 0);
        for line in text.lines() {
            match serde_json::from_str::<Value>(line) {
                Ok(v) => {
                    total += 1;
                    seen.insert(v["MESSAGE"].as_str().unwrap_or("").to_owned());
                }
                // A kill can cut the last line being written.
                Err(_) => torn += 1,
            }
        }
        (seen.len(), total, torn)
    };
    while distinct().0 < LINES && started.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
    let (seen, total, torn) = distinct();
    assert_eq!(seen, LINES, "every line arrived");
    assert!(torn <= 1, "{torn} torn lines");
    eprintln!(
        "killed after {after_kill} lines; {} lines read again",
        total - seen
    );
}
