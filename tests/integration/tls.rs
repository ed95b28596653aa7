//! TLS: sandboxed sources as HTTPS clients (the standard library's
//! clients, requests, httpx, asyncio, aiohttp, tornado) and as HTTPS
//! servers (asyncio, tornado), against native peers on 127.0.0.1, with
//! certificates made here; mutual TLS with identities from the policy; the
//! failures users meet; and the policy's hold on trust and keys.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

use crate::util::{self, ChildGuard, Setup};

const LIMIT: Duration = Duration::from_secs(120);

/// Certificates made for one test: a CA and what it signed, and a CA
/// nobody trusts.
pub struct Pki {
    pub dir: PathBuf,
}

fn issue(
    cn: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &CertifiedIssuer<'_, KeyPair>,
    expired: bool,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, issuer).expect("sign");
    (cert.pem(), key.serialize_pem())
}

fn ca(cn: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca")
}

impl Pki {
    /// Writes into `dir`: `ca.pem`; `server.pem`/`server.key` (localhost,
    /// 127.0.0.1); `client.pem`/`client.key` (CN tenant-client);
    /// `expired.pem`/`expired.key`; `wrongname.pem`/`wrongname.key`
    /// (elsewhere.test only); `other-ca.pem` and `rogue.pem`/`rogue.key`
    /// signed by it.
    pub fn new(dir: &Path) -> Pki {
        let ca = ca("sandlog test CA");
        let other = ca_other();
        let server = ExtendedKeyUsagePurpose::ServerAuth;
        let client = ExtendedKeyUsagePurpose::ClientAuth;
        let files = [
            (
                "server",
                issue(
                    "localhost",
                    &["localhost", "127.0.0.1"],
                    server.clone(),
                    &ca,
                    false,
                ),
            ),
            (
                "client",
                issue(
                    "tenant-client",
                    &["tenant-client"],
                    client.clone(),
                    &ca,
                    false,
                ),
            ),
            (
                "expired",
                issue(
                    "localhost",
                    &["localhost", "127.0.0.1"],
                    server.clone(),
                    &ca,
                    true,
                ),
            ),
            (
                "wrongname",
                issue("elsewhere.test", &["elsewhere.test"], server, &ca, false),
            ),
            (
                "rogue",
                issue("rogue-client", &["rogue-client"], client, &other, false),
            ),
        ];
        std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
        std::fs::write(dir.join("other-ca.pem"), other.pem()).expect("write");
        for (name, (cert, key)) in files {
            std::fs::write(dir.join(format!("{name}.pem")), cert).expect("write");
            std::fs::write(dir.join(format!("{name}.key")), key).expect("write");
        }
        Pki {
            dir: dir.to_owned(),
        }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn ca_other() -> CertifiedIssuer<'static, KeyPair> {
    ca("an untrusted CA")
}

/// A native peer (tests/tls/peer.py under the host's Python), killed when
/// dropped.
pub struct Peer {
    pub port: u16,
    _child: ChildGuard,
}

impl Peer {
    pub fn start(args: &[&str]) -> Peer {
        let script = util::repo_root().join("tests/tls/peer.py");
        let child = Command::new(util::python3())
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the TLS peer (python3)");
        let mut guard = ChildGuard::new(child);
        let stdout = guard.stdout().expect("peer stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the peer's port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the TLS peer said {line:?}"));
        Peer {
            port,
            _child: guard,
        }
    }

    pub fn https(pki: &Pki, cert: &str, client_ca: Option<&str>) -> Peer {
        let (c, k) = (
            pki.path(&format!("{cert}.pem")),
            pki.path(&format!("{cert}.key")),
        );
        let mut args = vec!["https", c.as_str(), k.as_str()];
        let ca;
        if let Some(name) = client_ca {
            ca = pki.path(name);
            args.push(ca.as_str());
        }
        Peer::start(&args)
    }
}

/// The pure-Python packages the library tests use, installed once per
/// test run from PyPI at the versions `tests/tls/requirements.txt` pins,
/// as docs/python-api.md tells users to.
pub fn python_packages() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tls-packages");
        let requirements = util::repo_root().join("tests/tls/requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).expect("requirements");
        let marker = dir.join(".installed");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
            return dir;
        }
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new(util::python3())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("--root-user-action=ignore")
            .args(["--no-compile", "--no-cache-dir", "--no-deps", "--target"])
            .arg(&dir)
            .args(["--platform", "any", "--python-version", "3.14"])
            .args([
                "--implementation",
                "py",
                "--abi",
                "none",
                "--no-binary",
                "tornado",
            ])
            .arg("-r")
            .arg(&requirements)
            .env("TORNADO_EXTENSION", "0")
            .status()
            .expect("running pip (python3 -m pip)");
        assert!(
            status.success(),
            "pip could not install the packages of {} from PyPI",
            requirements.display()
        );
        std::fs::write(&marker, wanted).expect("marker");
        dir
    })
}

/// The MESSAGE of every line in `out` of `source`.
fn messages(lines: &[serde_json::Value], source: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["SOURCE"] == source)
        .map(|l| l["MESSAGE"].as_str().unwrap_or_default().to_owned())
        .collect()
}

const CLIENTS: &str = r#"
import asyncio, hashlib, http.client, ssl, urllib.request
from syslogng import LogSource, LogMessage


def fetch_urllib(url):
    return urllib.request.urlopen(url, timeout=30).read()


def fetch_http_client(url):
    host, port = url.split("/")[2].split(":")
    c = http.client.HTTPSConnection(host, int(port), timeout=30)
    c.request("GET", "/" + url.split("/", 3)[3])
    return c.getresponse().read()


def fetch_requests(url):
    import requests
    return requests.get(url, timeout=30, verify="/certs/ca.pem").content


def fetch_httpx(url):
    import httpx
    return httpx.get(url, timeout=30, verify=ssl.create_default_context()).content


def fetch_asyncio(url):
    async def main():
        host, port = url.split("/")[2].split(":")
        r, w = await asyncio.open_connection(host, int(port), ssl=ssl.create_default_context())
        w.write(f"GET /{url.split('/', 3)[3]} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = await r.read()
        w.close()
        return data.split(b"\r\n\r\n", 1)[1]
    return asyncio.run(main())


def fetch_aiohttp(url):
    import aiohttp
    async def main():
        async with aiohttp.ClientSession() as s:
            async with s.get(url) as r:
                return await r.read()
    return asyncio.run(main())


def fetch_tornado(url):
    from tornado.httpclient import AsyncHTTPClient
    async def main():
        r = await AsyncHTTPClient().fetch(url, request_timeout=30)
        return r.body
    return asyncio.run(main())


class Client(LogSource):
    def init(self, options):
        self.options = options
        return True

    def run(self):
        fetch = globals()["fetch_" + self.options["library"]]
        try:
            body = fetch(self.options["url"])
        except Exception as e:
            self.post_message(LogMessage(f"error {type(e).__name__}: {e}"))
            return
        if self.options.get("digest"):
            self.post_message(LogMessage(f"{len(body)} {hashlib.sha256(body).hexdigest()}"))
        else:
            self.post_message(LogMessage(body.decode()))

    def request_exit(self):
        pass
"#;

fn client_source(name: &str, library: &str, url: &str, extra: &str) -> String {
    format!(
        r#"
[[source]]
name = "{name}"
script = "clients.py"
class = "Client"
restart = "never"
python_path = ["{packages}"]
options = {{ library = "{library}", url = "{url}" {extra} }}
policy = "tls"
"#,
        packages = python_packages().display()
    )
}

fn tls_policy(pki: &Pki, port: u16, extra: &str) -> String {
    format!(
        r#"
[policy.tls]
network.connect = ["127.0.0.1:{port}"]
dns = true
files = [{{ host = "{certs}", guest = "/certs" }}]
tls.ca = ["{ca}"]
{extra}
"#,
        certs = pki.dir.display(),
        ca = pki.path("ca.pem")
    )
}

#[test]
fn every_client_library_fetches_over_https() {
    let certs = tempfile::tempdir().expect("dir");
    let pki = Pki::new(certs.path());
    let peer = Peer::https(&pki, "server", None);
    let url = |what: &str| format!("https://localhost:{}/text/{what}", peer.port);
    let libraries = [
        "urllib",
        "http_client",
        "requests",
        "httpx",
        "asyncio",
        "aiohttp",
        "tornado",
    ];
    let mut config = tls_policy(&pki, peer.port, "");
    for lib in libraries {
        config += &client_source(lib, lib, &url(&format!("hello-from-{lib}")), "");
    }
    let out = Setup::new(&config).file("clients.py", CLIENTS).run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    for lib in libraries {
        assert_eq!(
            messages(&lines, lib),
            [format!("hello-from-{lib}")],
            "{lib}\n{}",
            out.stderr
        );
    }
}

#[test]
fn a_chunked_response_of_ten_mebibytes_arrives_intact() {
    let certs = tempfile::tempdir().expect("dir");
    let pki = Pki::new(certs.path());
    let peer = Peer::https(&pki, "server", None);
    let size = 10 * 1024 * 1024 + 12345;
    let expected = {
        use sha2::Digest;
        let pattern: Vec<u8> = (0..=255u8).cycle().take(65536).collect();
        let mut h = sha2::Sha256::new();
        let mut left = size;
        while left > 0 {
            let n = left.min(pattern.len());
            h.update(&pattern[..n]);
            left -= n;
        }
        hex::encode(h.finalize())
    };
    let url = format!("https://localhost:{}/chunked/{size}", peer.port);
    let mut config = tls_policy(&pki, peer.port, "");
    for lib in ["urllib", "requests", "aiohttp"] {
        config += &client_source(lib, lib, &url, ", digest = \"yes\"");
    }
    let out = Setup::new(&config).file("clients.py", CLIENTS).run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    for lib in ["urllib", "requests", "aiohttp"] {
        assert_eq!(
            messages(&lines, lib),
            [format!("{size} {expected}")],
            "{lib}\n{}",
            out.stderr
        );
    }
}

const SERVERS: &str = r#"
import asyncio, ssl
from syslogng import LogSource, LogMessage


class Server(LogSource):
    def init(self, options):
        self.options = options
        return True

    def context(self):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.options["certfile"], self.options["keyfile"])
        if self.options.get("mtls"):
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def got(self, body, peer):
        who = dict(x[0] for x in peer["subject"])["commonName"] if peer else "anonymous"
        self.post_message(LogMessage(f"{body.decode()} from {who}"))

    def run(self):
        port = int(self.options["port"])
        if self.options["kind"] == "tornado":
            asyncio.run(self.tornado(port))
        else:
            asyncio.run(self.asyncio(port))

    async def asyncio(self, port):
        async def handle(r, w):
            head = await r.readuntil(b"\r\n\r\n")
            n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
            body = await r.readexactly(n)
            self.got(body, w.get_extra_info("peercert"))
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await w.drain()
            w.close()
        self.stop = asyncio.Event()
        server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=self.context())
        self.post_message(LogMessage("listening"))
        await self.stop.wait()
        server.close()

    async def tornado(self, port):
        import tornado.web
        source = self

        class Handler(tornado.web.RequestHandler):
            def post(self):
                source.got(self.request.body, self.request.get_ssl_certificate())
                self.write("ok")

        app = tornado.web.Application([(r"/", Handler)])
        server = app.listen(port, "127.0.0.1", ssl_options=self.context())
        self.stop = asyncio.Event()
        self.post_message(LogMessage("listening"))
        await self.stop.wait()
        server.stop()

    def request_exit(self):
        self.stop.set()
"#;

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// POSTs `body` with the native client; its answer (`error ...` when it
/// failed).
fn post(port: u16, pki: &Pki, body: &str, cert: Option<&str>) -> String {
    let mut cmd = Command::new(util::python3());
    cmd.arg(util::repo_root().join("tests/tls/post.py"))
        .arg(format!("https://127.0.0.1:{port}/"))
        .arg(pki.path("ca.pem"))
        .arg(body);
    if let Some(c) = cert {
        cmd.arg(pki.path(&format!("{c}.pem")))
            .arg(pki.path(&format!("{c}.key")));
    }
    let out = cmd.output().expect("running the native client");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn server_config(pki: &Pki, ports: &[(&str, &str, u16, bool)]) -> String {
    let listen: Vec<String> = ports
        .iter()
        .map(|(_, _, p, _)| format!("\"127.0.0.1:{p}\""))
        .collect();
    let mut config = format!(
        r#"
[identity.webhook]
cert = "{cert}"
key = "{key}"

[policy.server]
network.listen = [{listen}]
tls.identities = ["webhook"]
tls.client_ca = ["{ca}"]
"#,
        cert = pki.path("server.pem"),
        key = pki.path("server.key"),
        ca = pki.path("ca.pem"),
        listen = listen.join(", ")
    );
    for (name, kind, port, mtls) in ports {
        config += &format!(
            r#"
[[source]]
name = "{name}"
script = "servers.py"
class = "Server"
restart = "never"
python_path = ["{packages}"]
policy = "server"
options = {{ kind = "{kind}", port = "{port}", certfile = "/identities/webhook/cert.pem", keyfile = "/identities/webhook/key.pem" {mtls} }}
"#,
            packages = python_packages().display(),
            mtls = if *mtls { ", mtls = \"yes\"" } else { "" }
        );
    }
    config + "\n[[destination]]\ntype = \"file\"\npath = \"out.jsonl\"\n"
}

#[test]
fn asyncio_and_tornado_servers_take_https_posts_and_mutual_tls() {
    let certs = tempfile::tempdir().expect("dir");
    let pki = Pki::new(certs.path());
    let (a, t, m) = (free_port(), free_port(), free_port());
    let config = server_config(
        &pki,
        &[
            ("asyncio", "asyncio", a, false),
            ("tornado", "tornado", t, false),
            ("mtls", "tornado", m, true),
        ],
    );
    let setup = Setup::new(&config).file("servers.py", SERVERS);
    let child = ChildGuard::new(setup.command().spawn().expect("sandlog"));
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 3, LIMIT),
        "the servers did not start"
    );
    assert_eq!(post(a, &pki, "to-asyncio", None), "ok");
    assert_eq!(post(t, &pki, "to-tornado", None), "ok");
    assert_eq!(post(m, &pki, "mutual", Some("client")), "ok");
    // Refused: no certificate, and one from a CA the policy does not name.
    // The server goes on.
    assert!(post(m, &pki, "anonymous", None).starts_with("error"));
    assert!(post(m, &pki, "rogue", Some("rogue")).starts_with("error"));
    assert_eq!(post(m, &pki, "again", Some("client")), "ok");
    child.signal("TERM");
    let out = child.wait(LIMIT);
    out.assert_success();
    let text = std::fs::read_to_string(setup.path("out.jsonl")).expect("out");
    let lines = util::json_lines(&text);
    assert_eq!(
        messages(&lines, "asyncio"),
        ["listening", "to-asyncio from anonymous"]
    );
    assert_eq!(
        messages(&lines, "tornado"),
        ["listening", "to-tornado from anonymous"]
    );
    assert_eq!(
        messages(&lines, "mtls"),
        [
            "listening",
            "mutual from tenant-client",
            "again from tenant-client"
        ],
        "{}",
        out.stderr
    );
}

const FAILURES: &str = r#"
import socket, ssl
from syslogng import LogSource, LogMessage


class Probe(LogSource):
    """Connects with TLS as the options say and posts what came of it."""

    def init(self, options):
        self.options = options
        return True

    def run(self):
        o = self.options
        try:
            if o.get("insecure"):
                ctx = ssl._create_unverified_context()
            else:
                ctx = ssl.create_default_context()
            if o.get("identity"):
                ctx.load_cert_chain(f"/identities/{o['identity']}/cert.pem", f"/identities/{o['identity']}/key.pem")
            sock = socket.create_connection(("127.0.0.1", int(o["port"])), timeout=30)
            tls = ctx.wrap_socket(sock, server_hostname=o.get("name", "localhost"))
            tls.sendall(b"GET /peer HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            self.post_message(LogMessage("ok " + data.split(b"\r\n\r\n", 1)[-1].decode()))
        except Exception as e:
            text = f"{type(e).__name__}: {e}"
            if isinstance(e, ssl.SSLCertVerificationError):
                text += f" (verify_code {e.verify_code})"
            self.post_message(LogMessage(text))

    def request_exit(self):
        pass
"#;

#[test]
fn tls_failures_say_what_a_user_can_act_on() {
    let certs = tempfile::tempdir().expect("dir");
    let pki = Pki::new(certs.path());
    let good = Peer::https(&pki, "server", None);
    let mutual = Peer::https(&pki, "server", Some("ca.pem"));
    let wrongname = Peer::https(&pki, "wrongname", None);
    let expired = Peer::https(&pki, "expired", None);
    let plain = Peer::start(&["plain"]);
    let reset = Peer::start(&["reset"]);
    let ports = [&good, &mutual, &wrongname, &expired, &plain, &reset]
        .iter()
        .map(|p| format!("\"127.0.0.1:{}\"", p.port))
        .collect::<Vec<_>>()
        .join(", ");
    let mut config = format!(
        r#"
[identity.tenant]
cert = "{client}"
key = "{client_key}"

[policy.default]
network.connect = [{ports}]
tls.ca = ["{ca}"]

[policy.other_ca]
network.connect = [{ports}]
tls.ca = ["{other}"]

[policy.mutual]
network.connect = [{ports}]
tls.ca = ["{ca}"]
tls.identities = ["tenant"]
"#,
        client = pki.path("client.pem"),
        client_key = pki.path("client.key"),
        ca = pki.path("ca.pem"),
        other = pki.path("other-ca.pem"),
    );
    let cases: [(&str, u16, &str, &str); 10] = [
        ("good", good.port, "", "default"),
        ("unknown_ca", good.port, "", "other_ca"),
        ("hostname", wrongname.port, "", "default"),
        ("expired", expired.port, "", "default"),
        ("plain", plain.port, "", "default"),
        ("reset", reset.port, "", "default"),
        ("denied", free_port(), "", "default"),
        ("insecure", good.port, ", insecure = \"yes\"", "default"),
        (
            "not_granted",
            good.port,
            ", identity = \"tenant\"",
            "default",
        ),
        ("mutual", mutual.port, ", identity = \"tenant\"", "mutual"),
    ];
    for (name, port, extra, policy) in cases {
        config += &format!(
            "\n[[source]]\nname = \"{name}\"\nscript = \"probe.py\"\nclass = \"Probe\"\nrestart = \"never\"\npolicy = \"{policy}\"\noptions = {{ port = \"{port}\" {extra} }}\n"
        );
    }
    // A co-tenant that has nothing to do with TLS.
    config += r#"
[[source]]
name = "cotenant"
class = "Count"
restart = "never"
code = """
from syslogng import LogSource, LogMessage
class Count(LogSource):
    def run(self):
        for i in range(500):
            self.post_message(LogMessage(f"n{i}"))
    def request_exit(self):
        pass
"""
"#;
    let out = Setup::new(&config).file("probe.py", FAILURES).run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    let one = |name: &str| -> String {
        let m = messages(&lines, name);
        assert_eq!(m.len(), 1, "{name}: {m:?}\n{}", out.stderr);
        m[0].clone()
    };
    assert_eq!(one("good"), "ok none");
    let expect = [
        (
            "unknown_ca",
            "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (verify_code 20)",
        ),
        (
            "hostname",
            "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'. (verify_code 62)",
        ),
        (
            "expired",
            "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (verify_code 10)",
        ),
        (
            "plain",
            "SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number",
        ),
        (
            "not_granted",
            "SSLError: identity \"tenant\" is not granted to this source (policy key `tls.identities`)",
        ),
    ];
    for (name, text) in expect {
        assert_eq!(one(name), text, "{name}");
    }
    let reset_text = one("reset");
    assert!(
        reset_text.starts_with("ConnectionResetError") || reset_text.starts_with("SSLEOFError"),
        "{reset_text}"
    );
    assert!(
        one("denied").starts_with("PermissionError"),
        "{}",
        one("denied")
    );
    let insecure = one("insecure");
    assert!(
        insecure.starts_with("SSLError: certificate verification cannot be turned off")
            && insecure.contains("policy key `tls.allow_insecure`"),
        "{insecure}"
    );
    assert_eq!(one("mutual"), "ok tenant-client");
    assert_eq!(messages(&lines, "cotenant").len(), 500);
}

#[test]
fn ssl_and_the_http_libraries_import_with_no_network_granted() {
    let config = format!(
        r#"
[[source]]
name = "imports"
class = "Imports"
restart = "never"
python_path = ["{packages}"]
code = """
import ssl
from syslogng import LogSource, LogMessage
class Imports(LogSource):
    def run(self):
        ctx = ssl.create_default_context()
        names = []
        for name in ("urllib.request", "http.client", "requests", "urllib3", "httpx", "tornado.httpclient",
                     "tornado.web", "aiohttp", "aiohttp.web", "certifi", "idna", "charset_normalizer"):
            __import__(name)
            names.append(name)
        self.post_message(LogMessage(f"{{ctx.verify_mode!r}} {{ctx.check_hostname}} {{ssl.HAS_SNI}} " + ",".join(names)))
    def request_exit(self):
        pass
"""
"#,
        packages = python_packages().display()
    );
    let out = Setup::new(&config).run(LIMIT);
    out.assert_success();
    assert_eq!(
        messages(&out.lines(), "imports"),
        [
            "<VerifyMode.CERT_REQUIRED: 2> True True urllib.request,http.client,requests,urllib3,httpx,tornado.httpclient,tornado.web,aiohttp,aiohttp.web,certifi,idna,charset_normalizer"
        ],
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("denied by policy"), "{}", out.stderr);
}
