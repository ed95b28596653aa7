#!/usr/bin/env python3
"""Many tenants in one process: for 1, 100 and 1000 idle sources in one
`sandlog run`, the process RSS once every source is running, the slope per
source, the median instantiate+init time, and the time from SIGTERM to
exit. Each source posts one message and sleeps until asked to exit.

usage: bench/scale.py [COUNTS...]   (default: 1 100 1000; builds --release
       first unless SANDLOG_BIN names the binary)
"""

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTS = [int(c) for c in sys.argv[1:]] or [1, 100, 1000]

IDLE = '''
import time
from syslogng import LogSource, LogMessage
class Idle(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        self.post_message(LogMessage("up"))
        while not self.exit:
            time.sleep(3600)
    def request_exit(self):
        self.exit = True
'''


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(binary, cache, workdir, n):
    with open(os.path.join(workdir, "idle.py"), "w") as f:
        f.write(IDLE)
    config = os.path.join(workdir, f"scale-{n}.toml")
    with open(config, "w") as f:
        for i in range(n):
            f.write(f'[[source]]\nname = "t{i}"\nscript = "idle.py"\nclass = "Idle"\n\n')
        f.write('[[destination]]\ntype = "file"\npath = "scale.out"\n')
    out = os.path.join(workdir, "scale.out")
    if os.path.exists(out):
        os.unlink(out)
    log = open(os.path.join(workdir, f"scale-{n}.log"), "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                             "--log-level", "sandlog=debug", "run", config],
                            stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 600
    while True:
        lines = 0
        if os.path.exists(out):
            with open(out) as f:
                lines = sum(1 for _ in f)
        if lines >= n:
            break
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit(f"{n} sources: only {lines} came up")
        time.sleep(0.05)
    started = time.perf_counter() - t0
    time.sleep(1.0)
    rss = rss_kib(proc.pid)
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=600)
    stop = time.perf_counter() - t1
    log.close()
    with open(os.path.join(workdir, f"scale-{n}.log")) as f:
        inits = []
        for line in f:
            m = re.search(r"instantiated and initialised elapsed=([0-9.]+)(ns|µs|us|ms|s)\b", line)
            if m:
                unit = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
                inits.append(float(m.group(1)) * unit)
    return started, rss, stop, inits


def main():
    binary = os.environ.get("SANDLOG_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "sandlog"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "sandlog")
    with tempfile.TemporaryDirectory() as d:
        cache = os.path.join(d, "cache")
        subprocess.run([binary, "--cache-dir", cache, "prepare"], check=True, stderr=subprocess.DEVNULL)
        rows = []
        print(f"{'sources':>8} {'all up':>9} {'RSS':>10} {'init median':>12} {'init p90':>9} {'SIGTERM to exit':>16}")
        for n in COUNTS:
            started, rss, stop, inits = measure(binary, cache, d, n)
            inits.sort()
            med = statistics.median(inits) if inits else float("nan")
            p90 = inits[int(len(inits) * 0.9)] if inits else float("nan")
            rows.append((n, rss))
            print(f"{n:>8} {started:>8.2f}s {rss / 1024:>8.1f}MiB {med:>10.2f}ms {p90:>7.2f}ms {stop * 1000:>14.0f}ms")
        if len(rows) >= 2:
            (n0, r0), (n1, r1) = rows[0], rows[-1]
            print(f"RSS slope: {(r1 - r0) / (n1 - n0) / 1024:.2f} MiB per idle source ({n0} -> {n1} sources)")


if __name__ == "__main__":
    main()
