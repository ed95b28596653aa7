#!/usr/bin/env python3
"""What idle tenants cost: COUNT sources (default 1000) in one `sandlog run`,
all blocked in the same kind of wait, for each kind: time.sleep, a socket
accept(), a socket recv(), select.select, a selectors selector, an asyncio
server loop, and a LogFetcher between fetches (fetch_no_data_delay). For
each: the whole process's CPU over WINDOW seconds once every source is up
(from /proc/PID/stat, in % of one core), then, after SIGTERM, how long each
source took to hear request_exit() (each records time.time() there and
posts it before run() returns: min, median, p90, max) and the time until the
process exited.

With SANDLOG_BASE_BIN naming another build, each kind runs on both, one
after the other, and the two are printed side by side.

usage: bench/idle.py [--count N] [--window SECONDS] [KIND...]
       (builds --release first unless SANDLOG_BIN names the binary)
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time

from benchlib import prepared_cache, sandlog_binary

HEAD = '''
import asyncio, os, selectors, select, socket, time
from syslogng import LogSource, LogFetcher, LogMessage

def woke(source):
    source.post_message(LogMessage("exit %r" % source.told))
'''

SCRIPTS = {
    "sleep": '''
class S(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        self.post_message(LogMessage("up"))
        while not self.exit:
            time.sleep(3600)
        woke(self)
    def request_exit(self):
        self.told = time.time()
        self.exit = True
''',
    "accept": '''
class S(LogSource):
    def init(self, options):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return True
    def run(self):
        self.post_message(LogMessage("up"))
        try:
            self.sock.accept()
        except OSError:
            pass
        woke(self)
    def request_exit(self):
        self.told = time.time()
        self.sock.close()
''',
    "recv": '''
class S(LogSource):
    def init(self, options):
        self.sock = socket.create_connection(("127.0.0.1", int(options["port"])))
        return True
    def run(self):
        self.post_message(LogMessage("up"))
        try:
            self.sock.recv(4096)
        except OSError:
            pass
        woke(self)
    def request_exit(self):
        self.told = time.time()
        self.sock.close()
''',
    "select": '''
class S(LogSource):
    def init(self, options):
        self.exit = False
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        return True
    def run(self):
        self.post_message(LogMessage("up"))
        while not self.exit:
            select.select([self.sock], [], [])
        woke(self)
    def request_exit(self):
        self.told = time.time()
        self.exit = True
''',
    "selectors": '''
class S(LogSource):
    def init(self, options):
        self.exit = False
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ)
        return True
    def run(self):
        self.post_message(LogMessage("up"))
        while not self.exit:
            self.sel.select()
        woke(self)
    def request_exit(self):
        self.told = time.time()
        self.exit = True
''',
    "asyncio": '''
class S(LogSource):
    def init(self, options):
        self.loop = asyncio.new_event_loop()
        return True
    def run(self):
        async def handle(reader, writer):
            writer.close()
        self.loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        self.loop.call_soon(self.post_message, LogMessage("up"))
        self.loop.run_forever()
        woke(self)
    def request_exit(self):
        self.told = time.time()
        self.loop.call_soon_threadsafe(self.loop.stop)
''',
    "fetcher": '''
class S(LogFetcher):
    def init(self, options):
        self.first = True
        return True
    def fetch(self):
        if self.first:
            self.first = False
            return LogFetcher.SUCCESS, LogMessage("up")
        return LogFetcher.NO_DATA, None
    def request_exit(self):
        self.told = time.time()
    def close(self):
        # A fetcher cannot post (AxoSyslog's has no post_message either):
        # it reports through the host log, which the bench reads.
        import logging
        logging.getLogger("bench").warning("exit %r", self.told)
''',
}

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def count_lines(path):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def one(binary, cache, workdir, kind, count, window):
    script = os.path.join(workdir, f"{kind}.py")
    with open(script, "w") as f:
        f.write(HEAD + SCRIPTS[kind])
    out = os.path.join(workdir, f"{kind}.jsonl")
    if os.path.exists(out):
        os.unlink(out)
    listener = None
    port = 0
    if kind == "recv":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(count + 16)
        port = listener.getsockname()[1]
    config = os.path.join(workdir, f"{kind}.toml")
    with open(config, "w") as f:
        for i in range(count):
            f.write(f'[[source]]\nname = "{kind}{i}"\nscript = "{kind}.py"\nclass = "S"\n'
                    f'fetch_no_data_delay = "1h"\noptions = {{ port = "{port}" }}\n'
                    f'policy = {{ exit_grace = "10s", network.listen = ["127.0.0.1:*"], '
                    f'network.connect = ["127.0.0.1:{port}"] }}\n\n')
        f.write(f'[[destination]]\ntype = "file"\npath = "{kind}.jsonl"\n')
    log_path = os.path.join(workdir, f"{kind}.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                             "run", config], stdout=subprocess.DEVNULL, stderr=log)
    accepted = []
    try:
        deadline = time.time() + 300
        while count_lines(out) < count:
            if listener is not None:
                listener.settimeout(0.01)
                try:
                    while True:
                        accepted.append(listener.accept()[0])
                except (BlockingIOError, TimeoutError):
                    pass
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit(f"{kind}: only {count_lines(out)} of {count} sources came up")
            time.sleep(0.05)
        time.sleep(2.0)
        c0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(window)
        cpu = (cpu_seconds(proc.pid) - c0) / (time.perf_counter() - t0)
        signalled = time.time()
        s0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=120)
        stopped = time.perf_counter() - s0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for s in accepted:
            s.close()
        if listener is not None:
            listener.close()
        log.close()
    heard = []
    # A fetcher's report: a host log line ending in "exit TIME".
    with open(log_path) as f:
        for line in f:
            m = re.search(r"python-bench: exit ([0-9.]+)", line)
            if m:
                heard.append(float(m[1]) - signalled)
    with open(out) as f:
        for line in f:
            text = json.loads(line).get("MESSAGE", "")
            if text.startswith("exit "):
                heard.append(float(text[5:]) - signalled)
    heard.sort()
    return {"cpu": cpu * 100, "stop": stopped, "status": status, "heard": heard}


def describe(r, count):
    h = r["heard"]
    if h:
        told = (f"request_exit after {h[0] * 1000:6.1f} ms min, {statistics.median(h) * 1000:6.1f} median, "
                f"p90 {h[int(len(h) * 0.9)] * 1000:6.1f}, max {h[-1] * 1000:6.1f}")
    else:
        told = "request_exit never heard"
    missing = "" if len(h) == count else f" ({count - len(h)} never heard it)"
    return (f"CPU {r['cpu']:6.1f}% of a core; {told}{missing}; "
            f"SIGTERM to exit {r['stop']:5.2f} s, status {r['status']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("kinds", nargs="*", default=list(SCRIPTS))
    args = parser.parse_args()
    builds = [("sandlog", sandlog_binary())]
    if os.environ.get("SANDLOG_BASE_BIN"):
        builds.append(("base", os.environ["SANDLOG_BASE_BIN"]))
    with tempfile.TemporaryDirectory() as d:
        caches = {}
        for name, binary in builds:
            os.makedirs(os.path.join(d, name))
            caches[name] = prepared_cache(binary, os.path.join(d, name))
        print(f"{args.count} idle sources of each kind, CPU over {args.window:.0f} s:")
        for kind in args.kinds:
            for name, binary in builds:
                r = one(binary, caches[name], d, kind, args.count, args.window)
                print(f"  {kind:9s} {name:7s} {describe(r, args.count)}", flush=True)


if __name__ == "__main__":
    main()
