#!/usr/bin/env python3
"""Many tenants in one process: for 1, 100 and 1000 idle sources in one
`sandlog run`, the process memory once every source is running, the slope
per source, the median instantiate+init time, and the time from SIGTERM to
exit. Each source posts one message and sleeps until asked to exit.

Memory is read three ways, because they differ a lot here: every instance
maps the guest's heap image copy-on-write from the same file, and RSS
counts each page of that file once per instance that touched it although
the page cache holds it once. PSS shares such pages out among the
mappings; USS (private pages) is what one more source costs.

Also runs a single source SINGLE_RUNS times (default 10) and reports the
median of its instantiate+init time: a source alone also compiles its
script, which the later instances of the same script do not. Sources
start one at a time, and each source's figure is timed from its turn.

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

from benchlib import prepared_cache, sandlog_binary
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


def memory_kib(pid):
    """RSS, PSS and USS (private clean + private dirty) of a process."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    return (fields.get("Rss", 0), fields.get("Pss", 0),
            fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0))


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
    mem = memory_kib(proc.pid)
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=600)
    stop = time.perf_counter() - t1
    log.close()
    with open(os.path.join(workdir, f"scale-{n}.log")) as f:
        inits = []
        for line in f:
            if "instantiated and initialised" in line:
                inits.append(phases(line))
    return started, mem, stop, inits


def phases(line):
    """The durations (ms) of one `instantiated and initialised` debug line:
    elapsed, and its parts instantiate, load and init."""
    units = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
    return {key: float(value) * units[unit]
            for key, value, unit in re.findall(r"\b(\w+)=([0-9.]+)(ns|µs|us|ms|s)\b", line)}


def median_of(inits, key):
    values = [i[key] for i in inits if key in i]
    return statistics.median(values) if values else float("nan")


def main():
    binary = sandlog_binary()
    with tempfile.TemporaryDirectory() as d:
        cache = prepared_cache(binary, d)
        singles = []
        for _ in range(int(os.environ.get("SINGLE_RUNS", "10"))):
            singles += [i["elapsed"] for i in measure(binary, cache, d, 1)[3]]
        if singles:
            print(f"one source alone, instantiate+init: median {statistics.median(singles):.2f}ms "
                  f"over {len(singles)} runs (min {min(singles):.2f}ms, max {max(singles):.2f}ms)")
        rows = []
        print(f"{'sources':>8} {'all up':>9} {'RSS':>10} {'PSS':>10} {'USS':>10} {'init median':>12} "
              f"{'init p90':>9} {'SIGTERM to exit':>16}")
        split = []
        for n in COUNTS:
            started, mem, stop, inits = measure(binary, cache, d, n)
            elapsed = sorted(i["elapsed"] for i in inits)
            med = statistics.median(elapsed) if elapsed else float("nan")
            p90 = elapsed[int(len(elapsed) * 0.9)] if elapsed else float("nan")
            rows.append((n, mem))
            split.append((n, [median_of(inits, k) for k in ("instantiate", "load", "init")]))
            rss, pss, uss = (m / 1024 for m in mem)
            print(f"{n:>8} {started:>8.2f}s {rss:>7.1f}MiB {pss:>7.1f}MiB {uss:>7.1f}MiB {med:>10.2f}ms "
                  f"{p90:>7.2f}ms {stop * 1000:>14.0f}ms")
        for n, (inst, load, init) in split:
            print(f"{n:>8} sources, medians of the parts: store and instantiation {inst:.2f}ms, "
                  f"load {load:.2f}ms, init() {init:.2f}ms")
        if len(rows) >= 2:
            (n0, m0), (n1, m1) = rows[0], rows[-1]
            slopes = [(b - a) / (n1 - n0) / 1024 for a, b in zip(m0, m1)]
            print(f"slope per idle source ({n0} -> {n1} sources): RSS {slopes[0]:.2f} MiB, "
                  f"PSS {slopes[1]:.2f} MiB, USS {slopes[2]:.2f} MiB")


if __name__ == "__main__":
    main()
