#!/usr/bin/env python3
"""Stopping on time: for a source blocked in time.sleep, in a socket
accept(), in an asyncio loop, and for a runaway loop that ignores
request_exit, the wall time from SIGTERM to sandlog's exit (run() returned,
deinit, flush). Median of several runs each.

usage: bench/stop_times.py [RUNS]     (builds sandlog --release first,
       unless SANDLOG_BIN names the binary to measure)
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import prepared_cache, sandlog_binary
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5

SCRIPTS = {
    "sleep": """
import time
from syslogng import LogSource, LogMessage
class S(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        self.post_message(LogMessage("ready"))
        while not self.exit:
            time.sleep(3600)
    def request_exit(self):
        self.exit = True
""",
    "accept": """
import socket
from syslogng import LogSource, LogMessage
class S(LogSource):
    def init(self, options):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", int(options["port"])))
        self.sock.listen()
        return True
    def run(self):
        self.post_message(LogMessage("ready"))
        try:
            self.sock.accept()
        except OSError:
            pass
    def request_exit(self):
        self.sock.close()
""",
    "asyncio": """
import asyncio
from syslogng import LogSource, LogMessage
class S(LogSource):
    def init(self, options):
        self.loop = asyncio.new_event_loop()
        return True
    def run(self):
        self.loop.call_soon(self.post_message, LogMessage("ready"))
        self.loop.run_forever()
    def request_exit(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
""",
    "runaway": """
from syslogng import LogSource, LogMessage
class S(LogSource):
    def run(self):
        self.post_message(LogMessage("ready"))
        self.close_batch()
        import time
        time.sleep(0)
        while True:
            pass
    def request_exit(self):
        pass
""",
}

GRACE = "1s"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one(binary, cache, workdir, kind):
    with open(os.path.join(workdir, "s.py"), "w") as f:
        f.write(SCRIPTS[kind])
    out = os.path.join(workdir, "out.jsonl")
    if os.path.exists(out):
        os.unlink(out)
    with open(os.path.join(workdir, "c.toml"), "w") as f:
        f.write(f"""
[[source]]
name = "{kind}"
script = "s.py"
class = "S"
options = {{ port = "{free_port()}" }}
policy = {{ exit_grace = "{GRACE}", network.listen = ["127.0.0.1:*"], network.connect = ["127.0.0.1:*"] }}

[[destination]]
type = "file"
path = "out.jsonl"
""")
    proc = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                             "run", os.path.join(workdir, "c.toml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (os.path.exists(out) and os.path.getsize(out) > 0):
        if time.time() > deadline:
            proc.kill()
            raise SystemExit(f"{kind}: the source never posted")
        time.sleep(0.005)
    time.sleep(0.1)
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return time.perf_counter() - t0


def main():
    binary = sandlog_binary()
    with tempfile.TemporaryDirectory() as d:
        cache = prepared_cache(binary, d)
        print(f"SIGTERM to exit, median of {RUNS} runs (exit_grace {GRACE}):")
        for kind in SCRIPTS:
            times = [one(binary, cache, d, kind) for _ in range(RUNS)]
            print(f"  {kind:8s} {statistics.median(times) * 1000:8.1f} ms"
                  f"   (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")


if __name__ == "__main__":
    main()
