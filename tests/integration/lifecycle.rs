//! Lifecycle: init verdicts, exceptions with tracebacks, stopping on
//! signals while run() is blocked, exit codes.

use std::time::{Duration, Instant};

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(60);

const SLEEPER_TO_FILE: &str = r#"
[[source]]
name = "sleepy"
script = "sleeper.py"
class = "Sleeper"
options = { mode = "MODE" }

[[destination]]
type = "file"
path = "out.jsonl"
"#;

fn stop_blocked_source(mode: &str, signal: &str) {
    let setup = Setup::new(&SLEEPER_TO_FILE.replace("MODE", mode)).script("sleeper.py");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("starting sandlog");
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 1, LIMIT),
        "the source never posted its first message"
    );
    let signalled = std::time::Instant::now();
    util::signal(&child, signal);
    let out = util::wait(child, LIMIT);
    let stop_time = signalled.elapsed();
    out.assert_success();
    // request_exit reached the blocked run(), run() returned, deinit ran, and
    // nothing came near the 5 s exit grace.
    assert!(out.stderr.contains("request_exit called"), "{}", out.stderr);
    assert!(out.stderr.contains("deinit called"), "{}", out.stderr);
    assert!(!out.stderr.contains("interrupted"), "{}", out.stderr);
    assert!(
        stop_time < Duration::from_secs(3),
        "stopping took {stop_time:?}"
    );
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("output file");
    let lines = util::json_lines(&text);
    let messages: Vec<_> = lines
        .iter()
        .map(|l| l["MESSAGE"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(messages, ["ready", "leaving run"]);
}

#[test]
fn sigterm_reaches_a_source_blocked_in_sleep() {
    stop_blocked_source("sleep", "TERM");
}

#[test]
fn sigint_reaches_a_source_blocked_in_select() {
    stop_blocked_source("select", "INT");
}

#[test]
fn a_source_that_ignores_request_exit_is_interrupted_after_the_grace() {
    let setup = Setup::new(
        r#"
[[source]]
name = "stubborn"
class = "Stubborn"
code = """
from syslogng import LogSource, LogMessage
class Stubborn(LogSource):
    def run(self):
        self.post_message(LogMessage("spinning"))
        self.close_batch()
        import time
        time.sleep(0)
        while True:
            pass
    def request_exit(self):
        pass
"""

[[source]]
name = "polite"
script = "sleeper.py"
class = "Sleeper"

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    )
    .script("sleeper.py");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("starting sandlog");
    assert!(util::wait_for_file_lines(
        &setup.path("out.jsonl"),
        2,
        LIMIT
    ));
    let signalled = std::time::Instant::now();
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    let stop_time = signalled.elapsed();
    out.assert_success();
    assert!(
        out.stderr.contains("did not return within the exit grace"),
        "{}",
        out.stderr
    );
    assert!(stop_time >= Duration::from_secs(5), "{stop_time:?}");
    assert!(stop_time < Duration::from_secs(7), "{stop_time:?}");
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("output file");
    assert!(
        text.contains("leaving run"),
        "the polite source was not stopped cleanly: {text}"
    );
}

#[test]
fn init_false_is_reported_and_others_run() {
    let setup = Setup::new(
        r#"
[[source]]
name = "refuses"
class = "Refuses"
code = """
from syslogng import LogSource
class Refuses(LogSource):
    def init(self, options):
        return False
    def run(self):
        raise AssertionError("run() must not be called")
    def request_exit(self):
        pass
"""

[[source]]
name = "works"
script = "printer.py"
class = "Printer"
"#,
    )
    .script("printer.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    assert!(
        out.stderr.contains("refuses") && out.stderr.contains("init() returned a false value"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("must not be called"), "{}", out.stderr);
    assert_eq!(out.lines().len(), 1);
}

#[test]
fn no_source_starting_is_a_failure() {
    let setup = Setup::new(
        r#"
[[source]]
name = "broken"
class = "Broken"
code = """
from syslogng import LogSource
class Broken(LogSource):
    def init(self, options):
        raise RuntimeError("cannot connect to the upstream")
    def run(self):
        pass
    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    assert!(!out.status.success());
    assert!(
        out.stderr
            .contains("RuntimeError: cannot connect to the upstream"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("no source could start"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("line 4, in init"),
        "traceback with the inline line: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("sandlog_guest.py"),
        "loader frames are left out: {}",
        out.stderr
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let setup = Setup::new("[[source]]\nname = \"bad\"\nscript = \"bad.py\"\nclass = \"Bad\"\n")
        .file(
            "bad.py",
            "from syslogng import LogSource\n\nclass Bad(LogSource)\n    pass\n",
        );
    let out = setup.run(LIMIT);
    assert!(!out.status.success());
    assert!(out.stderr.contains("SyntaxError"), "{}", out.stderr);
    assert!(out.stderr.contains("bad.py\", line 3"), "{}", out.stderr);
    assert!(out.stderr.contains("bad"), "{}", out.stderr);
}

#[test]
fn missing_class_and_missing_methods_are_reported() {
    let setup = Setup::new(
        r#"
[[source]]
name = "noclass"
class = "Nope"
code = "x = 1"

[[source]]
name = "norun"
class = "NoRun"
code = """
from syslogng import LogSource
class NoRun(LogSource):
    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("class 'Nope' is not defined"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("mandatory run() method"),
        "{}",
        out.stderr
    );
}

#[test]
fn exception_in_run_keeps_earlier_messages_and_logs_traceback() {
    let setup =
        Setup::new("[[source]]\nname = \"r\"\nscript = \"raiser.py\"\nclass = \"Raiser\"\nrestart = \"never\"\n")
            .script("raiser.py");
    let out = setup.run(LIMIT);
    // The source started, so the run as a whole succeeded.
    out.assert_success();
    assert_eq!(out.lines().len(), 3);
    assert!(
        out.stderr
            .contains("ValueError: something broke in the script"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("raiser.py\", line 11, in fail_here"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("raise ValueError"),
        "source line in traceback: {}",
        out.stderr
    );
}

#[test]
fn instances_from_the_compiled_script_keep_file_and_line_in_tracebacks() {
    // The second and third runs load the bytecode the first one compiled.
    let setup = Setup::new(
        "[[source]]\nname = \"r\"\nscript = \"raiser.py\"\nclass = \"Raiser\"\n\
         restart_backoff = \"10ms\"\nrestart_limit = 2\n",
    )
    .script("raiser.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    assert_eq!(out.lines().len(), 9, "{}", out.stderr);
    assert_eq!(
        out.stderr
            .matches("raiser.py\", line 11, in fail_here")
            .count(),
        3,
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("raise ValueError(").count(),
        3,
        "{}",
        out.stderr
    );
}

#[test]
fn os_exit_and_sys_exit_are_contained() {
    let setup = Setup::new(
        r#"
[[source]]
name = "sysexit"
class = "S"
restart = "never"
code = """
import sys
from syslogng import LogSource
class S(LogSource):
    def run(self):
        sys.exit(3)
    def request_exit(self):
        pass
"""

[[source]]
name = "osexit"
class = "O"
restart = "never"
code = """
import os
from syslogng import LogSource
class O(LogSource):
    def run(self):
        os._exit(4)
    def request_exit(self):
        pass
"""

[[source]]
name = "fine"
script = "printer.py"
class = "Printer"
"#,
    )
    .script("printer.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    assert!(out.stderr.contains("SystemExit"), "{}", out.stderr);
    assert!(
        out.stderr.contains("ended its interpreter"),
        "{}",
        out.stderr
    );
    assert_eq!(out.lines().len(), 1);
}

#[test]
fn fetcher_loop_follows_each_result_and_stops_during_a_delay() {
    let setup = Setup::new(
        r#"
[[source]]
name = "fetch"
script = "fetcher.py"
class = "Fetcher"
time_reopen = "100ms"
fetch_no_data_delay = "200ms"

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    )
    .script("fetcher.py");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 6, LIMIT),
        "not every message was fetched"
    );
    // The plan is done: the fetcher now waits out NO_DATA delays. Make the
    // delay long enough to tell an interrupted wait from a finished one.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = std::time::Instant::now();
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        signalled.elapsed() < Duration::from_secs(1),
        "{:?}",
        signalled.elapsed()
    );
    let lines = util::json_lines(&std::fs::read_to_string(setup.path("out.jsonl")).expect("out"));
    let seen: Vec<(String, i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l["MESSAGE"].as_str().unwrap_or("").to_owned(),
                l["opens"].as_i64().unwrap_or(-1),
                l["closes"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let expected = [
        ("fetched 0", 2, 0), // the first open failed; retried after time_reopen
        ("fetched 1", 2, 0),
        ("fetched 2", 2, 0), // after NO_DATA and TRY_AGAIN
        ("fetched 3", 3, 1), // ERROR: close(), open() again
        ("fetched 4", 4, 1), // NOT_CONNECTED: open() again, no close()
        ("fetched 5", 5, 2), // a malformed result counts as ERROR
    ];
    let expected: Vec<(String, i64, i64)> = expected
        .iter()
        .map(|(m, o, c)| (m.to_string(), *o, *c))
        .collect();
    assert_eq!(seen, expected, "{}", out.stderr);
    assert!(
        out.stderr.contains("Error during fetching messages"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("fetch() must return a tuple"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("fetcher request_exit"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("close #3"),
        "close() at exit: {}",
        out.stderr
    );
}

#[test]
fn persist_keeps_a_fetchers_offset_across_restarts() {
    let setup = util::tail_example();
    let log = setup.path("data/app.log");
    let append = |from: usize, to: usize| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log");
        for i in from..to {
            std::io::Write::write_all(&mut f, format!("line {i}\n").as_bytes()).expect("append");
        }
    };
    append(0, 5);
    // Two runs, each stopped with SIGTERM once it has caught up.
    for total in [5, 8] {
        if total == 8 {
            append(5, 8);
        }
        let child = setup
            .command()
            .spawn()
            .map(crate::util::ChildGuard::new)
            .expect("start");
        assert!(
            util::wait_for_file_lines(&setup.path("out.jsonl"), total, LIMIT),
            "run did not catch up"
        );
        std::thread::sleep(Duration::from_millis(200));
        util::signal(&child, "TERM");
        util::wait(child, LIMIT).assert_success();
    }
    let lines = util::json_lines(&std::fs::read_to_string(setup.path("out.jsonl")).expect("out"));
    let got: Vec<&str> = lines
        .iter()
        .map(|l| l["MESSAGE"].as_str().unwrap_or(""))
        .collect();
    let want: Vec<String> = (0..8).map(|i| format!("line {i}")).collect();
    assert_eq!(got, want, "every line exactly once, in order");
    assert_eq!(lines[7]["TRANSPORT"], "file");
    let state = setup.path("state/sources/tail/persist");
    assert!(
        state.is_dir(),
        "the Persist store lives in the source's state directory"
    );
}

#[test]
fn a_failing_source_is_restarted_with_backoff_and_keeps_its_state() {
    let setup = Setup::new(
        r#"
[[source]]
name = "crashy"
class = "Crashy"
restart_backoff = "50ms"
restart_limit = 3
code = """
from syslogng import LogSource, LogMessage, Persist
class Crashy(LogSource):
    def init(self, options):
        self.state = Persist("runs", defaults={"n": 0})
        return True
    def run(self):
        self.state["n"] = self.state["n"] + 1
        msg = LogMessage("run")
        msg["n"] = self.state["n"]
        self.post_message(msg)
        raise RuntimeError("crash number %d" % self.state["n"])
    def request_exit(self):
        pass
"""

[[source]]
name = "finisher"
class = "Finisher"
restart = "always"
restart_backoff = "10ms"
restart_limit = 2
code = """
from syslogng import LogSource, LogMessage
class Finisher(LogSource):
    def run(self):
        self.post_message(LogMessage("finished"))
    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    let runs: Vec<i64> = lines
        .iter()
        .filter(|l| l["SOURCE"] == "crashy")
        .map(|l| l["n"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(
        runs,
        [1, 2, 3, 4],
        "three restarts, the Persist counter carried across them"
    );
    assert_eq!(
        lines.iter().filter(|l| l["SOURCE"] == "finisher").count(),
        3
    );
    assert!(out.stderr.contains("crash number 4"), "{}", out.stderr);
    assert!(
        out.stderr.contains("giving up after 3 restarts"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("run() returned; restarting"),
        "{}",
        out.stderr
    );
}

fn count(path: &std::path::Path, source: &str, message: &str) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            util::json_lines(&t)
                .iter()
                .filter(|l| l["SOURCE"] == source && l["MESSAGE"] == message)
                .count()
        })
        .unwrap_or(0)
}

fn wait_count(path: &std::path::Path, source: &str, message: &str, n: usize) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < LIMIT {
        if count(path, source, message) >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

const RELOAD_V1: &str = r#"
[[source]]
name = "keep"
script = "sleeper.py"
class = "Sleeper"

[[source]]
name = "old"
script = "sleeper.py"
class = "Sleeper"

[[source]]
name = "chg"
script = "sleeper.py"
class = "Sleeper"
options = { mode = "sleep" }

[[destination]]
type = "file"
path = "out.jsonl"
"#;

const RELOAD_V2: &str = r#"
[[source]]
name = "keep"
script = "sleeper.py"
class = "Sleeper"

[[source]]
name = "chg"
script = "sleeper.py"
class = "Sleeper"
options = { mode = "select" }

[[source]]
name = "new"
script = "sleeper.py"
class = "Sleeper"

[[destination]]
type = "file"
path = "out.jsonl"
"#;

#[test]
fn sighup_reloads_added_removed_and_changed_sources() {
    let setup = Setup::new(RELOAD_V1).script("sleeper.py");
    let out_file = setup.path("out.jsonl");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    for source in ["keep", "old", "chg"] {
        assert!(
            wait_count(&out_file, source, "ready", 1),
            "{source} never started"
        );
    }
    std::fs::write(setup.config_path(), RELOAD_V2).expect("config v2");
    util::signal(&child, "HUP");
    assert!(
        wait_count(&out_file, "new", "ready", 1),
        "the added source never started"
    );
    assert!(
        wait_count(&out_file, "chg", "ready", 2),
        "the changed source was not started again"
    );
    assert!(
        wait_count(&out_file, "old", "leaving run", 1),
        "the removed source was not stopped"
    );
    // A configuration that does not load leaves everything running.
    std::fs::write(setup.config_path(), "[[source]\nbroken").expect("broken config");
    util::signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(300));
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(out.stderr.contains("reload refused"), "{}", out.stderr);
    assert_eq!(
        count(&out_file, "keep", "ready"),
        1,
        "the unchanged source kept running"
    );
    assert_eq!(count(&out_file, "keep", "leaving run"), 1);
    assert_eq!(count(&out_file, "old", "ready"), 1);
    assert_eq!(count(&out_file, "chg", "leaving run"), 2);
    assert_eq!(
        count(&out_file, "new", "leaving run"),
        1,
        "the added source stopped at SIGTERM"
    );
    let keep_started = out
        .stderr
        .lines()
        .filter(|l| l.contains("source=keep") && l.contains("running"))
        .count();
    assert_eq!(keep_started, 1, "{}", out.stderr);
}

#[test]
fn a_source_above_recycle_above_is_recycled_without_loss_or_repeats() {
    let setup = Setup::new(
        r#"
[[source]]
name = "grower"
class = "Grower"
policy = { memory = "128MiB", recycle_above = "48MiB" }
destinations = ["out"]
code = """
import time
from syslogng import LogSource, LogMessage, Persist
class Grower(LogSource):
    def init(self, options):
        self.state = Persist("grower", defaults={"seq": 0, "instance": 0})
        self.state["instance"] += 1
        self.exit = False
        return True
    def run(self):
        if self.state["instance"] == 1:
            # Linear memory grows past recycle_above and never shrinks.
            blob = bytearray(48 * 1024 * 1024)
            del blob
        seq = self.state["seq"]
        while not self.exit:
            seq += 1
            m = LogMessage(f"m{seq}")
            m["seq"] = seq
            m["instance"] = self.state["instance"]
            self.post_message(m)
            time.sleep(0.01)
        self.state["seq"] = seq
    def request_exit(self):
        self.exit = True
"""

[[destination]]
name = "out"
type = "file"
path = "out.jsonl"
"#,
    );
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    let out = setup.path("out.jsonl");
    let started = Instant::now();
    let instances = || -> Vec<i64> {
        std::fs::read_to_string(&out)
            .map(|t| {
                util::json_lines(&t)
                    .iter()
                    .map(|l| l["instance"].as_i64().unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default()
    };
    while instances().iter().filter(|&&i| i == 2).count() < 20 && started.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    util::signal(&child, "TERM");
    let run = util::wait(child, LIMIT);
    run.assert_success();
    let lines = util::json_lines(&std::fs::read_to_string(&out).expect("out"));
    let seqs: Vec<i64> = lines
        .iter()
        .map(|l| l["seq"].as_i64().unwrap_or(0))
        .collect();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(
        seqs, expected,
        "every message once, in order, across the recycle"
    );
    let firsts = lines.iter().filter(|l| l["instance"] == 1).count();
    assert!(firsts > 0, "the first instance posted");
    assert!(
        lines[firsts..].iter().all(|l| l["instance"] == 2),
        "then the second, which stays under the threshold"
    );
    assert!(
        run.stderr
            .contains("memory is above recycle_above; recycling"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("recycled: starting again in a fresh instance")
    );
}

#[test]
fn sources_still_waiting_to_start_are_not_started_after_sigterm() {
    const SOURCES: usize = 300;
    let mut config = numbered_sources(SOURCES, "sleeper.py", "Sleeper");
    config.push_str("[[destination]]\ntype = \"file\"\npath = \"out.jsonl\"\n");
    let setup = Setup::new(&config).script("sleeper.py");
    let mut cmd = setup.command();
    cmd.arg("--log-level").arg("sandlog=debug");
    let child = cmd
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("starting sandlog");
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 1, LIMIT),
        "no source posted"
    );
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    let count = |needle: &str| out.stderr.lines().filter(|l| l.contains(needle)).count();
    let started = count("instantiated and initialised");
    let cancelled = count("stopped before its turn to start");
    // Sources start one at a time, a few milliseconds each: when the first
    // has posted, most are still waiting, and those never start.
    assert!(started >= 1, "{}", out.stderr);
    assert!(cancelled > 0, "every source started: {}", out.stderr);
    assert_eq!(started + cancelled, SOURCES, "{}", out.stderr);
    assert_eq!(count("ERROR"), 0, "{}", out.stderr);
}

/// The host log never decides whether sources run or stop: with stderr a
/// closed pipe (its reader went away), the bundled example writes all its
/// lines and exits 0, and a long-running source still stops on SIGTERM.
#[test]
fn a_closed_stderr_neither_kills_nor_hangs_sandlog() {
    let example = util::repo_root().join("examples/hello/sandlog.toml");
    let mut cmd = std::process::Command::new(util::bin());
    cmd.arg("--cache-dir")
        .arg(util::cache_dir())
        .arg("run")
        .arg(&example)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("sandlog");
    drop(child.stderr.take());
    let out = util::wait(child, LIMIT);
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(out.lines().len(), 8);

    let setup = Setup::new(&SLEEPER_TO_FILE.replace("MODE", "sleep")).script("sleeper.py");
    let mut child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("sandlog");
    drop(child.stderr.take());
    assert!(util::wait_for_file_lines(
        &setup.path("out.jsonl"),
        1,
        LIMIT
    ));
    let signalled = Instant::now();
    child.signal("TERM");
    let out = child.wait(LIMIT);
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
}

/// An exit request that comes back with the hand-over of buffered
/// messages at the start of a sleep ends that sleep: the source leaves at
/// once, not after its exit grace.
#[test]
fn an_exit_request_met_at_the_start_of_a_sleep_ends_it() {
    let setup = Setup::new(
        r#"
[[source]]
name = "late"
script = "exit_in_handover.py"
class = "ExitInHandover"
policy = { exit_grace = "30s" }

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    )
    .script("exit_in_handover.py");
    let child = setup.spawn();
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 1, LIMIT),
        "the source never posted"
    );
    util::signal(&child, "TERM");
    let signalled = Instant::now();
    let out = util::wait(child, LIMIT);
    let took = signalled.elapsed();
    out.assert_success();
    assert!(
        took < Duration::from_secs(10),
        "stopping took {took:?}: the sleep outlived the exit request\n{}",
        out.stderr
    );
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("out");
    let messages: Vec<String> = util::json_lines(&text)
        .iter()
        .map(|v| v["MESSAGE"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(messages, ["computing", "computed", "leaving run"]);
    assert!(out.stderr.contains("ending=Returned"), "{}", out.stderr);
}

/// A fault on the host's side (here: the state directory cannot be made,
/// its parent is a file) is reported as the host's, not restarted as if
/// the script had trapped, counted under its own ending, and a run where
/// no source could start fails.
#[test]
fn a_host_fault_is_reported_as_such_and_not_restarted() {
    let setup = Setup::new(
        r#"
[[source]]
name = "victim"
script = "sleeper.py"
class = "Sleeper"
restart = "always"
"#,
    )
    .script("sleeper.py")
    .file("state", "a file where the state directory should be");
    let out = setup.run(LIMIT);
    assert!(!out.status.success(), "{}", out.stderr);
    assert!(
        out.stderr.contains("host fault (not the script's)")
            && out.stderr.contains("creating the state directory"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("restarting"), "{}", out.stderr);
    assert!(!out.stderr.contains("trapped"), "{}", out.stderr);
}

/// A source waiting without a timeout in accept(), select(), a selector,
/// an asyncio server or time.sleep is not woken until there is something
/// for it: its guest runs for no epoch slice while it waits (each wake-up
/// would count one), and SIGTERM still reaches every one of them at once.
#[test]
fn idle_waits_do_not_wake_the_guest_and_still_hear_request_exit() {
    const MODES: [&str; 5] = ["accept", "select", "selectors", "asyncio", "sleep"];
    let port = util::free_port();
    let mut config = format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n\n");
    for mode in MODES {
        config.push_str(&format!(
            "[[source]]\nname = \"{mode}\"\nscript = \"idle_waiter.py\"\nclass = \"Waiter\"\n\
             options = {{ mode = \"{mode}\" }}\npolicy = {{ network.listen = [\"127.0.0.1:*\"] }}\n\n"
        ));
    }
    config.push_str("[[destination]]\ntype = \"file\"\npath = \"out.jsonl\"\n");
    let setup = Setup::new(&config).script("idle_waiter.py");
    let child = setup.spawn();
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), MODES.len(), LIMIT),
        "not every source came up"
    );
    let busy = |scrape: &str, mode: &str| {
        util::metric(
            scrape,
            &format!("sandlog_source_guest_busy_milliseconds_total{{source=\"{mode}\"}}"),
        )
        .unwrap_or_else(|| panic!("no busy time for {mode} in {scrape}"))
    };
    // Let the first waits begin, then watch them for two seconds.
    std::thread::sleep(Duration::from_millis(500));
    let before = util::scrape_metrics(port);
    std::thread::sleep(Duration::from_secs(2));
    let after = util::scrape_metrics(port);
    for mode in MODES {
        let woke = busy(&after, mode) - busy(&before, mode);
        // Waiting in 50 ms slices, each source ran 40 slices (400 ms) here.
        assert!(woke <= 20.0, "{mode}: the guest ran {woke} ms while idle");
    }
    let signalled = Instant::now();
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    let stop_time = signalled.elapsed();
    out.assert_success();
    assert!(!out.stderr.contains("interrupted"), "{}", out.stderr);
    assert!(
        stop_time < Duration::from_secs(3),
        "stopping took {stop_time:?}"
    );
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("output file");
    let lines = util::json_lines(&text);
    for mode in MODES {
        let left = format!("left {mode}");
        assert!(
            lines.iter().any(|l| l["MESSAGE"] == left.as_str()),
            "{mode} never left its wait: {lines:?}"
        );
    }
}

/// Many sources stopping together: every one hears request_exit() before
/// any goes on with the rest of its exit (each waits, after its
/// request_exit(), for the others to hear theirs), so that the last to hear
/// is not kept waiting behind the others' exits.
#[test]
fn stopping_sources_all_hear_request_exit_before_any_goes_on() {
    const SOURCES: usize = 40;
    let (setup, child) = numbered_run_up(SOURCES, "hears_then_leaves.py", "Waiter");
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("output file");
    let left: Vec<_> = util::json_lines(&text)
        .into_iter()
        .filter(|l| l["MESSAGE"] == "left")
        .collect();
    assert_eq!(left.len(), SOURCES, "{text}");
    let number = |l: &serde_json::Value, key: &str| -> u128 {
        l[key].as_str().and_then(|v| v.parse().ok()).expect(key)
    };
    let last_heard = left.iter().map(|l| number(l, "heard")).max().unwrap();
    let first_left = left.iter().map(|l| number(l, "left")).min().unwrap();
    assert!(
        last_heard <= first_left,
        "a source went on {} µs before the last one heard request_exit()",
        (last_heard - first_left) / 1000
    );
}

/// A source too busy to hear request_exit() holds the others back for a
/// bounded time only: they leave, and the run stops once the busy one's
/// exit grace has passed.
#[test]
fn a_source_that_never_hears_request_exit_holds_the_others_back_briefly() {
    let mut config = numbered_sources(4, "hears_then_leaves.py", "Waiter");
    config.push_str(
        "[[source]]\nname = \"busy\"\nscript = \"hears_then_leaves.py\"\nclass = \"Waiter\"\n\
         options = { busy = \"yes\" }\npolicy = { exit_grace = \"3s\" }\n\n",
    );
    config.push_str("[[destination]]\ntype = \"file\"\npath = \"out.jsonl\"\n");
    let setup = Setup::new(&config).script("hears_then_leaves.py");
    let child = setup.spawn();
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 5, LIMIT),
        "not every source came up"
    );
    let signalled = Instant::now();
    util::signal(&child, "TERM");
    let path = setup.path("out.jsonl");
    // The four quiet sources leave well before the busy one's grace ends.
    assert!(
        util::wait_for_file_lines(&path, 9, Duration::from_secs(2)),
        "the quiet sources did not leave within 2 s of SIGTERM"
    );
    let left_after = signalled.elapsed();
    let out = util::wait(child, LIMIT);
    assert!(
        out.stderr.contains("interrupted"),
        "the busy source was not interrupted: {}",
        out.stderr
    );
    assert!(
        left_after < Duration::from_secs(2),
        "the quiet sources left {left_after:?} after SIGTERM"
    );
}

/// `count` sources named s0, s1, ... running `class` of `script`.
fn numbered_sources(count: usize, script: &str, class: &str) -> String {
    (0..count)
        .map(|i| {
            format!("[[source]]\nname = \"s{i}\"\nscript = \"{script}\"\nclass = \"{class}\"\n\n")
        })
        .collect()
}

/// A run of [`numbered_sources`] into `out.jsonl`, once every source has
/// posted its first line.
fn numbered_run_up(count: usize, script: &str, class: &str) -> (Setup, util::ChildGuard) {
    let mut config = numbered_sources(count, script, class);
    config.push_str("[[destination]]\ntype = \"file\"\npath = \"out.jsonl\"\n");
    let setup = Setup::new(&config).script(script);
    let child = setup.spawn();
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), count, LIMIT),
        "not every source came up"
    );
    (setup, child)
}

/// The open files of a run of `count` sleeping sources, once all are up.
fn open_files_with(count: usize) -> usize {
    let (_setup, child) = numbered_run_up(count, "sleeper.py", "Sleeper");
    let fds = std::fs::read_dir(format!("/proc/{}/fd", child.pid()))
        .expect("the process's open files")
        .count();
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
    fds
}

/// A source holds one open file of its own when idle (its state
/// directory): the Python library, which every source is given, is one
/// open directory for the whole process. At ten thousand sources, one
/// more per source is ten thousand more of the process's limit.
#[test]
fn an_idle_source_holds_one_open_file() {
    const MORE: usize = 40;
    let one = open_files_with(1);
    let many = open_files_with(1 + MORE);
    let per_source = (many - one) as f64 / MORE as f64;
    assert!(
        per_source <= 1.1,
        "{one} open files with one source, {many} with {}: {per_source:.2} each",
        1 + MORE
    );
}
