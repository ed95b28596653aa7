#!/usr/bin/env python3
"""Aggregate throughput of many sources in one process: 1, 10 and 1000
sources in one `sandlog run` each post a fixed number of messages (the
message of bench/throughput.sh: MESSAGE plus one custom field) and return,
all at once, into one JSON-lines file. Each run is timed from process start
until every line is in the file; prints messages per second and the ratio
to the single-source run.

usage: bench/aggregate.py [SOURCES:PER_SOURCE ...]
       (default: 1:1000000 10:100000 1000:1000; builds --release first
       unless SANDLOG_BIN names the binary; AGGREGATE_RUNS=N repeats each
       run N times and reports the median, default 1)
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import prepared_cache, sandlog_binary
DEFAULT = [(1, 1_000_000), (10, 100_000), (1000, 1000)]
# A run that has not written every line by then is stopped and reported.
DEADLINE_S = 600

BURST = '''
from syslogng import LogSource, LogMessage
class Burst(LogSource):
    def init(self, options):
        self.n = int(options["n"])
        return True
    def run(self):
        for i in range(self.n):
            msg = LogMessage(b"hello %d" % i)
            msg["seq"] = str(i)
            self.post_message(msg)
    def request_exit(self):
        pass
'''


def one_run(binary, cache, workdir, sources, per_source, extra=""):
    """Seconds until every line of `sources` bursts of `per_source` is
    written, and the line count. `extra` is more config (sources that post
    nothing, for bench/crashloop.py)."""
    with open(os.path.join(workdir, "burst.py"), "w") as f:
        f.write(BURST)
    config = os.path.join(workdir, f"aggregate-{sources}.toml")
    out = os.path.join(workdir, "aggregate.out")
    with open(config, "w") as f:
        for i in range(sources):
            f.write(f'[[source]]\nname = "b{i}"\nscript = "burst.py"\nclass = "Burst"\n'
                    f'restart = "never"\noptions = {{ n = "{per_source}" }}\n\n')
        f.write(extra)
        f.write(f'[[destination]]\ntype = "file"\npath = "{out}"\n')
    if os.path.exists(out):
        os.unlink(out)
    want = sources * per_source
    log = open(os.path.join(workdir, f"aggregate-{sources}.log"), "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                             "run", config], stdout=subprocess.DEVNULL, stderr=log)
    lines = 0
    reader = None
    try:
        while lines < want:
            if reader is None and os.path.exists(out):
                reader = open(out, "rb")
            if reader is not None:
                while True:
                    chunk = reader.read(1 << 20)
                    if not chunk:
                        break
                    lines += chunk.count(b"\n")
            if lines >= want:
                break
            if time.perf_counter() - t0 > DEADLINE_S or proc.poll() is not None:
                raise SystemExit(f"{sources} sources: {lines} of {want} lines written "
                                 f"(exit status {proc.poll()}); see {log.name}")
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
    finally:
        if reader is not None:
            reader.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
    return elapsed, want


def main():
    runs = [tuple(int(x) for x in a.split(":")) for a in sys.argv[1:]] or DEFAULT
    repeat = int(os.environ.get("AGGREGATE_RUNS", "1"))
    binary = sandlog_binary()
    with tempfile.TemporaryDirectory() as d:
        cache = prepared_cache(binary, d)
        print(f"{'sources':>8} {'per source':>11} {'messages':>10} {'time':>9} {'msg/s':>11} {'vs 1 source':>12}")
        base = None
        for sources, per_source in runs:
            times = []
            for _ in range(repeat):
                elapsed, total = one_run(binary, cache, d, sources, per_source)
                times.append(elapsed)
            elapsed = statistics.median(times)
            rate = total / elapsed
            if base is None and sources == 1:
                base = rate
            ratio = f"{rate / base:.2f}x" if base else "-"
            print(f"{sources:>8} {per_source:>11} {total:>10} {elapsed:>8.3f}s {rate:>11,.0f} {ratio:>12}",
                  flush=True)


if __name__ == "__main__":
    main()
