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
