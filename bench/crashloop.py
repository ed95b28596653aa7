#!/usr/bin/env python3
"""What one tenant's crash loop costs the others: 10 sources each post
100,000 messages into one file (the runs of bench/aggregate.py), alone and
next to one source whose run() raises at once and is restarted for as long
as the run lasts (restart_limit = 0), first with the default backoff (1 s,
doubling), then with a 10 ms backoff that does not grow, so that it restarts
about a hundred times a second. Runs alternate, and each variant's median
over RUNS (default 5) is compared with the median of the runs alone.

A restart is a fresh instance: instantiation, load, init() and the raise,
about 2.5 ms of one core, and the source waits its turn at the start gate
like any other.

usage: bench/crashloop.py   (builds --release first unless SANDLOG_BIN
       names the binary; CRASHLOOP_RUNS=N sets the runs per variant)
"""

import os
import re
import statistics
import tempfile

from aggregate import one_run
from benchlib import prepared_cache, sandlog_binary

SOURCES, PER_SOURCE = 10, 100_000

CRASHER = '''
from syslogng import LogSource
class Crasher(LogSource):
    def run(self):
        raise RuntimeError("crash")
    def request_exit(self):
        pass
'''


def crasher(backoff, backoff_max):
    return ('[[source]]\nname = "crasher"\nscript = "crasher.py"\nclass = "Crasher"\n'
            f'restart_limit = 0\nrestart_backoff = "{backoff}"\nrestart_backoff_max = "{backoff_max}"\n\n')


VARIANTS = [
    ("alone", ""),
    ("+ crash loop, default backoff (1 s doubling)", crasher("1s", "60s")),
    ("+ crash loop, 10 ms backoff", crasher("10ms", "10ms")),
]


def restarts(log):
    with open(log) as f:
        return sum(1 for line in f if re.search(r"run\(\) raised; restarting", line))


def main():
    runs = int(os.environ.get("CRASHLOOP_RUNS", "5"))
    binary = sandlog_binary()
    with tempfile.TemporaryDirectory() as d:
        cache = prepared_cache(binary, d)
        with open(os.path.join(d, "crasher.py"), "w") as f:
            f.write(CRASHER)
        times = {name: [] for name, _ in VARIANTS}
        counts = {name: [] for name, _ in VARIANTS}
        for _ in range(runs):
            for name, extra in VARIANTS:
                elapsed, total = one_run(binary, cache, d, SOURCES, PER_SOURCE, extra)
                times[name].append(elapsed)
                counts[name].append(restarts(os.path.join(d, f"aggregate-{SOURCES}.log")))
        base = statistics.median(times["alone"])
        print(f"{SOURCES} sources x {PER_SOURCE:,} messages, {runs} runs of each variant, alternated")
        print(f"{'variant':<46} {'median':>8} {'min':>8} {'max':>8} {'msg/s':>10} {'vs alone':>9} {'restarts':>9}")
        for name, _ in VARIANTS:
            t = times[name]
            med = statistics.median(t)
            print(f"{name:<46} {med:>7.3f}s {min(t):>7.3f}s {max(t):>7.3f}s {total / med:>10,.0f} "
                  f"{base / med:>8.2f}x {statistics.median(counts[name]):>9.0f}")


if __name__ == "__main__":
    main()
