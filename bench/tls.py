#!/usr/bin/env python3
"""TLS figures, each side by side with native CPython (this host's python3,
with OpenSSL) in one run:

1. An HTTPS bulk download from a loopback server (tests/tls/peer.py): the
   same script, reading the response in 1 MiB pieces, in a sandboxed
   source and under native CPython.
2. HTTPS POSTs (keep-alive, 1 KiB bodies, from wrk) received per second by
   a tornado webhook application: in a sandboxed source that posts each
   body as a message into a file, and under native CPython writing each
   body as a JSON line into a file.

    python3 bench/tls.py [--mib 100] [--runs 3] [--seconds 10] [--skip-download] [--skip-webhook]

Needs: openssl (for the certificates), wrk (Debian's package) for the
webhook figure, and the pure-Python packages of tests/tls/requirements.txt
(installed here into bench/.tls-packages from PyPI, as the tests do).
Every process it starts it stops; the servers listen on 127.0.0.1 only.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import ROOT, prepared_cache, sandlog_binary

PEER = os.path.join(ROOT, "tests", "tls", "peer.py")
REQUIREMENTS = os.path.join(ROOT, "tests", "tls", "requirements.txt")

DOWNLOAD = r'''
import hashlib, http.client, ssl, sys, time

def download(port, size, cafile=None):
    ctx = ssl.create_default_context(cafile=cafile)
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=60)
    started = time.monotonic()
    c.request("GET", f"/bytes/{size}")
    r = c.getresponse()
    n = 0
    while True:
        piece = r.read(1 << 20)
        if not piece:
            break
        n += len(piece)
    elapsed = time.monotonic() - started
    assert n == size, (n, size)
    return elapsed

if __name__ == "__main__":
    print(download(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
'''

DOWNLOAD_SOURCE = r'''
from syslogng import LogSource, LogMessage
from download import download

class Download(LogSource):
    def init(self, options):
        self.options = options
        return True
    def run(self):
        elapsed = download(int(self.options["port"]), int(self.options["size"]))
        self.post_message(LogMessage(f"elapsed {elapsed}"))
    def request_exit(self):
        pass
'''

WEBHOOK = r'''
import asyncio, json, ssl, sys
import tornado.web

def make_app(on_body):
    class Hook(tornado.web.RequestHandler):
        def post(self):
            on_body(self.request.body)
            self.write("ok")
    return tornado.web.Application([(r"/", Hook)])

def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx

async def serve(port, on_body, ctx, stop):
    server = make_app(on_body).listen(port, "127.0.0.1", ssl_options=ctx)
    await stop.wait()
    server.stop()

if __name__ == "__main__":
    port, cert, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    f = open(out, "w", buffering=256 * 1024)
    def on_body(body):
        f.write(json.dumps({"MESSAGE": body.decode()}) + "\n")
    async def main():
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(15, stop.set)
        await serve(port, on_body, context(cert, key), stop)
    asyncio.run(main())
    f.flush()
'''

WEBHOOK_SOURCE = r'''
import asyncio, logging
from syslogng import LogSource, LogMessage
from webhook import context, serve

class Webhook(LogSource):
    def init(self, options):
        self.options = options
        if options["access_log"] == "off":
            # The host log gets every record at INFO and above, as
            # AxoSyslog's does; tornado logs one line per request.
            logging.getLogger("tornado.access").setLevel(logging.WARNING)
        return True
    def run(self):
        async def main():
            self.stop = asyncio.Event()
            ctx = context("/identities/webhook/cert.pem", "/identities/webhook/key.pem")
            await serve(int(self.options["port"]), lambda b: self.post_message(LogMessage(b)), ctx, self.stop)
        asyncio.run(main())
    def request_exit(self):
        self.stop.set()
'''

WRK_POST = """
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "text/plain"
"""


def certificates(workdir):
    """A CA and a localhost certificate it signed, made with openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(workdir, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")


def packages():
    target = os.path.join(ROOT, "bench", ".tls-packages")
    marker = os.path.join(target, ".installed")
    wanted = open(REQUIREMENTS).read()
    if os.path.exists(marker) and open(marker).read() == wanted:
        return target
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--root-user-action=ignore", "--no-compile", "--no-cache-dir", "--no-deps",
                    "--target", target, "--platform", "any", "--python-version", "3.14",
                    "--implementation", "py", "--abi", "none", "--no-binary", "tornado",
                    "-r", REQUIREMENTS], check=True, env={**os.environ, "TORNADO_EXTENSION": "0"})
    open(marker, "w").write(wanted)
    return target


def start_peer(workdir):
    p = subprocess.Popen([sys.executable, PEER, "https", os.path.join(workdir, "server.pem"),
                          os.path.join(workdir, "server.key")], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, int(line.split()[1])


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def sandlog_config(workdir, body):
    path = os.path.join(workdir, "sandlog.toml")
    with open(path, "w") as f:
        f.write(body)
    return path


def download_sandboxed(binary, cache, workdir, port, size, pkgs):
    config = sandlog_config(workdir, f"""
[[source]]
name = "download"
script = "download_source.py"
class = "Download"
restart = "never"
python_path = ["{workdir}"]
options = {{ port = "{port}", size = "{size}" }}
policy = {{ memory = "512MiB", network.connect = ["127.0.0.1:{port}"], dns = true, tls.ca = ["{workdir}/ca.pem"] }}
""")
    out = subprocess.run([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                          "run", config], capture_output=True, text=True, timeout=600, check=True)
    for line in out.stdout.splitlines():
        msg = json.loads(line)["MESSAGE"]
        if msg.startswith("elapsed "):
            return float(msg.split()[1])
    raise RuntimeError(out.stderr[-2000:])


def download_native(workdir, port, size):
    out = subprocess.run([sys.executable, os.path.join(workdir, "download.py"), str(port), str(size),
                          os.path.join(workdir, "ca.pem")], capture_output=True, text=True, timeout=600,
                         check=True)
    return float(out.stdout.strip())


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, p, limit=60):
    import socket
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"the server ended before it listened on {port}:\n{p.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wrk(port, seconds, workdir):
    script = os.path.join(workdir, "post.lua")
    with open(script, "w") as f:
        f.write(WRK_POST)
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script,
                          f"https://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=seconds + 60, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1]), out.stdout
    raise RuntimeError(out.stdout)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def webhook_sandboxed(binary, cache, workdir, seconds, pkgs, access_log):
    port = free_port()
    out_file = os.path.join(workdir, "hook-sandbox.jsonl")
    if os.path.exists(out_file):
        # The file destination appends: each run counts its own lines.
        os.remove(out_file)
    config = sandlog_config(workdir, f"""
[identity.webhook]
cert = "{workdir}/server.pem"
key = "{workdir}/server.key"

[[source]]
name = "webhook"
script = "webhook_source.py"
class = "Webhook"
restart = "never"
python_path = ["{workdir}", "{pkgs}"]
options = {{ port = "{port}", access_log = "{access_log}" }}
policy = {{ memory = "512MiB", network.listen = ["127.0.0.1:{port}"], tls.identities = ["webhook"] }}

[[destination]]
type = "file"
path = "{out_file}"
""")
    p = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                          "run", config], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, p)
        before = cpu_seconds(p.pid)
        rate, _ = wrk(port, seconds, workdir)
        cpu = cpu_seconds(p.pid) - before
    finally:
        stop(p)
    lines = sum(1 for _ in open(out_file))
    return rate, lines, cpu


def webhook_native(workdir, seconds, pkgs):
    port = free_port()
    out_file = os.path.join(workdir, "hook-native.jsonl")
    if os.path.exists(out_file):
        # The file destination appends: each run counts its own lines.
        os.remove(out_file)
    env = {**os.environ, "PYTHONPATH": f"{workdir}:{pkgs}"}
    p = subprocess.Popen([sys.executable, os.path.join(workdir, "webhook.py"), str(port),
                          os.path.join(workdir, "server.pem"), os.path.join(workdir, "server.key"),
                          out_file], env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, p)
        before = cpu_seconds(p.pid)
        rate, _ = wrk(port, seconds, workdir)
        cpu = cpu_seconds(p.pid) - before
    finally:
        stop(p)
    lines = sum(1 for _ in open(out_file))
    return rate, lines, cpu


def download(args, binary, cache, workdir, pkgs):
    size = args.mib * 1024 * 1024
    peer, port = start_peer(workdir)
    try:
        sand, native = [], []
        for _ in range(args.runs):
            native.append(download_native(workdir, port, size))
            sand.append(download_sandboxed(binary, cache, workdir, port, size, pkgs))
    finally:
        stop(peer)
    mib = args.mib
    print(f"HTTPS download of {mib} MiB over loopback, {args.runs} runs alternated")
    print(f"  native CPython {sys.version.split()[0]} + OpenSSL: "
          + ", ".join(f"{mib / t:.0f} MiB/s" for t in native))
    print("  sandlog (guest CPython 3.14, rustls in the host): "
          + ", ".join(f"{mib / t:.0f} MiB/s" for t in sand))
    ratio = statistics.median(native) / statistics.median(sand)
    print(f"  ratio sandlog/native (medians): {ratio:.2f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--skip-download", action="store_true")
    ap.add_argument("--skip-webhook", action="store_true")
    args = ap.parse_args()
    binary = sandlog_binary()
    pkgs = packages()
    with tempfile.TemporaryDirectory() as workdir:
        cache = prepared_cache(binary, workdir)
        certificates(workdir)
        for name, text in (("download.py", DOWNLOAD), ("download_source.py", DOWNLOAD_SOURCE),
                           ("webhook.py", WEBHOOK), ("webhook_source.py", WEBHOOK_SOURCE)):
            with open(os.path.join(workdir, name), "w") as f:
                f.write(text)
        if not args.skip_download:
            download(args, binary, cache, workdir, pkgs)
        if args.skip_webhook:
            return
        if shutil.which("wrk") is None:
            print("webhook: wrk is not installed (apt-get install wrk); skipped")
            return
        print(f"HTTPS webhook (tornado), wrk -t2 -c16 {args.seconds}s, 1 KiB POST bodies, keep-alive")
        # Native CPython has no logging handler: tornado's per-request
        # access line is dropped at INFO. In a source (as under AxoSyslog)
        # it goes to the host log, so the sandboxed side runs both ways.
        results = {"native": [], "sandlog": [], "sandlog, access log off": []}
        for _ in range(args.runs):
            results["native"].append(webhook_native(workdir, args.seconds, pkgs))
            results["sandlog"].append(webhook_sandboxed(binary, cache, workdir, args.seconds, pkgs, "on"))
            results["sandlog, access log off"].append(
                webhook_sandboxed(binary, cache, workdir, args.seconds, pkgs, "off"))
        for who, rows in results.items():
            shown = ", ".join(f"{r:.0f} req/s ({n} lines, {cpu / max(n, 1) * 1e6:.0f} us CPU each)"
                              for r, n, cpu in rows)
            print(f"  {who}: {shown}")
        med = {who: statistics.median(r for r, _, _ in rows) for who, rows in results.items()}
        for who in ("sandlog", "sandlog, access log off"):
            print(f"  ratio {who}/native (medians): {med[who] / med['native']:.2f}x")


if __name__ == "__main__":
    main()
