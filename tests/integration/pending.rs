//! Nothing posted is lost or late: a message for which post_message()
//! returned reaches the destination although the instance then traps, is
//! interrupted after its exit grace or runs out of memory, and a source
//! that keeps posting hands its buffer over within the age bound. Each
//! test reads the file destination as sandlog writes it and compares the
//! time it saw a message with the time the script stamped on it.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(60);

/// A setup running tests/scripts/post_then.py with `options` into
/// out.jsonl, with restarts off.
fn post_then(options: &str, policy: &str) -> Setup {
    Setup::new(&format!(
        r#"
[[source]]
name = "poster"
script = "post_then.py"
class = "PostThen"
options = {{ {options} }}
restart = "never"
policy = {{ {policy} }}

[[destination]]
type = "file"
path = "out.jsonl"
"#
    ))
    .script("post_then.py")
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Watches `path` for up to `limit` until `want` messages are there;
/// returns each MESSAGE with how long after its `posted_at` it was seen
/// (in seconds, to the 5 ms of the polling).
fn watch(path: &Path, want: usize, limit: Duration) -> HashMap<String, f64> {
    watch_at(path, want, limit)
        .into_iter()
        .map(|(m, (posted, seen))| (m, seen - posted))
        .collect()
}

/// As [`watch`], with the time each was posted and seen.
fn watch_at(path: &Path, want: usize, limit: Duration) -> HashMap<String, (f64, f64)> {
    let started = Instant::now();
    let mut seen = HashMap::new();
    while started.elapsed() < limit && seen.len() < want {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let at = now();
        for line in text.lines().filter(|l| l.ends_with('}')) {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let message = v["MESSAGE"].as_str().unwrap_or_default().to_owned();
            let posted: f64 = v["posted_at"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no posted_at in {line}"));
            seen.entry(message).or_insert((posted, at));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

#[test]
fn a_message_posted_before_a_stack_overflow_arrives() {
    let setup = post_then(r#"then = "overflow""#, "");
    let child = setup.spawn();
    let seen = watch(&setup.path("out.jsonl"), 1, Duration::from_secs(20));
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(out.stderr.contains("the guest trapped"), "{}", out.stderr);
    let late = seen
        .get("posted before overflow")
        .unwrap_or_else(|| panic!("lost; stderr:\n{}", out.stderr));
    eprintln!(
        "posted, then a stack overflow: arrived {:.0} ms after posting",
        late * 1000.0
    );
    // The trap comes as deep as the stack goes: well within a second.
    assert!(*late < 2.0, "{late}");
    assert!(
        out.stderr
            .contains("took the messages the guest had posted"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_message_posted_before_an_interrupt_after_the_grace_arrives() {
    let setup = post_then(r#"then = "spin""#, r#"exit_grace = "1s""#);
    let child = setup.spawn();
    // The destination's file is there once sandlog runs; the source spins
    // soon after.
    let started = Instant::now();
    while started.elapsed() < LIMIT && std::fs::metadata(setup.path("out.jsonl")).is_err() {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let signalled = now();
    util::signal(&child, "TERM");
    let seen = watch_at(&setup.path("out.jsonl"), 1, Duration::from_secs(10));
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        out.stderr.contains("did not return within the exit grace"),
        "{}",
        out.stderr
    );
    let (_, at) = seen
        .get("posted before spin")
        .unwrap_or_else(|| panic!("lost; stderr:\n{}", out.stderr));
    let after_stop = at - signalled;
    eprintln!(
        "posted, then a spin past the grace: arrived {:.0} ms after SIGTERM (grace 1 s)",
        after_stop * 1000.0
    );
    // The grace, then at most a CPU slice and a tick until the trap.
    assert!(after_stop < 1.5, "{after_stop}");
}

#[test]
fn a_message_posted_before_a_memory_error_arrives() {
    let setup = post_then(r#"then = "oom""#, r#"memory = "64MiB""#);
    let child = setup.spawn();
    let seen = watch(&setup.path("out.jsonl"), 1, Duration::from_secs(20));
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        out.stderr.contains("MemoryError") || out.stderr.contains("the guest trapped"),
        "{}",
        out.stderr
    );
    let late = seen
        .get("posted before oom")
        .unwrap_or_else(|| panic!("lost; stderr:\n{}", out.stderr));
    eprintln!(
        "posted, then out of memory: arrived {:.0} ms after posting",
        late * 1000.0
    );
    assert!(*late < 2.0, "{late}");
}

#[test]
fn a_source_computing_between_posts_hands_each_over_within_the_age_bound() {
    // 20 messages, 30 ms of pure computation after each: the buffer (256)
    // never fills, and the source never waits.
    let setup = post_then(r#"then = "gaps", count = "20", gap_ms = "30""#, "");
    let child = setup.spawn();
    let seen = watch(&setup.path("out.jsonl"), 20, Duration::from_secs(20));
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    // The last one waits for the computation after it, then the sleep
    // that follows hands it over.
    let mut lates: Vec<f64> = (0..19)
        .map(|i| {
            *seen
                .get(&format!("gap {i}"))
                .unwrap_or_else(|| panic!("gap {i} lost; stderr:\n{}", out.stderr))
        })
        .collect();
    lates.sort_by(f64::total_cmp);
    let worst = lates[lates.len() - 1];
    eprintln!(
        "posting every 30 ms: median {:.0} ms, worst {:.0} ms from post to file",
        lates[lates.len() / 2] * 1000.0,
        worst * 1000.0
    );
    // A message is handed over at the next post after it is 20 ms old:
    // here 30 ms later, plus the file destination's write.
    assert!(worst < 0.25, "{lates:?}");
}

#[test]
fn a_message_posted_before_3s_of_pure_computation_arrives_when_it_ends() {
    let setup = post_then(r#"then = "compute", seconds = "3""#, "");
    let child = setup.spawn();
    let seen = watch(&setup.path("out.jsonl"), 2, Duration::from_secs(20));
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    let late = seen
        .get("posted before compute")
        .unwrap_or_else(|| panic!("lost; stderr:\n{}", out.stderr));
    let after = seen
        .get("computed")
        .unwrap_or_else(|| panic!("lost; stderr:\n{}", out.stderr));
    eprintln!(
        "posted, then 3 s of computation with no call into sandlog: arrived {:.0} ms after posting; the message after it {:.0} ms after its post",
        late * 1000.0,
        after * 1000.0
    );
    // The bound sandlog reaches here (docs/running.md): a source that
    // makes no call into sandlog hands nothing over until it does, or
    // until it is stopped. The message posted after the computation, with
    // the source then waiting, is out at once.
    assert!(*late < 3.5, "{late}");
    assert!(*after < 0.2, "{after}");
}
