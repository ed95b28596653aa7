//! The syslogng Python API as scripts see it.

use std::time::Duration;

use crate::util::Setup;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn logmessage_api_and_typed_output() {
    let setup = Setup::new(
        r#"
[[source]]
name = "api"
script = "api_check.py"
class = "ApiCheck"
options = { alpha = "1", beta = "two" }
"#,
    )
    .script("api_check.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    assert!(!out.stderr.contains("raised"), "{}", out.stderr);
    let lines = out.lines();
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["MESSAGE"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        messages,
        [
            "typed values",
            "aware",
            "naive",
            "first",
            "second",
            "custom host"
        ]
    );

    let typed = &lines[0];
    assert_eq!(typed["str"], "caf\u{e9}");
    assert_eq!(typed["bytes"], "raw\\xffbytes");
    assert_eq!(typed["nul"], "before\u{0}after");
    assert_eq!(typed["empty"], "");
    assert!(typed.get("a\u{0}b").is_none() && typed.get("a").is_none());
    assert_eq!(typed["int"], -42);
    assert_eq!(typed["big"], 1i64 << 62);
    assert_eq!(typed["float"], 2.5);
    assert_eq!(typed["yes"], true);
    assert_eq!(typed["no"], false);
    assert!(typed["none"].is_null());
    assert_eq!(typed["list"], serde_json::json!(["a", "b", "c,d"]));
    assert_eq!(typed["when"], "2024-05-06T07:08:09.000000+00:00");
    assert_eq!(typed["PRI"], 165);
    assert_eq!(typed["FACILITY"], "local4");
    assert_eq!(typed["SEVERITY"], "notice");
    assert_eq!(typed["SOURCE"], "api");
    assert_eq!(typed["SOURCEIP"], "192.0.2.7");
    assert_eq!(typed["RAWMSG_SIZE"], 99);
    assert!(typed.get("gone").is_none());

    assert_eq!(lines[1]["ISODATE"], "2024-01-02T03:04:05+02:00");
    assert_eq!(lines[2]["ISODATE"], "2024-01-02T03:04:05+00:00");
    let custom = &lines[5];
    assert_eq!(custom["HOST"], "elsewhere");
    assert_eq!(custom["PROGRAM"], "prog");
    assert_eq!(custom["PID"], "123");
}

#[test]
fn stdlib_modules_import_at_run_time() {
    let setup = Setup::new(
        "[[source]]\nname = \"std\"\nscript = \"stdlib_check.py\"\nclass = \"StdlibCheck\"\n",
    )
    .script("stdlib_check.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "stderr:\n{}", out.stderr);
    let m = &lines[0];
    assert_eq!(
        m["sha256"],
        "12b71731ce0925695ba7ef2ac5ca1704d6f962c668ec510d8ea5daef1d163fca"
    );
    assert_eq!(m["crc"], 1_635_570_072);
    assert_eq!(m["b64"], "c2FuZGxvZw==");
    assert_eq!(m["csv"], "2");
    assert_eq!(m["decimal"], "3.30");
    assert_eq!(m["fraction"], "1/2");
    assert_eq!(m["mean"], 2.5);
    assert_eq!(m["query"], "q=a+b");
    assert_eq!(m["xml"], "x");
    assert_eq!(m["uuid_len"], 36);
    assert_eq!(m["letters"], "abc");
}

#[test]
fn transport_name_and_inline_code() {
    let setup = Setup::new(
        r#"
[[source]]
name = "inline"
class = "T"
code = """
from syslogng import LogSource, LogMessage
class T(LogSource):
    def run(self):
        self.post_message(LogMessage("before"))
        self.set_transport_name("custom-transport")
        m = LogMessage("after")
        m["TRANSPORT"] = "ignored"
        self.post_message(m)
    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(lines[0].get("TRANSPORT").is_none());
    assert_eq!(lines[1]["TRANSPORT"], "custom-transport");
    assert_eq!(lines[1]["SOURCE"], "inline");
}

#[test]
fn parse_reads_rfc5424_and_falls_back_to_rfc3164() {
    let setup = Setup::new(
        "[[source]]\nname = \"p\"\nscript = \"parse_check.py\"\nclass = \"ParseCheck\"\n",
    )
    .script("parse_check.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 4, "{}", out.stderr);
    let m = &lines[0];
    assert_eq!(
        m["early"], "TypeError",
        "parse_options is None inside init(), as in AxoSyslog"
    );
    assert_eq!(m["PRI"], 165);
    assert_eq!(m["ISODATE"], "2003-10-11T22:14:15+00:00");
    assert_eq!(m["HOST"], "mymachine.example.com");
    assert_eq!(m["PROGRAM"], "evntslog");
    assert_eq!(m["PID"], "77");
    assert_eq!(m["MSGID"], "ID47");
    assert_eq!(m[".SDATA.exampleSDID@32473.iut"], "3");
    assert_eq!(m[".SDATA.exampleSDID@32473.eventSource"], "App]x");
    assert_eq!(m["MESSAGE"], "An application event");
    let b = &lines[1];
    assert_eq!(
        (b["PRI"].as_i64(), b["FACILITY"].as_str()),
        (Some(34), Some("auth"))
    );
    assert_eq!(b["HOST"], "mymachine");
    assert_eq!(b["PROGRAM"], "su");
    assert_eq!(b["MESSAGE"], "'su root' failed for lonvick on /dev/pts/8");
    let c = &lines[2];
    assert_eq!(c["PROGRAM"], "prog");
    assert_eq!(c["PID"], "123");
    assert_eq!(c["MESSAGE"], "no host here");
    assert_eq!(lines[3]["MESSAGE"], "not syslog at all");
}

#[test]
fn config_version_below_4_gives_syslog_ng_3_semantics() {
    let setup = Setup::new(
        r#"
[[source]]
name = "old"
class = "Old"
config_version = "3.38"
code = """
from syslogng import LogSource, LogMessage
class Old(LogSource):
    def run(self):
        m = LogMessage("legacy")
        m["text"] = "abc"
        try:
            m["number"] = 5
            refused = "no"
        except ValueError as e:
            refused = "yes" if "convert it explicitly" in str(e) else str(e)
        m["missing_reads_empty"] = "yes" if m["missing"] == b"" else "no"
        m["text_reads_bytes"] = "yes" if m["text"] == b"abc" else "no"
        m["int_refused"] = refused
        self.post_message(m)
    def request_exit(self):
        pass
"""

[[source]]
name = "new"
class = "New"
code = """
from syslogng import LogSource, LogMessage
class New(LogSource):
    def run(self):
        m = LogMessage("current")
        m["number"] = 5
        try:
            m["missing"]
            m["missing_raises"] = "no"
        except KeyError:
            m["missing_raises"] = "yes"
        self.post_message(m)
    def request_exit(self):
        pass
"""
"#,
    );
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    let old = lines.iter().find(|l| l["SOURCE"] == "old").expect("old");
    assert_eq!(old["int_refused"], "yes", "{}", out.stderr);
    assert_eq!(old["missing_reads_empty"], "yes");
    assert_eq!(old["text_reads_bytes"], "yes");
    let new = lines.iter().find(|l| l["SOURCE"] == "new").expect("new");
    assert_eq!(new["number"], 5);
    assert_eq!(new["missing_raises"], "yes");
}

#[test]
fn module_class_is_found_on_the_python_path() {
    let setup = Setup::new(
        r#"
[[source]]
name = "pkg"
class = "tenant_lib.sources.FromPackage"
python_path = ["pylib"]
options = { greeting = "hello from a package" }
"#,
    );
    let pkg = setup.path("pylib/tenant_lib");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(pkg.join("__init__.py"), "").expect("write");
    std::fs::write(
        pkg.join("helpers.py"),
        "def shout(text):\n    return text.upper()\n",
    )
    .expect("write");
    std::fs::write(
        pkg.join("sources.py"),
        "from syslogng import LogSource, LogMessage\n\
         from .helpers import shout\n\n\
         class FromPackage(LogSource):\n\
         \x20   def init(self, options):\n\
         \x20       self.text = options['greeting']\n\
         \x20       return True\n\
         \x20   def run(self):\n\
         \x20       self.post_message(LogMessage(shout(self.text)))\n\
         \x20   def request_exit(self):\n\
         \x20       pass\n",
    )
    .expect("write");
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert_eq!(lines[0]["MESSAGE"], "HELLO FROM A PACKAGE");
}

#[test]
fn parse_follows_the_source_flags_and_keep_hostname() {
    let code = r#"
import json
from syslogng import LogSource, LogMessage
LINES = [
    b"<34>Oct 11 22:14:15 mymachine su: 'su root'\nfailed \xff",
    b"<13>Oct 11 22:14:15 prog[7]: no host",
]
class P(LogSource):
    def init(self, options):
        self.seen = json.dumps(self.flags, sort_keys=True)
        return True
    def run(self):
        for i, line in enumerate(LINES):
            msg = LogMessage.parse(line, self.parse_options)
            msg["i"] = str(i)
            msg["flags"] = self.seen
            msg["len"] = len(msg["MESSAGE"])
            self.post_message(msg)
        m = LogMessage("set host")
        m["HOST"] = "elsewhere"
        m["i"] = "host"
        self.post_message(m)
    def request_exit(self):
        pass
"#;
    let mut config = String::new();
    for (name, flags, keep) in [
        ("plain", "[]", true),
        ("noparse", r#"["no-parse", "store-raw-message"]"#, true),
        ("noheader", r#"["no-header"]"#, true),
        ("legacy", r#"["store-legacy-msghdr"]"#, true),
        (
            "strict",
            r#"["syslog-protocol", "no-rfc3164-fallback"]"#,
            true,
        ),
        (
            "nohost",
            r#"["no-hostname", "sanitize-utf8", "no-multi-line", "dont-store-legacy-msghdr"]"#,
            false,
        ),
    ] {
        config.push_str(&format!(
            "[[source]]\nname = \"{name}\"\nclass = \"P\"\nflags = {flags}\nkeep_hostname = {keep}\ncode = '''{code}'''\n\n"
        ));
    }
    let out = Setup::new(&config).run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    let get = |source: &str, i: &str| -> serde_json::Value {
        lines
            .iter()
            .find(|l| l["SOURCE"] == source && l["i"] == i)
            .cloned()
            .unwrap_or_else(|| panic!("no {source}/{i} in {lines:?}"))
    };
    // self.flags shows every flag, with AxoSyslog's defaults.
    let flags: serde_json::Value =
        serde_json::from_str(get("plain", "0")["flags"].as_str().unwrap()).unwrap();
    assert_eq!(flags["parse"], true);
    assert_eq!(flags["expect-hostname"], true);
    assert_eq!(flags["syslog-protocol"], true);
    assert_eq!(flags["store-legacy-msghdr"], true);
    assert_eq!(flags.as_object().unwrap().len(), 13);

    let plain = get("plain", "0");
    assert_eq!(plain["HOST"], "mymachine");
    assert_eq!(plain["PROGRAM"], "su");
    assert_eq!(
        plain["LEGACY_MSGHDR"], "su: ",
        "on by default, as in AxoSyslog"
    );
    assert_eq!(get("legacy", "0")["LEGACY_MSGHDR"], "su: ");
    assert_eq!(plain["MESSAGE"], "'su root'\nfailed \\xff");
    assert_eq!(get("plain", "host")["HOST"], "elsewhere");

    let noparse = get("noparse", "0");
    assert_eq!(
        noparse["MESSAGE"],
        "<34>Oct 11 22:14:15 mymachine su: 'su root'\nfailed \\xff"
    );
    assert_eq!(noparse["RAWMSG"], noparse["MESSAGE"]);
    assert_eq!(noparse["PRI"], 13);
    assert!(noparse.get("PROGRAM").is_none());

    let noheader = get("noheader", "0");
    assert_eq!(noheader["PRI"], 34);
    assert_eq!(
        noheader["MESSAGE"],
        "Oct 11 22:14:15 mymachine su: 'su root'\nfailed \\xff"
    );

    let strict = get("strict", "1");
    assert_eq!(strict["PROGRAM"], "syslog-ng");
    assert_eq!(strict["PRI"], 43);
    assert_eq!(
        strict["MESSAGE"],
        "Error processing log message: <13>Oct 11 22:14:15 prog[7]: no host"
    );

    let nohost = get("nohost", "1");
    assert_eq!(nohost["PROGRAM"], "prog");
    assert_eq!(nohost["PID"], "7");
    assert!(nohost.get("LEGACY_MSGHDR").is_none());
    let sanitized = get("nohost", "0");
    // Without a HOST field, "mymachine" is read as the program.
    assert_eq!(sanitized["PROGRAM"], "mymachine");
    assert_eq!(sanitized["MESSAGE"], "su: 'su root' failed \\xff");
    // Sanitized in the message itself: four characters where the byte was.
    assert_eq!(sanitized["len"], 25);
    assert_eq!(plain["len"], 18);
    // keep_hostname = false: HOST is always the host name.
    assert_ne!(get("nohost", "host")["HOST"], "elsewhere");
    assert_eq!(get("nohost", "host")["HOST"], plain_hostname(&lines));
}

/// The host name sandlog fills in, as a message without HOST shows it.
fn plain_hostname(lines: &[serde_json::Value]) -> String {
    lines
        .iter()
        .find(|l| l["SOURCE"] == "noparse" && l["i"] == "0")
        .and_then(|l| l["HOST"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A script that copies an event's fields into a message, host-owned names
/// included, runs as under AxoSyslog: the assignments read back in the
/// script, and the output carries the source's own values.
#[test]
fn copying_host_owned_fields_into_a_message_works_and_never_forges_them() {
    let out = crate::util::Setup::new(
        r#"
[[source]]
name = "copier"
class = "Copier"
restart = "never"
code = """
from syslogng import LogSource, LogMessage
class Copier(LogSource):
    def run(self):
        event = {"SOURCE": "x", "PRI": "1", "ISODATE": "y", "HOST_FROM": "relay", "app": "z"}
        msg = LogMessage("copied")
        for k, v in event.items():
            msg[k] = v
        msg["seen"] = b"%s %s %s" % (msg["SOURCE"], msg["PRI"], msg["HOST_FROM"])
        self.post_message(msg)
    def request_exit(self):
        pass
"""
"#,
    )
    .run(std::time::Duration::from_secs(60));
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    let l = &lines[0];
    assert_eq!(l["SOURCE"], "copier");
    assert_eq!(l["PRI"], 13);
    assert_eq!(l["app"], "z");
    assert_eq!(l["seen"], "x 13 relay");
    assert!(l.get("HOST_FROM").is_none(), "{l}");
    assert!(!out.stderr.contains("refused pairs"), "{}", out.stderr);
}

/// As in AxoSyslog, an exception from a fetcher's open() or fetch() is
/// logged and the loop goes on (reconnecting after time_reopen); close()
/// runs when it ends; a post after run() has returned raises.
#[test]
fn a_fetcher_survives_its_own_exceptions() {
    let out = crate::util::Setup::new(
        r#"
[[source]]
name = "flaky"
class = "Flaky"
restart = "never"
time_reopen = "10ms"
fetch_no_data_delay = "10ms"
code = """
from syslogng import LogFetcher, LogMessage
class Flaky(LogFetcher):
    def init(self, options):
        self.opens = self.fetches = 0
        return True
    def open(self):
        self.opens += 1
        if self.opens == 1:
            raise ConnectionError("first open fails")
        return True
    def fetch(self):
        self.fetches += 1
        if self.fetches == 2:
            raise ValueError("a transient error")
        if self.fetches > 5:
            return LogFetcher.NO_DATA, None
        return LogFetcher.SUCCESS, LogMessage(f"fetch {self.fetches} after {self.opens} opens")
    def close(self):
        print("closed")
"""

[[source]]
name = "late"
class = "Late"
restart = "never"
code = """
from syslogng import LogSource, LogMessage
class Late(LogSource):
    def run(self):
        self.post_message(LogMessage("from run"))
    def request_exit(self):
        pass
    def deinit(self):
        try:
            self.post_message(LogMessage("from deinit"))
        except RuntimeError as e:
            print(f"deinit post: {e}")
"""

[[destination]]
type = "file"
path = "out.jsonl"
"#,
    );
    let child = crate::util::ChildGuard::new(out.command().spawn().expect("sandlog"));
    assert!(crate::util::wait_for_file_lines(
        &out.path("out.jsonl"),
        5,
        std::time::Duration::from_secs(60)
    ));
    child.signal("TERM");
    let setup = out;
    let out = child.wait(std::time::Duration::from_secs(60));
    out.assert_success();
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("out");
    let lines = crate::util::json_lines(&text);
    let of = |source: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["SOURCE"] == source)
            .map(|l| l["MESSAGE"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(of("late"), ["from run"]);
    let messages = of("flaky");
    assert_eq!(
        messages[..4],
        [
            "fetch 1 after 2 opens",
            "fetch 3 after 3 opens",
            "fetch 4 after 3 opens",
            "fetch 5 after 3 opens"
        ],
        "{}",
        out.stderr
    );
    for text in [
        "Exception while calling a Python function: open()",
        "ConnectionError: first open fails",
        "Exception while calling a Python function: fetch()",
        "ValueError: a transient error",
        "deinit post: post_message must be called from main thread",
        "closed",
    ] {
        assert!(out.stderr.contains(text), "{text}\n{}", out.stderr);
    }
}
