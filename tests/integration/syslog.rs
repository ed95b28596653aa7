//! Forwarding to a real syslog-ng (Debian's syslog-ng-core, installed by
//! .ci/run) listening on loopback: every message arrives with its fields,
//! messages are held while the receiver is down, and a receiver that never
//! comes back is reported with the count of undelivered messages.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(90);

/// A syslog-ng we started, stopped (by its PID) when dropped.
struct SyslogNg {
    _child: util::ChildGuard,
}

fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Starts syslog-ng with a TCP and a UDP syslog() source on `port`, each
/// written as JSON lines to its own file in `dir`.
fn start_syslog_ng(dir: &Path, port: u16) -> SyslogNg {
    let conf = dir.join("syslog-ng.conf");
    let template = "$(format-json --scope rfc5424 --scope sdata --pair PRI=$PRI)\\n";
    std::fs::write(
        &conf,
        format!(
            r#"@version: 3.38
options {{ stats-freq(0); keep-hostname(yes); }};
source s_tcp {{ syslog(ip(127.0.0.1) port({port}) transport(tcp)); }};
source s_udp {{ syslog(ip(127.0.0.1) port({port}) transport(udp)); }};
destination d_tcp {{ file("{dir}/tcp.jsonl" template("{template}")); }};
destination d_udp {{ file("{dir}/udp.jsonl" template("{template}")); }};
log {{ source(s_tcp); destination(d_tcp); }};
log {{ source(s_udp); destination(d_udp); }};
"#,
            dir = dir.display()
        ),
    )
    .expect("writing syslog-ng.conf");
    util::require_program(
        "syslog-ng",
        "Install Debian's syslog-ng-core (.ci/run does).",
    );
    let child = Command::new("syslog-ng")
        .arg("-F")
        .arg("-f")
        .arg(&conf)
        .arg(format!("--persist-file={}", dir.join("persist").display()))
        .arg(format!("--pidfile={}", dir.join("pid").display()))
        .arg(format!("--control={}", dir.join("ctl").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("starting syslog-ng (Debian's syslog-ng-core; .ci/run installs it)");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "syslog-ng never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    SyslogNg { _child: child }
}

/// What the receiver wrote to `path` so far. It may be writing its last
/// line right now: only whole lines count.
fn received(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .map(|t| util::json_lines(t.rfind('\n').map_or("", |end| &t[..=end])))
        .unwrap_or_default()
}

fn sdata<'a>(v: &'a Value, key: &str) -> &'a Value {
    &v["_SDATA"]["sandlog@32473"][key]
}

fn forwarding_setup(port: u16, n: usize, shutdown_timeout: &str) -> Setup {
    Setup::new(&format!(
        r#"
[[source]]
name = "fwd"
class = "Forward"
options = {{ n = "{n}" }}
code = """
import time
from syslogng import LogSource, LogMessage
class Forward(LogSource):
    def init(self, options):
        self.n = int(options["n"])
        self.exit = False
        return True
    def run(self):
        for i in range(self.n):
            m = LogMessage(f"forwarded {{i}} with ] and 'quotes'")
            m["PROGRAM"] = "myapp"
            m["PID"] = "4242"
            m["seq"] = i
            m["custom"] = "val]ue"
            m.set_pri(165)
            self.post_message(m)
        while not self.exit:
            time.sleep(0.05)
    def request_exit(self):
        self.exit = True
"""

[[destination]]
type = "syslog"
transport = "tcp"
address = "127.0.0.1:{port}"
shutdown_timeout = "{shutdown_timeout}"

[[destination]]
type = "syslog"
transport = "udp"
address = "127.0.0.1:{port}"
format = "rfc5424"
"#
    ))
}

fn wait_received(path: &Path, n: usize) -> bool {
    let started = Instant::now();
    while started.elapsed() < LIMIT {
        if std::fs::read_to_string(path).is_ok_and(|t| t.lines().count() >= n) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn receiver_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_owned();
    (dir, path)
}

#[test]
fn every_field_arrives_at_a_real_syslog_ng_over_tcp_and_udp() {
    let (_keep, dir) = receiver_dir();
    let port = free_port();
    let _syslog_ng = start_syslog_ng(&dir, port);
    let n = 2000;
    let setup = forwarding_setup(port, n, "10s");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start sandlog");
    assert!(
        wait_received(&dir.join("tcp.jsonl"), n),
        "not every message arrived over TCP"
    );
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();

    let tcp = received(&dir.join("tcp.jsonl"));
    assert_eq!(tcp.len(), n);
    let seqs: Vec<String> = tcp
        .iter()
        .map(|m| sdata(m, "seq").as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        seqs,
        (0..n).map(|i| i.to_string()).collect::<Vec<_>>(),
        "in order, each once"
    );
    let first = &tcp[0];
    assert_eq!(first["MESSAGE"], "forwarded 0 with ] and 'quotes'");
    assert_eq!(first["PROGRAM"], "myapp");
    assert_eq!(first["PID"], "4242");
    assert_eq!(first["PRI"], "165");
    assert_eq!(first["FACILITY"], "local4");
    assert_eq!(sdata(first, "custom"), "val]ue");
    assert_eq!(sdata(first, "SOURCE"), "fwd");
    assert!(first["HOST"].as_str().is_some_and(|h| !h.is_empty()));

    // UDP is lossy by nature: whatever arrived arrived whole.
    let udp = received(&dir.join("udp.jsonl"));
    assert!(!udp.is_empty(), "nothing arrived over UDP");
    assert!(
        udp.iter()
            .all(|m| m["PROGRAM"] == "myapp" && sdata(m, "custom") == "val]ue")
    );
}

#[test]
fn messages_are_held_while_the_receiver_is_down() {
    let (_keep, dir) = receiver_dir();
    let port = free_port();
    let n = 20_000;
    let setup = forwarding_setup(port, n, "10s");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start sandlog");
    // The receiver comes up only after sandlog has been trying for a while.
    std::thread::sleep(Duration::from_millis(1500));
    let _syslog_ng = start_syslog_ng(&dir, port);
    assert!(
        wait_received(&dir.join("tcp.jsonl"), n),
        "messages were lost while the receiver was down"
    );
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        out.stderr.contains("cannot connect; messages are held"),
        "{}",
        out.stderr
    );
    let tcp = received(&dir.join("tcp.jsonl"));
    let mut seqs: Vec<usize> = tcp
        .iter()
        .filter_map(|m| sdata(m, "seq").as_str()?.parse().ok())
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "every message at least once");
}

#[test]
fn a_receiver_that_stays_down_is_reported_with_the_count() {
    let port = free_port();
    let setup = forwarding_setup(port, 300, "1s");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start sandlog");
    std::thread::sleep(Duration::from_millis(1000));
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    assert!(!out.status.success(), "sandlog must not claim success");
    assert!(
        out.stderr.contains("300 messages could not be delivered"),
        "the count is reported: {}",
        out.stderr
    );
}

#[test]
fn a_receiver_stopped_mid_stream_loses_nothing() {
    let (_keep, dir) = receiver_dir();
    let port = free_port();
    let n = 200_000;
    let setup = forwarding_setup(port, n, "30s");
    let syslog_ng = start_syslog_ng(&dir, port);
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start sandlog");
    // Stop the receiver once a part has arrived, keep it down for a few
    // seconds while the source goes on posting, then start it again.
    assert!(
        wait_received(&dir.join("tcp.jsonl"), 20_000),
        "the first messages never arrived"
    );
    drop(syslog_ng);
    std::thread::sleep(Duration::from_secs(3));
    let _syslog_ng = start_syslog_ng(&dir, port);
    let complete = {
        let started = Instant::now();
        loop {
            let tcp = received(&dir.join("tcp.jsonl"));
            let mut seqs: Vec<usize> = tcp
                .iter()
                .filter_map(|m| sdata(m, "seq").as_str()?.parse().ok())
                .collect();
            seqs.sort_unstable();
            seqs.dedup();
            if seqs.len() == n {
                break Some(tcp.len() - n);
            }
            if started.elapsed() > LIMIT {
                break None;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    util::signal(&child, "TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    let duplicates = complete.unwrap_or_else(|| panic!("messages were lost; log:\n{}", out.stderr));
    eprintln!("{n} messages across a receiver restart: 0 lost, {duplicates} duplicates");
    // At-least-once by default: duplicates are allowed and reported, loss
    // is not.
}

#[test]
fn syslog_over_a_unix_socket_is_octet_counted() {
    use std::io::Read;
    let setup = forwarding_setup(1, 500, "5s");
    // Point the destinations at a Unix socket this test listens on instead.
    let config = std::fs::read_to_string(setup.config_path()).expect("config");
    let socket = setup.path("syslog.sock");
    let tcp_dest = config.find("[[destination]]").expect("destination");
    let config = format!(
        "{}[[destination]]\ntype = \"syslog\"\ntransport = \"unix\"\npath = \"syslog.sock\"\n",
        &config[..tcp_dest]
    );
    std::fs::write(setup.config_path(), config).expect("config");
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let child = setup
        .command()
        .spawn()
        .map(crate::util::ChildGuard::new)
        .expect("start sandlog");
    let (mut conn, _) = listener.accept().expect("sandlog connects");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    let mut frames = Vec::new();
    while frames.len() < 500 {
        let n = conn.read(&mut buf).expect("read");
        assert!(n > 0, "connection closed after {} messages", frames.len());
        data.extend_from_slice(&buf[..n]);
        // Take every complete `LEN SP MSG` frame.
        while let Some(space) = data.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&data[..space])
                .expect("ascii")
                .parse()
                .expect("length");
            if data.len() < space + 1 + len {
                break;
            }
            frames.push(String::from_utf8_lossy(&data[space + 1..space + 1 + len]).into_owned());
            data.drain(..space + 1 + len);
        }
    }
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
    assert!(frames[0].starts_with("<165>1 "), "{}", frames[0]);
    assert!(frames[499].contains("seq=\"499\""), "{}", frames[499]);
}
