//! What comes out: JSON lines on stdout or in files, nothing else mixed in.

use std::time::Duration;

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn bundled_example_runs() {
    let example = util::repo_root().join("examples/hello/sandlog.toml");
    let mut cmd = std::process::Command::new(util::bin());
    cmd.arg("--cache-dir")
        .arg(util::cache_dir())
        .arg("run")
        .arg(&example);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = util::wait(
        cmd.spawn()
            .map(crate::util::ChildGuard::new)
            .expect("starting sandlog"),
        LIMIT,
    );
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 8, "{}", out.stderr);
    let hello: Vec<_> = lines.iter().filter(|l| l["SOURCE"] == "hello").collect();
    assert_eq!(hello.len(), 5);
    assert_eq!(hello[0]["MESSAGE"], "hello from a sandbox, message 0");
    assert_eq!(hello[4]["seq"], 4);
    assert_eq!(hello[0]["PROGRAM"], "hello");
    let inline: Vec<_> = lines.iter().filter(|l| l["SOURCE"] == "inline").collect();
    assert_eq!(inline.len(), 3);
    assert_eq!(inline[2]["ratio"], 1.0);
    assert_eq!(inline[0]["TRANSPORT"], "inline-demo");
}

#[test]
fn prints_go_to_the_host_log_not_stdout() {
    let setup =
        Setup::new("[[source]]\nname = \"p\"\nscript = \"printer.py\"\nclass = \"Printer\"\n")
            .script("printer.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    assert_eq!(
        out.lines().len(),
        1,
        "stdout holds only JSON lines: {}",
        out.stdout
    );
    let printed = out
        .stderr
        .lines()
        .find(|l| l.contains("hello from print"))
        .unwrap_or_default();
    assert!(
        printed.contains("source=\"p\"") || printed.contains("source=p"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("to stderr"), "{}", out.stderr);
}

fn flood(guest_buffer: u32, batch: u32, n: usize) {
    let setup = Setup::new(&format!(
        r#"
[[source]]
name = "flood-a"
script = "flood.py"
class = "Flood"
options = {{ n = "{n}", batch = "{batch}" }}
guest_buffer = {guest_buffer}

[[source]]
name = "flood-b"
script = "flood.py"
class = "Flood"
options = {{ n = "{n}" }}

[[destination]]
type = "file"
path = "out/all.jsonl"
"#
    ))
    .script("flood.py");
    std::fs::create_dir(setup.path("out")).expect("mkdir");
    let out = setup.run(LIMIT);
    out.assert_success();
    let text = std::fs::read_to_string(setup.path("out/all.jsonl")).expect("output");
    let lines = util::json_lines(&text);
    assert_eq!(lines.len(), 2 * n);
    for source in ["flood-a", "flood-b"] {
        let seqs: Vec<usize> = lines
            .iter()
            .filter(|l| l["SOURCE"] == source)
            .map(|l| {
                l["seq"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(usize::MAX)
            })
            .collect();
        assert_eq!(
            seqs,
            (0..n).collect::<Vec<_>>(),
            "{source}: every message, in order"
        );
    }
}

#[test]
fn many_messages_arrive_complete_and_in_order() {
    flood(256, 0, 50_000);
}

#[test]
fn unbuffered_mode_with_explicit_batches() {
    flood(0, 7, 2_000);
}

#[test]
fn file_destination_appends() {
    let setup = Setup::new(
        "[[source]]\nname = \"p\"\nscript = \"printer.py\"\nclass = \"Printer\"\n[[destination]]\ntype = \"file\"\npath = \"x.jsonl\"\n",
    )
    .script("printer.py")
    .file("x.jsonl", "{\"earlier\":true}\n");
    setup.run(LIMIT).assert_success();
    setup.run(LIMIT).assert_success();
    let text = std::fs::read_to_string(setup.path("x.jsonl")).expect("output");
    assert_eq!(util::json_lines(&text).len(), 3);
}

#[test]
fn logger_and_logging_reach_the_host_log_at_their_level() {
    let setup = Setup::new(
        "[[source]]\nname = \"lg\"\nscript = \"logging_check.py\"\nclass = \"LoggingCheck\"\n",
    )
    .script("logging_check.py");
    let mut cmd = setup.command();
    cmd.arg("--log-level").arg("debug");
    let out = util::wait(
        cmd.spawn()
            .map(crate::util::ChildGuard::new)
            .expect("start"),
        LIMIT,
    );
    out.assert_success();
    assert_eq!(out.lines().len(), 1);
    let line = |needle: &str| {
        out.stderr
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", out.stderr))
            .to_owned()
    };
    for (needle, level) in [
        ("logger debug line", "DEBUG"),
        ("logger info line", "INFO"),
        ("logger warning line", "WARN"),
        ("logger error line", "ERROR"),
        ("python-tenant: logging info line", "INFO"),
        ("python-tenant: logging warning line", "WARN"),
        ("python-tenant.sub: logging error line", "ERROR"),
    ] {
        let l = line(needle);
        assert!(l.contains(level) && l.contains("lg"), "{needle}: {l}");
    }
}

#[test]
fn sources_feed_the_destinations_they_name() {
    let setup = Setup::new(
        r#"
[[source]]
name = "only-audit"
script = "printer.py"
class = "Printer"
destinations = ["audit"]

[[source]]
name = "everywhere"
script = "printer.py"
class = "Printer"

[[destination]]
name = "audit"
type = "file"
path = "audit.jsonl"

[[destination]]
name = "archive"
type = "file"
path = "archive.log"
format = "rfc3164"
"#,
    )
    .script("printer.py");
    setup.run(LIMIT).assert_success();
    let audit =
        util::json_lines(&std::fs::read_to_string(setup.path("audit.jsonl")).expect("audit"));
    let mut sources: Vec<&str> = audit
        .iter()
        .map(|l| l["SOURCE"].as_str().unwrap_or(""))
        .collect();
    sources.sort_unstable();
    assert_eq!(sources, ["everywhere", "only-audit"]);
    let archive = std::fs::read_to_string(setup.path("archive.log")).expect("archive");
    let lines: Vec<&str> = archive.lines().collect();
    assert_eq!(lines.len(), 1, "{archive}");
    assert!(
        lines[0].starts_with("<13>") && lines[0].ends_with(" everywhere: the only message"),
        "{archive}"
    );
}

#[test]
fn a_rotated_file_is_opened_again() {
    let setup = Setup::new(
        r#"
[[source]]
name = "slow"
class = "Slow"
code = """
import time
from syslogng import LogSource, LogMessage
class Slow(LogSource):
    def run(self):
        for i in range(60):
            m = LogMessage("slow")
            m["seq"] = i
            self.post_message(m)
            time.sleep(0.02)
    def request_exit(self):
        pass
"""

[[destination]]
type = "file"
path = "app.jsonl"
fsync = "always"
"#,
    );
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    assert!(util::wait_for_file_lines(
        &setup.path("app.jsonl"),
        10,
        LIMIT
    ));
    std::fs::rename(setup.path("app.jsonl"), setup.path("app.jsonl.1")).expect("rotate");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(out.stderr.contains("rotated away"), "{}", out.stderr);
    let mut seqs = Vec::new();
    for name in ["app.jsonl.1", "app.jsonl"] {
        let text = std::fs::read_to_string(setup.path(name)).expect("both files");
        seqs.extend(
            util::json_lines(&text)
                .iter()
                .map(|l| l["seq"].as_i64().unwrap_or(-1)),
        );
    }
    assert_eq!(
        seqs,
        (0..60).collect::<Vec<i64>>(),
        "every message once, across the rotation"
    );
}

#[test]
fn metrics_are_served_for_prometheus() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let setup = Setup::new(&format!(
        r#"
[metrics]
listen = "127.0.0.1:{port}"

[[source]]
name = "counted"
class = "Counted"
code = """
import time
from syslogng import LogSource, LogMessage
class Counted(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        for i in range(10):
            self.post_message(LogMessage("counted"))
        while not self.exit:
            time.sleep(0.05)
    def request_exit(self):
        self.exit = True
"""

[[destination]]
name = "file"
type = "file"
path = "out.jsonl"
"#
    ));
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    assert!(util::wait_for_file_lines(
        &setup.path("out.jsonl"),
        10,
        LIMIT
    ));
    let response = util::scrape_metrics(port);
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    for line in [
        "sandlog_source_messages_total{source=\"counted\"} 10",
        "sandlog_source_dropped_total{source=\"counted\"} 0",
        "sandlog_source_restarts_total{source=\"counted\"} 0",
        "sandlog_source_state{source=\"counted\"} 1",
        "sandlog_destination_queue_depth{destination=\"",
        "# TYPE sandlog_source_memory_bytes gauge",
        "sandlog_source_guest_busy_milliseconds_total{source=\"counted\"}",
    ] {
        assert!(response.contains(line), "{line} missing in:\n{response}");
    }
    let sent = response
        .lines()
        .find(|l| l.starts_with("sandlog_destination_sent_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    assert_eq!(sent, Some(10), "{response}");
    let memory = response
        .lines()
        .find(|l| l.starts_with("sandlog_source_memory_bytes{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(memory > 1 << 20, "guest memory is reported: {response}");
}

#[test]
fn a_file_cut_in_the_middle_of_a_line_gets_whole_lines_after_it() {
    let setup = Setup::new(
        r#"
[[source]]
name = "p"
script = "printer.py"
class = "Printer"

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    )
    .script("printer.py")
    .file("out.jsonl", "{\"MESSAGE\":\"whole\"}\n{\"MESSAGE\":\"cut");
    setup.run(LIMIT).assert_success();
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("out");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "{\"MESSAGE\":\"cut", "the cut line stays alone");
    let after = util::json_lines(&lines[2..].join("\n"));
    assert!(
        !after.is_empty(),
        "the source's messages follow as whole lines"
    );
}

#[test]
fn a_reader_that_goes_away_fails_the_run() {
    use std::io::{BufRead, BufReader, Read};
    let setup = Setup::new(
        r#"[[source]]
name = "many"
class = "Many"
code = """
from syslogng import LogSource, LogMessage
class Many(LogSource):
    def run(self):
        for i in range(200000):
            self.post_message(LogMessage(f"line {i}"))
    def request_exit(self):
        pass
"""
"#,
    );
    let mut child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("starting sandlog");
    let mut stderr = child.stderr.take().expect("stderr");
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s).unwrap_or_default()
    });
    // As `sandlog run ... | head -1`: one line, then the pipe is closed.
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("reading the first line");
    assert!(first.contains("line 0"), "{first}");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("sandlog did not stop after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = err.join().unwrap_or_default();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("destination stdout: Broken pipe"),
        "{stderr}"
    );
}

/// Messages a guest hands over one at a time without closing their batch
/// (the host's unbatched path, reached through the host imports) and then
/// a buffered block: every one of them arrives, in order.
#[test]
fn unbatched_messages_before_a_buffered_block_are_not_lost() {
    let setup = Setup::new(
        r#"
[[source]]
name = "mixed"
class = "Mixed"
restart = "never"
code = """
from syslogng import LogSource, LogMessage
from _sandlog import hostcalls, runtime

class Mixed(LogSource):
    def run(self):
        for i in range(2000):
            hostcalls.post_message(runtime._block([LogMessage(f"unbatched {i}")]))
        self.post_message(LogMessage("buffered"))

    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    out.assert_success();
    let messages: Vec<String> = out
        .lines()
        .iter()
        .map(|l| l["MESSAGE"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(messages.len(), 2001, "{}", out.stderr);
    assert_eq!(messages[0], "unbatched 0");
    assert_eq!(messages[1999], "unbatched 1999");
    assert_eq!(messages[2000], "buffered");
}

/// A script that prints in a loop cannot flood the host log: past its
/// policy's log_rate (and burst) lines are suppressed and counted, and the
/// count is said; the co-tenant's own line still comes through.
#[test]
fn a_printing_loop_is_held_to_its_log_rate() {
    let setup = Setup::new(
        r#"
[[source]]
name = "flood"
class = "Flood"
restart = "never"
policy = { log_rate = 50, log_burst = 100 }
code = """
import time
from syslogng import LogSource
class Flood(LogSource):
    def run(self):
        end = time.monotonic() + 2
        n = 0
        while time.monotonic() < end:
            print("x" * 200, n)
            n += 1
        print("printed", n)
    def request_exit(self):
        pass
"""

[[source]]
name = "quiet"
class = "Quiet"
restart = "never"
code = """
from syslogng import LogSource
class Quiet(LogSource):
    def run(self):
        print("quiet one line")
    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    out.assert_success();
    let flood_lines = out
        .stderr
        .lines()
        .filter(|l| l.contains("source=flood") && l.contains("xxxx"))
        .count();
    // The burst, and 50 a second for about two seconds.
    assert!(
        (100..=260).contains(&flood_lines),
        "{flood_lines} lines of the flood reached the host log"
    );
    assert!(
        out.stderr.contains("lines from source flood suppressed"),
        "{}",
        &out.stderr[out.stderr.len().saturating_sub(2000)..]
    );
    assert!(out.stderr.contains("quiet one line"));
    assert!(
        out.stderr.len() < 200_000,
        "{} bytes of host log",
        out.stderr.len()
    );
}

/// When nothing reads sandlog's stderr (a full pipe), the host log drops
/// lines instead of stopping the sources: every message still arrives.
#[test]
fn a_blocked_stderr_does_not_stall_the_sources() {
    let setup = Setup::new(
        r#"
[[source]]
name = "chatty"
class = "Chatty"
restart = "never"
policy = { log_rate = 1000000, log_burst = 1000000 }
code = """
from syslogng import LogSource, LogMessage
class Chatty(LogSource):
    def run(self):
        for i in range(20000):
            print("a line for the host log, number", i)
            self.post_message(LogMessage(f"m{i}"))
    def request_exit(self):
        pass
"""

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    );
    // stderr is a pipe nobody reads: it fills after 64 KiB.
    let mut child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("sandlog");
    let stderr = child.stderr.take();
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 20000, LIMIT),
        "the source stalled behind the host log"
    );
    drop(stderr);
    let out = child.wait(LIMIT);
    assert!(out.status.success(), "{:?}", out.status);
}
