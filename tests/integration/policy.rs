//! Policies: network and file grants, environment, memory, message size,
//! CPU fairness, all on the real binary with real sockets on loopback.

use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use serde_json::Value;

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    // Free for TCP and UDP alike, as far as one can tell without racing.
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn by_message<'a>(lines: &'a [Value], message: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["MESSAGE"] == message)
        .unwrap_or_else(|| panic!("no message {message:?} in {lines:?}"))
}

fn connect_retrying(port: u16) -> TcpStream {
    for _ in 0..500 {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

#[test]
fn granted_listeners_receive_tcp_and_udp() {
    let port = free_port();
    let setup = Setup::new(&format!(
        r#"
[policy.listener]
network.listen = ["127.0.0.1:{port}"]

[[source]]
name = "server"
script = "net_server.py"
class = "NetServer"
policy = "listener"
options = {{ port = "{port}" }}

[[destination]]
type = "file"
path = "out.jsonl"
"#
    ))
    .script("net_server.py");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    // UDP first: resend until the source has bound and posted it.
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut got_udp = false;
    for _ in 0..500 {
        udp.send_to(b"over udp", ("127.0.0.1", port)).expect("send");
        if util::wait_for_file_lines(&setup.path("out.jsonl"), 1, Duration::from_millis(20)) {
            got_udp = true;
            break;
        }
    }
    assert!(got_udp, "the UDP datagram never arrived");
    let mut tcp = connect_retrying(port);
    tcp.write_all(b"first line\nsecond line\n").expect("write");
    drop(tcp);
    assert!(util::wait_for_file_lines(
        &setup.path("out.jsonl"),
        4,
        LIMIT
    ));
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    let lines = util::json_lines(&std::fs::read_to_string(setup.path("out.jsonl")).expect("out"));
    let udp_msg = by_message(&lines, "over udp");
    assert_eq!(udp_msg["TRANSPORT"], "udp");
    assert_eq!(udp_msg["SOURCEIP"], "127.0.0.1");
    assert_eq!(by_message(&lines, "first line")["TRANSPORT"], "tcp");
    by_message(&lines, "second line");
    by_message(&lines, "connection closed");
}

#[test]
fn connect_and_dns_follow_the_policy() {
    let allowed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let allowed_port = allowed.local_addr().expect("addr").port();
    let denied = TcpListener::bind("127.0.0.1:0").expect("bind");
    let denied_port = denied.local_addr().expect("addr").port();
    let setup = Setup::new(&format!(
        r#"
[[source]]
name = "client"
script = "net_client.py"
class = "NetClient"
policy = {{ network.connect = ["127.0.0.1:{allowed_port}"] }}
options = {{ targets = "127.0.0.1:{allowed_port},127.0.0.1:{denied_port},[::1]:{allowed_port}" }}
"#
    ))
    .script("net_client.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(
        by_message(&lines, &format!("connect 127.0.0.1:{allowed_port}"))["outcome"],
        "connected"
    );
    let refused = &by_message(&lines, &format!("connect 127.0.0.1:{denied_port}"))["outcome"];
    assert_eq!(refused, "PermissionError", "{}", out.stderr);
    assert_ne!(
        by_message(&lines, &format!("connect [::1]:{allowed_port}"))["outcome"],
        "connected"
    );
    assert_ne!(by_message(&lines, "dns")["outcome"], "resolved");
    let denial = out
        .stderr
        .lines()
        .find(|l| l.contains("denied by policy") && l.contains(&format!("127.0.0.1:{denied_port}")))
        .unwrap_or_else(|| panic!("no denial logged: {}", out.stderr));
    assert!(
        denial.contains("client") && denial.contains("network.connect"),
        "{denial}"
    );
    // The allowed connection really reached our listener.
    allowed.set_nonblocking(true).expect("nonblocking");
    assert!(
        allowed.accept().is_ok(),
        "the granted connect never arrived"
    );
}

#[test]
fn asyncio_server_runs_and_stops_on_request_exit() {
    let port = free_port();
    let setup = Setup::new(&format!(
        r#"
[[source]]
name = "aio"
script = "asyncio_server.py"
class = "AsyncServer"
policy = {{ network.listen = ["127.0.0.1:*"], network.connect = ["127.0.0.1:*"] }}
options = {{ port = "{port}" }}

[[destination]]
type = "file"
path = "out.jsonl"
"#
    ))
    .script("asyncio_server.py");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 1, LIMIT),
        "never listened"
    );
    let mut tcp = connect_retrying(port);
    tcp.write_all(b"from asyncio\n").expect("write");
    assert!(util::wait_for_file_lines(
        &setup.path("out.jsonl"),
        2,
        LIMIT
    ));
    let signalled = std::time::Instant::now();
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "{:?}",
        signalled.elapsed()
    );
    assert!(!out.stderr.contains("exit grace"), "{}", out.stderr);
    let lines = util::json_lines(&std::fs::read_to_string(setup.path("out.jsonl")).expect("out"));
    by_message(&lines, "from asyncio");
    by_message(&lines, "loop stopped");
}

#[test]
fn files_env_memory_and_message_size_are_bounded() {
    let setup = Setup::new(
        r#"
[policy.tenant]
memory = "64MiB"
max_message_size = "4KiB"
env = { GREETING = "hello" }
files = [
    { host = "data", guest = "/data" },
    { host = "out", guest = "/out", mode = "rw" },
]

[[source]]
name = "probe"
script = "sandbox_check.py"
class = "SandboxCheck"
policy = "tenant"
"#,
    )
    .script("sandbox_check.py");
    std::fs::create_dir(setup.path("data")).expect("mkdir");
    std::fs::create_dir(setup.path("out")).expect("mkdir");
    std::fs::write(setup.path("data/in.txt"), "mounted content\n").expect("write");
    std::os::unix::fs::symlink("/etc", setup.path("data/escape")).expect("symlink");
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    let outcome = |name: &str| {
        by_message(&lines, name)["outcome"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(outcome("read_mount"), "mounted content");
    assert_ne!(outcome("write_ro_mount"), "ok");
    assert_eq!(outcome("write_rw_mount"), "ok");
    assert_eq!(
        std::fs::read_to_string(setup.path("out/new.txt")).expect("written"),
        "x"
    );
    assert!(!setup.path("data/new.txt").exists());
    for escape in ["etc_passwd", "traversal", "symlink_escape", "write_stdlib"] {
        let o = outcome(escape);
        assert!(o.ends_with("Error"), "{escape}: {o}");
    }
    // The guest has no root directory to list, only its mounts.
    let root = outcome("list_root");
    assert!(
        root == "FileNotFoundError" || root == "data,out,python",
        "{root}"
    );
    assert_eq!(outcome("environ"), "GREETING=hello");
    assert_eq!(outcome("memory_bomb"), "MemoryError");
    assert_eq!(
        outcome("after_bomb"),
        "1048576",
        "the source goes on after a MemoryError"
    );
    assert_eq!(outcome("oversized"), "ValueError");
    for absent in ["subprocess", "thread", "ctypes"] {
        let o = outcome(absent);
        assert!(
            o.ends_with("Error") || o == "NotImplementedError",
            "{absent}: {o}"
        );
    }
}

#[test]
fn a_spinning_source_does_not_starve_the_others() {
    let setup = Setup::new(
        r#"
[[source]]
name = "spinner"
class = "Spin"
policy = { exit_grace = "1s" }
code = """
from syslogng import LogSource
class Spin(LogSource):
    def run(self):
        while True:
            pass
    def request_exit(self):
        pass
"""

[[source]]
name = "poster"
class = "Poster"
code = """
import time
from syslogng import LogSource, LogMessage
class Poster(LogSource):
    def run(self):
        for i in range(50):
            self.post_message(LogMessage(f"tick {i}"))
            time.sleep(0.005)
    def request_exit(self):
        pass
"""

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    );
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 50, LIMIT),
        "the poster never got its 50 messages out beside the spinner"
    );
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        out.stderr.contains("did not return within the exit grace"),
        "{}",
        out.stderr
    );
}

/// Connects and resets (SO_LINGER 0), so that the server's socket has no
/// peer any more.
fn connect_and_reset(port: u16) {
    let stream = connect_retrying(port);
    let socket = socket2::Socket::from(stream);
    socket.set_linger(Some(Duration::ZERO)).expect("linger");
    drop(socket);
}

#[test]
fn a_peer_that_resets_does_not_end_a_server() {
    let port = free_port();
    let setup = Setup::new(&format!(
        r#"
[[source]]
name = "server"
script = "reset_server.py"
class = "ResetServer"
restart = "never"
policy = {{ network.listen = ["127.0.0.1:{port}"] }}
options = {{ port = "{port}" }}

[[destination]]
type = "file"
path = "out.jsonl"
"#
    ))
    .script("reset_server.py");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start");
    let out_path = setup.path("out.jsonl");
    let mut arrived = util::wait_for_file_lines(&out_path, 1, LIMIT);
    if arrived {
        connect_and_reset(port);
        arrived = util::wait_for_file_lines(&out_path, 5, LIMIT);
    }
    if arrived {
        // The asyncio transport asks for the peer's address as it starts.
        connect_and_reset(port);
        let mut tcp = connect_retrying(port);
        tcp.write_all(b"after reset\n").expect("write");
        arrived = util::wait_for_file_lines(&out_path, 6, LIMIT);
    }
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    let written = std::fs::read_to_string(&out_path).unwrap_or_default();
    assert!(arrived, "{written}\n{}", out.stderr);
    out.assert_success();
    assert!(!out.stderr.contains("trapped"), "{}", out.stderr);
    let lines = util::json_lines(&std::fs::read_to_string(&out_path).expect("out"));
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["MESSAGE"].as_str()).collect();
    assert_eq!(
        messages,
        [
            "listening",
            "recv: ConnectionResetError",
            "getpeername: ok",
            "shutdown: done",
            "asyncio listening",
            "asyncio: after reset from a peer",
        ],
        "{}",
        out.stderr
    );
}

/// What a directory takes on the host, as the sandbox counts it: every
/// entry at least one 4 KiB block.
fn disk_usage(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)
        .expect("reading a directory")
        .flatten()
    {
        let meta = entry.metadata().expect("metadata");
        total += meta.len().div_ceil(4096).max(1) * 4096;
        if meta.is_dir() {
            total += disk_usage(&entry.path());
        }
    }
    total
}

/// `max_state_size` and a mount's `max_size` bound what a source can put
/// on the host's disk: past them a write fails in the guest, Persist
/// raises and keeps its store as it was, the source goes on, and space
/// given back can be used again.
#[test]
fn the_state_directory_and_a_capped_mount_are_bounded() {
    let setup = Setup::new(
        r#"
[[source]]
name = "fill"
script = "fill_disk.py"
class = "FillDisk"
policy = { max_state_size = "256KiB", files = [{ host = "data", guest = "/data", mode = "rw", max_size = "128KiB" }] }

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    )
    .script("fill_disk.py")
    .dir("data");
    let out = setup.run(LIMIT);
    out.assert_success();
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("out");
    let messages: Vec<String> = util::json_lines(&text)
        .iter()
        .map(|v| v["MESSAGE"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        messages,
        [
            "persist: EIO",
            "persist after: False kept",
            "persist leftovers: ['fill.json']",
            "mount: EIO after 120000",
            "truncate: ENOSPC",
            "still running",
        ],
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("a write would pass `max_state_size`"),
        "{}",
        out.stderr
    );
    let state = setup.path("state/sources/fill");
    assert!(disk_usage(&state) <= 256 * 1024, "{}", disk_usage(&state));
    assert!(disk_usage(&setup.path("data")) <= 128 * 1024);
}
