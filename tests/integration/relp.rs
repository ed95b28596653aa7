//! Syslog over RELP to a real rsyslog (Debian's rsyslog and rsyslog-relp,
//! installed by .ci/run) receiving with imrelp on loopback: every message
//! arrives once, in order, and a receiver restarted mid-stream loses
//! nothing and gets again only what it had not answered.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, ChildGuard, Setup};

const LIMIT: Duration = Duration::from_secs(90);

/// Starts rsyslogd with an imrelp input on `port`, writing each message's
/// MSG part as a line of `dir/relp.log`.
fn start_rsyslog(dir: &Path, port: u16) -> ChildGuard {
    let (rsyslogd, modules) = rsyslogd();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{dir}")
module(load="imrelp")
input(type="imrelp" port="{port}" address="127.0.0.1")
template(name="msgonly" type="string" string="%msg%\n")
action(type="omfile" file="{dir}/relp.log" template="msgonly")
"#,
            dir = dir.display()
        ),
    )
    .expect("writing rsyslog.conf");
    let child = Command::new(&rsyslogd)
        .arg("-M")
        .arg(&modules)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(ChildGuard::new)
        .expect("starting rsyslogd");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "rsyslogd never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// rsyslogd and its module directory: `SANDLOG_RSYSLOGD`, else where
/// .ci/run unpacks it (Debian's rsyslog conflicts with the syslog-ng the
/// other tests use, so it is unpacked rather than installed).
fn rsyslogd() -> (PathBuf, PathBuf) {
    let binary = std::env::var_os("SANDLOG_RSYSLOGD")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/sandlog-rsyslog/usr/sbin/rsyslogd"))
        })
        .filter(|p| p.is_file());
    let modules = binary.as_ref().and_then(|b| {
        let usr_lib = b.parent()?.parent()?.join("lib");
        std::fs::read_dir(usr_lib)
            .ok()?
            .flatten()
            .map(|e| e.path().join("rsyslog"))
            .find(|m| m.join("imrelp.so").is_file())
    });
    match (binary, modules) {
        (Some(b), Some(m)) => (b, m),
        _ => {
            eprintln!(
                "\nrsyslogd with imrelp was not found, so the RELP tests fail. Run .ci/run (it unpacks Debian's rsyslog and rsyslog-relp and sets SANDLOG_RSYSLOGD), or set SANDLOG_RSYSLOGD to an rsyslogd whose ../lib/*/rsyslog holds imrelp.so.\n"
            );
            std::panic::resume_unwind(Box::new("rsyslogd is not installed"));
        }
    }
}

/// Stops rsyslogd as its operator would (SIGTERM: it ends its sessions
/// and writes what it took).
fn stop_rsyslog(mut rsyslog: ChildGuard) {
    rsyslog.signal("TERM");
    rsyslog.wait_until_reaped();
}

fn received(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("relp.log"))
        .map(|t| t.lines().map(|l| l.trim().to_owned()).collect())
        .unwrap_or_default()
}

fn wait_received(dir: &Path, n: usize) -> bool {
    let started = Instant::now();
    while started.elapsed() < LIMIT {
        if received(dir).len() >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `sources` sources each posting `n` messages `SOURCE SEQ` to a RELP
/// destination on `port`, then waiting for their exit request.
fn relp_setup(port: u16, sources: usize, n: usize) -> Setup {
    let mut config = String::new();
    for s in 0..sources {
        config.push_str(&format!(
            "[[source]]\nname = \"r{s}\"\nclass = \"Burst\"\nscript = \"burst.py\"\noptions = {{ n = \"{n}\", name = \"r{s}\" }}\n\n"
        ));
    }
    config.push_str(&format!(
        "[[destination]]\ntype = \"syslog\"\ntransport = \"relp\"\naddress = \"127.0.0.1:{port}\"\nshutdown_timeout = \"30s\"\n"
    ));
    Setup::new(&config).file(
        "burst.py",
        r#"
import time
from syslogng import LogSource, LogMessage
class Burst(LogSource):
    def init(self, options):
        self.n = int(options["n"])
        self.name = options["name"]
        self.exit = False
        return True
    def run(self):
        for i in range(self.n):
            self.post_message(LogMessage(f"{self.name} {i}"))
        while not self.exit:
            time.sleep(0.05)
    def request_exit(self):
        self.exit = True
"#,
    )
}

/// Each source's sequence numbers as they arrived.
fn sequences(lines: &[String]) -> std::collections::BTreeMap<String, Vec<usize>> {
    let mut by_source = std::collections::BTreeMap::<String, Vec<usize>>::new();
    for line in lines {
        let (source, seq) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        by_source
            .entry(source.to_owned())
            .or_default()
            .push(seq.parse().unwrap_or_else(|_| panic!("bad line {line:?}")));
    }
    by_source
}

fn receiver_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_owned();
    (dir, path)
}

#[test]
fn every_message_arrives_once_and_in_order_at_a_real_rsyslog_over_relp() {
    let (_keep, dir) = receiver_dir();
    let port = util::free_port();
    let (sources, n) = (2, 5_000);
    let rsyslog = start_rsyslog(&dir, port);
    let setup = relp_setup(port, sources, n);
    let child = setup.spawn();
    let all = wait_received(&dir, sources * n);
    child.signal("TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    stop_rsyslog(rsyslog);
    assert!(all, "not every message arrived; log:\n{}", out.stderr);
    let lines = received(&dir);
    assert_eq!(lines.len(), sources * n, "duplicates arrived");
    let by_source = sequences(&lines);
    assert_eq!(by_source.len(), sources);
    for (source, seqs) in by_source {
        assert_eq!(
            seqs,
            (0..n).collect::<Vec<_>>(),
            "{source}'s messages out of order or missing"
        );
    }
}

#[test]
fn a_relp_receiver_restarted_mid_stream_loses_nothing_and_gets_again_only_the_unanswered() {
    let (_keep, dir) = receiver_dir();
    let port = util::free_port();
    let n = 200_000;
    let rsyslog = start_rsyslog(&dir, port);
    let setup = relp_setup(port, 1, n);
    let child = setup.spawn();
    assert!(
        wait_received(&dir, 20_000),
        "the first messages never arrived"
    );
    stop_rsyslog(rsyslog);
    let stopped_at = received(&dir).len();
    std::thread::sleep(Duration::from_secs(2));
    let rsyslog = start_rsyslog(&dir, port);
    let complete = {
        let started = Instant::now();
        loop {
            let mut seqs = sequences(&received(&dir)).remove("r0");
            if let Some(seqs) = seqs.as_mut() {
                let arrived = seqs.len();
                seqs.sort_unstable();
                seqs.dedup();
                if seqs.len() == n {
                    break Some(arrived - n);
                }
            }
            if started.elapsed() > LIMIT {
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    child.signal("TERM");
    let out = util::wait(child, LIMIT);
    stop_rsyslog(rsyslog);
    out.assert_success();
    let duplicates = complete.unwrap_or_else(|| panic!("messages were lost; log:\n{}", out.stderr));
    eprintln!(
        "{n} messages across a receiver restart (stopped after {stopped_at}): 0 lost, {duplicates} duplicates"
    );
    for line in out
        .stderr
        .lines()
        .filter(|l| l.contains("again") || l.contains("lost"))
    {
        eprintln!("{line}");
    }
    assert!(
        stopped_at < n,
        "the receiver was restarted only after every message had arrived"
    );
    // Only what the receiver had not answered is sent again: at most one
    // window.
    assert!(
        duplicates <= 1024,
        "{duplicates} duplicates: more than the unanswered window"
    );
}

/// One RELP command as a test receiver reads it.
fn read_command(r: &mut impl std::io::BufRead) -> Option<(String, String, Vec<u8>)> {
    let mut token = |stop: &[u8]| -> Option<(String, u8)> {
        let mut t = Vec::new();
        loop {
            let mut b = [0u8];
            r.read_exact(&mut b).ok()?;
            if stop.contains(&b[0]) {
                return Some((String::from_utf8(t).ok()?, b[0]));
            }
            t.push(b[0]);
        }
    };
    let (txnr, _) = token(b" ")?;
    let (command, _) = token(b" ")?;
    let (len, ended) = token(b" \n")?;
    let len: usize = len.parse().ok()?;
    let mut data = vec![0u8; len];
    if ended == b' ' {
        r.read_exact(&mut data).ok()?;
        let mut lf = [0u8];
        r.read_exact(&mut lf).ok()?;
    }
    Some((txnr, command, data))
}

#[test]
fn after_a_lost_relp_session_only_the_unanswered_messages_are_sent_again() {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let n = 2_000;
    let answered_first = 300;
    // The first session answers 300 messages, reads 200 more, then ends;
    // the second answers everything. Each message is recorded with the
    // session that got it.
    let receiver = std::thread::spawn(move || {
        let mut got: Vec<(usize, String)> = Vec::new();
        for session in 0..2 {
            let (stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
            let mut w = stream.try_clone().expect("clone");
            let mut r = BufReader::new(stream);
            let mut answered = 0;
            while let Some((txnr, command, data)) = read_command(&mut r) {
                match command.as_str() {
                    "open" => {
                        let offer = "relp_version=0\nrelp_software=test\ncommands=syslog";
                        let rsp = format!("200 OK\n{offer}");
                        writeln!(w, "{txnr} rsp {} {rsp}", rsp.len()).expect("answer open");
                    }
                    "syslog" => {
                        let text = String::from_utf8_lossy(&data);
                        let msg = text
                            .rsplit("] ")
                            .next()
                            .unwrap_or_default()
                            .trim()
                            .to_owned();
                        got.push((session, msg));
                        if session == 1 || answered < answered_first {
                            writeln!(w, "{txnr} rsp 6 200 OK").expect("answer");
                            answered += 1;
                        } else if got.len() >= answered_first + 200 {
                            // End the session as a receiver going away
                            // does: its answers so far reach sandlog, the
                            // rest is never answered.
                            w.shutdown(std::net::Shutdown::Write).expect("shutdown");
                            while read_command(&mut r).is_some() {}
                            break;
                        }
                    }
                    "close" => {
                        writeln!(w, "{txnr} rsp 0").expect("answer close");
                        return got;
                    }
                    other => panic!("unexpected command {other}"),
                }
            }
        }
        got
    });
    let setup = relp_setup(port, 1, n);
    let child = setup.spawn();
    let started = Instant::now();
    while !receiver.is_finished() && started.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(50));
        if started.elapsed() > Duration::from_secs(5) {
            child.signal("TERM");
        }
    }
    let out = util::wait(child, LIMIT);
    out.assert_success();
    let got = receiver.join().expect("receiver");
    let first: Vec<&str> = got
        .iter()
        .filter(|(s, _)| *s == 0)
        .map(|(_, m)| m.as_str())
        .collect();
    let second: Vec<&str> = got
        .iter()
        .filter(|(s, _)| *s == 1)
        .map(|(_, m)| m.as_str())
        .collect();
    let expected: Vec<String> = (0..n).map(|i| format!("r0 {i}")).collect();
    // What the first session answered is never sent again; the second
    // starts exactly at the first unanswered message and brings the rest
    // in order.
    assert_eq!(first.len(), answered_first + 200, "log:\n{}", out.stderr);
    assert!(
        first.iter().zip(&expected).all(|(a, b)| a == b),
        "the first session's messages are not the first ones in order"
    );
    assert_eq!(second.len(), n - answered_first, "log:\n{}", out.stderr);
    assert!(
        second
            .iter()
            .zip(&expected[answered_first..])
            .all(|(a, b)| a == b),
        "the second session did not start at the first unanswered message, in order"
    );
}
