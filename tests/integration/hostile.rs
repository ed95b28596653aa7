//! Every script in tests/hostile/ runs beside a healthy co-tenant that posts
//! a known number of messages. For each: the host survives, the co-tenant's
//! messages all arrive (and no more), the hostile source gets a clear error
//! in the log, and shutdown completes within its exit grace.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{self, Setup};

const HEALTHY: usize = 200;
const GRACE: Duration = Duration::from_secs(1);
/// Time for the host to notice, stop and flush after the grace.
const MARGIN: Duration = Duration::from_secs(2);

const HEALTHY_SOURCE: &str = r#"
import time
from syslogng import LogSource, LogMessage
class Healthy(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        for i in range(200):
            msg = LogMessage(f"healthy {i}")
            msg["seq"] = i
            self.post_message(msg)
            time.sleep(0.001)
        while not self.exit:
            time.sleep(0.05)
    def request_exit(self):
        self.exit = True
"#;

fn config(script: &str) -> String {
    format!(
        r#"
[policy.hostile]
memory = "64MiB"
exit_grace = "1s"
max_message_size = "64KiB"

[[source]]
name = "hostile"
script = "{script}"
class = "Hostile"
policy = "hostile"

[[source]]
name = "healthy"
script = "healthy.py"
class = "Healthy"

[[destination]]
type = "file"
path = "out.jsonl"
"#
    )
}

/// The alternatives listed in a script's `EXPECT = [...]` (plain quoted
/// strings without escapes).
fn expectations(source: &str) -> Vec<String> {
    let Some(start) = source.find("\nEXPECT = [") else {
        return Vec::new();
    };
    let rest = &source[start + "\nEXPECT = [".len()..];
    let body = &rest[..rest.find(']').unwrap_or(rest.len())];
    let mut out = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let s: String = chars.by_ref().take_while(|&d| d != c).collect();
            out.push(s);
        }
    }
    out
}

fn healthy_count(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"SOURCE\":\"healthy\""))
                .count()
        })
        .unwrap_or(0)
}

/// Runs one hostile script; returns what went wrong, if anything.
fn run_one(script: &Path) -> Result<(), String> {
    let name = script
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_owned();
    let source = std::fs::read_to_string(script).map_err(|e| e.to_string())?;
    let expect = expectations(&source);
    if expect.is_empty() {
        return Err("no EXPECT list".into());
    }
    let setup = Setup::new(&config(&name))
        .file(&name, &source)
        .file("healthy.py", HEALTHY_SOURCE);
    let mut cmd = setup.command();
    cmd.stdout(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut l) = log.lock() {
                    l.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        })
    };
    let out = setup.path("out.jsonl");
    let seen = |log: &Arc<Mutex<String>>| {
        log.lock()
            .map(|l| expect.iter().any(|e| l.contains(e.as_str())))
            .unwrap_or(false)
    };

    // Let the co-tenant deliver everything and the attack show itself.
    let started = Instant::now();
    while healthy_count(&out) < HEALTHY && started.elapsed() < Duration::from_secs(60) {
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let shown = Instant::now();
    while !seen(&log)
        && shown.elapsed() < Duration::from_secs(3)
        && child.try_wait().ok().flatten().is_none()
    {
        std::thread::sleep(Duration::from_millis(20));
    }

    let signalled = Instant::now();
    if child.try_wait().ok().flatten().is_none() {
        util::signal(&child, "TERM");
    }
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("sandlog did not stop within 30 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stop_time = signalled.elapsed();
    let _ = reader.join();
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let tail = || {
        log.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };

    if !status.success() {
        return Err(format!("sandlog exited with {status:?}\n{}", tail()));
    }
    let healthy = healthy_count(&out);
    if healthy != HEALTHY {
        return Err(format!(
            "{healthy} healthy messages instead of {HEALTHY}\n{}",
            tail()
        ));
    }
    if !expect.iter().any(|e| log.contains(e.as_str())) {
        return Err(format!("none of {expect:?} in the log\n{}", tail()));
    }
    if stop_time > GRACE + MARGIN {
        return Err(format!("stopping took {stop_time:?}\n{}", tail()));
    }
    Ok(())
}

fn hostile_scripts() -> Vec<PathBuf> {
    let dir = util::repo_root().join("tests/hostile");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    scripts.retain(|p| p.extension().is_some_and(|e| e == "py"));
    scripts.sort();
    scripts
}

#[test]
fn hostile_scripts_are_contained() {
    let scripts = hostile_scripts();
    assert!(
        scripts.len() >= 40,
        "only {} hostile scripts",
        scripts.len()
    );
    // Two at a time: each run is mostly waiting on its co-tenant and grace.
    let queue = Arc::new(Mutex::new(scripts.clone()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let queue = queue.clone();
            let failures = failures.clone();
            std::thread::spawn(move || {
                // The queue's lock is released before each run.
                let next = || queue.lock().ok().and_then(|mut q| q.pop());
                while let Some(script) = next() {
                    if let (Err(e), Ok(mut f)) = (run_one(&script), failures.lock()) {
                        f.push(format!("{}: {e}", script.display()));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let failures = failures.lock().map(|f| f.clone()).unwrap_or_default();
    assert!(
        failures.is_empty(),
        "{} of {} hostile scripts misbehaved:\n\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n\n")
    );
}

#[test]
fn expectations_are_parsed() {
    let src = "x = 1\nEXPECT = [\"run() raised: MemoryError\", 'the guest trapped']\n";
    assert_eq!(
        expectations(src),
        vec!["run() raised: MemoryError", "the guest trapped"]
    );
}
