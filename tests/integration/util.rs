//! Shared helpers: a warm guest cache, configs in temp dirs, running the
//! binary with a deadline and reading its JSON lines.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_sandlog")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The host's Python, for the native peers of some tests.
pub fn python3() -> &'static str {
    "python3"
}

/// A child process of a test, killed (by its PID) and reaped when the
/// guard is dropped, a failing test's panic included. It derefs to the
/// [`Child`], so a test uses it as one.
pub struct ChildGuard {
    child: Option<Child>,
}

impl ChildGuard {
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard { child: Some(child) }
    }

    pub fn stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// Sends a signal to the child.
    pub fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            signal(c, sig);
        }
    }

    /// Reaps a child that was killed or is ending, with no deadline.
    pub fn wait_until_reaped(&mut self) -> ExitStatus {
        std::process::Child::wait(self).expect("reaping a child")
    }

    /// Waits for the child to end (see [`wait`]).
    pub fn wait(self, limit: Duration) -> Output {
        wait(self, limit)
    }
}

impl From<Child> for ChildGuard {
    fn from(child: Child) -> ChildGuard {
        ChildGuard::new(child)
    }
}

impl std::ops::Deref for ChildGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.child
            .as_ref()
            .expect("a child still owned by its guard")
    }
}

impl std::ops::DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        self.child
            .as_mut()
            .expect("a child still owned by its guard")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a command, its child owned by a guard from the first moment.
pub fn spawn(cmd: &mut Command, what: &str) -> ChildGuard {
    ChildGuard::new(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}")),
    )
}

/// Fails the calling test when an external program the test needs is not
/// installed: the explanation is printed once per test run, each further
/// test gets one line, and no test prints a backtrace for it.
pub fn require_program(program: &str, install_hint: &str) {
    static REPORTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if found {
        return;
    }
    let first = {
        let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
        let first = !reported.iter().any(|p| p == program);
        if first {
            reported.push(program.to_string());
        }
        first
    };
    if first {
        eprintln!(
            "\n`{program}` is not installed, so the tests that need it fail. {install_hint}\n"
        );
    } else {
        eprintln!("`{program}` is not installed (see above)");
    }
    // Not `panic!`: the panic hook would print a backtrace per test.
    std::panic::resume_unwind(Box::new(format!("{program} is not installed")));
}

pub fn scripts_dir() -> PathBuf {
    repo_root().join("tests/scripts")
}

/// One cache for every test, compiled once before the first test uses it.
pub fn cache_dir() -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandlog-cache");
        let status = Command::new(bin())
            .args(["prepare", "--cache-dir"])
            .arg(&dir)
            .status()
            .expect("running sandlog prepare");
        assert!(status.success(), "sandlog prepare failed");
        dir
    })
}

/// A temp dir holding a config and the scripts it names.
pub struct Setup {
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn new(config: &str) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("sandlog.toml"), config).expect("writing config");
        Setup { dir }
    }

    /// Copies a script from tests/scripts into the setup.
    pub fn script(self, name: &str) -> Setup {
        std::fs::copy(scripts_dir().join(name), self.dir.path().join(name))
            .expect("copying script");
        self
    }

    pub fn dir(self, name: &str) -> Setup {
        std::fs::create_dir_all(self.dir.path().join(name)).expect("mkdir");
        self
    }

    pub fn file(self, name: &str, text: &str) -> Setup {
        std::fs::write(self.dir.path().join(name), text).expect("writing file");
        self
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("sandlog.toml")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.arg("--cache-dir")
            .arg(cache_dir())
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .arg("run")
            .arg(self.config_path());
        // A shard from the environment would run only part of a config.
        cmd.env_remove("RUST_LOG").env_remove("SANDLOG_SHARD");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs to completion (at most `limit`) and collects what came out.
    pub fn run(&self, limit: Duration) -> Output {
        wait(self.spawn(), limit)
    }

    /// Starts the binary on this setup, the child owned by a guard.
    pub fn spawn(&self) -> ChildGuard {
        spawn(&mut self.command(), "sandlog")
    }
}

pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn lines(&self) -> Vec<Value> {
        json_lines(&self.stdout)
    }

    pub fn assert_success(&self) {
        assert!(
            self.status.success(),
            "sandlog failed: {:?}\nstderr:\n{}",
            self.status,
            self.stderr
        );
    }
}

pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect()
}

/// Waits for a child with a deadline, killing it (by its PID) if it runs
/// past it; the test then fails on the status.
pub fn wait(child: impl Into<ChildGuard>, limit: Duration) -> Output {
    let mut guard: ChildGuard = child.into();
    let child: &mut Child = &mut guard;
    let started = Instant::now();
    // Either may have been taken (or closed) by the test.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout
            .map(|mut o| o.read_to_string(&mut s).map(|_| s).unwrap_or_default())
            .unwrap_or_default()
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr
            .map(|mut e| e.read_to_string(&mut s).map(|_| s).unwrap_or_default())
            .unwrap_or_default()
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let status = child.wait().expect("waiting after kill");
            let stderr = err.join().unwrap_or_default();
            panic!("sandlog ran past {limit:?} and was killed ({status:?}); stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Sends a signal to a child we started.
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("running kill");
    assert!(status.success());
}

/// Waits until a file holds at least `n` lines (false if `limit` passes).
pub fn wait_for_file_lines(path: &Path, n: usize, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if std::fs::read_to_string(path).is_ok_and(|text| text.lines().count() >= n) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// examples/tail/tail.py following `data/app.log` (an empty `data/` is
/// made) into `out.jsonl`, with short fetcher delays.
pub fn tail_example() -> Setup {
    let script =
        std::fs::read_to_string(repo_root().join("examples/tail/tail.py")).expect("example");
    let setup = Setup::new(
        r#"
[[source]]
name = "tail"
script = "tail.py"
class = "Tail"
options = { path = "/data/app.log" }
time_reopen = "100ms"
fetch_no_data_delay = "50ms"
policy = { files = [{ host = "data", guest = "/data" }] }

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    )
    .file("tail.py", &script);
    std::fs::create_dir(setup.path("data")).expect("mkdir");
    setup
}

/// The text of one GET /metrics from the metrics listener on `port`.
pub fn scrape_metrics(port: u16) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics listener");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    conn.read_to_string(&mut response).expect("response");
    response
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The value of the metric line that starts with `series` (name and
/// labels) in a scrape.
pub fn metric(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}
