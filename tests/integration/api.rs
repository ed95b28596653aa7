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
