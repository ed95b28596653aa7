#!/usr/bin/env python3
"""Many tenants in one process: for 1, 100 and 1000 idle sources in one
`sandlog run`, the process memory once every source is running, the slope
per source, the median instantiate+init time, the whole process's CPU while
they are all idle, and the time from SIGTERM to exit (with the exit
status). Each source posts one message and then waits until asked to exit:
in time.sleep (the default), or, with `--mix sleep,accept,asyncio`, the
sources take those kinds of wait in turn (a blocking accept() on a
listening socket, an asyncio server loop).

Memory is read three ways, because they differ a lot here: every instance
maps the guest's heap image copy-on-write from the same file, and RSS
counts each page of that file once per instance that touched it although
the page cache holds it once. PSS shares such pages out among the
mappings; USS (private pages) is what one more source costs.

Also runs a single source SINGLE_RUNS times (default 10) and reports the
median of its instantiate+init time: a source alone also compiles its
script, which the later instances of the same script do not. Sources
start one at a time, and each source's figure is timed from its turn.

Where a memory cgroup (v1 or v2) can be made under the benchmark's own,
the run is placed in a fresh one and its charge is reported too
(`memory.current`, or `memory.usage_in_bytes` on v1): that is what a
container's memory limit sees, page cache the run brought in included.

usage: bench/scale.py [--mix KINDS] [--idle-window SECONDS] [--memory-limit GIB]
                      [COUNTS...]
       (default: 1 100 1000; builds --release first unless SANDLOG_BIN
       names the binary)
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import tempfile
import time

from benchlib import prepared_cache, sandlog_binary

IDLE = '''
import asyncio, socket, time
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

class Accept(LogSource):
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
    def request_exit(self):
        self.sock.close()

class Asyncio(LogSource):
    def init(self, options):
        self.loop = asyncio.new_event_loop()
        return True
    def run(self):
        async def handle(reader, writer):
            writer.close()
        self.loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        self.loop.call_soon(self.post_message, LogMessage("up"))
        self.loop.run_forever()
    def request_exit(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
'''

CLASSES = {"sleep": "Idle", "accept": "Accept", "asyncio": "Asyncio"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Cgroup:
    """A fresh memory cgroup under this process's own, when one can be
    made (as root, or with a delegated hierarchy); else nothing."""

    def __init__(self, name, limit=None):
        self.path = None
        self.v2 = False
        with open("/proc/self/cgroup") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
        for _, controllers, rel in lines:
            if "memory" in controllers.split(","):
                base = "/sys/fs/cgroup/memory" + rel
                break
        else:
            rel = next((r for _, c, r in lines if c == ""), None)
            if rel is None:
                return
            base = "/sys/fs/cgroup" + rel
            self.v2 = True
        path = os.path.join(base, name)
        try:
            os.mkdir(path)
        except OSError:
            if limit is not None:
                raise SystemExit(f"--memory-limit: cannot make a memory cgroup at {path}")
            return
        self.path = path
        if limit is not None:
            knob = "memory.max" if self.v2 else "memory.limit_in_bytes"
            try:
                with open(os.path.join(path, knob), "w") as f:
                    f.write(str(limit))
            except OSError as e:
                self.remove()
                raise SystemExit(f"--memory-limit: cannot set {knob}: {e}")

    def enter(self):
        """For preexec_fn: moves the calling (child) process in."""
        if self.path:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def charge_kib(self):
        if not self.path:
            return None
        name = "memory.current" if self.v2 else "memory.usage_in_bytes"
        try:
            with open(os.path.join(self.path, name)) as f:
                return int(f.read()) / 1024
        except OSError:
            return None

    def remove(self):
        if self.path:
            try:
                os.rmdir(self.path)
            except OSError:
                pass


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


def measure(binary, cache, workdir, n, mix=("sleep",), idle_window=0.0, limit=None):
    """Runs n sources; returns the time until all were up, the process's
    memory (RSS, PSS, USS in KiB), the time from SIGTERM to exit, the
    instantiate+init debug lines, the cgroup's charge (KiB or None), the
    idle CPU (% of one core, or None), the exit status and the open files
    of the running process."""
    with open(os.path.join(workdir, "idle.py"), "w") as f:
        f.write(IDLE)
    config = os.path.join(workdir, f"scale-{n}.toml")
    with open(config, "w") as f:
        for i in range(n):
            kind = mix[i % len(mix)]
            f.write(f'[[source]]\nname = "t{i}"\nscript = "idle.py"\nclass = "{CLASSES[kind]}"\n')
            if kind != "sleep":
                f.write('policy = { network.listen = ["127.0.0.1:*"] }\n')
            f.write("\n")
        f.write('[[destination]]\ntype = "file"\npath = "scale.out"\n')
    out = os.path.join(workdir, "scale.out")
    if os.path.exists(out):
        os.unlink(out)
    log = open(os.path.join(workdir, f"scale-{n}.log"), "w")
    cgroup = Cgroup(f"sandlog-scale-{os.getpid()}-{n}", limit)
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                             "--log-level", "sandlog=debug", "run", config],
                            stdout=subprocess.DEVNULL, stderr=log, preexec_fn=cgroup.enter)
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
            proc.wait()
            log.close()
            cgroup.remove()
            with open(os.path.join(workdir, f"scale-{n}.log")) as f:
                tail = [line for line in f if " INFO " not in line and " DEBUG " not in line][-5:]
            raise SystemExit(f"{n} sources: only {lines} came up (exit status {proc.returncode}); "
                             "the log's last warnings and errors:\n" + "".join(tail))
        time.sleep(0.05)
    started = time.perf_counter() - t0
    time.sleep(1.0)
    mem = memory_kib(proc.pid)
    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
    charge = cgroup.charge_kib()
    cpu = None
    if idle_window > 0:
        c0, w0 = cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(idle_window)
        cpu = (cpu_seconds(proc.pid) - c0) / (time.perf_counter() - w0) * 100
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    status = proc.wait(timeout=600)
    stop = time.perf_counter() - t1
    log.close()
    cgroup.remove()
    with open(os.path.join(workdir, f"scale-{n}.log")) as f:
        inits = []
        for line in f:
            if "instantiated and initialised" in line:
                inits.append(phases(line))
    return started, mem, stop, inits, charge, cpu, status, fds


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mix", default="sleep",
                        help="kinds of wait the sources take in turn: " + ",".join(CLASSES))
    parser.add_argument("--idle-window", type=float, default=0.0,
                        help="seconds over which to measure the idle process's CPU (0: not measured)")
    parser.add_argument("--memory-limit", type=int, default=None, metavar="GIB",
                        help="run each count in a memory cgroup limited to GIB GiB, so that a "
                             "count too large for the machine ends in an out-of-memory kill of "
                             "sandlog alone (refuses to run if the cgroup cannot be made)")
    parser.add_argument("counts", nargs="*", type=int, default=[1, 100, 1000])
    args = parser.parse_args()
    limit = None if args.memory_limit is None else args.memory_limit << 30
    mix = tuple(args.mix.split(","))
    for kind in mix:
        if kind not in CLASSES:
            raise SystemExit(f"unknown kind {kind!r}; known: {', '.join(CLASSES)}")
    binary = sandlog_binary()
    with tempfile.TemporaryDirectory() as d:
        cache = prepared_cache(binary, d)
        singles = []
        for _ in range(int(os.environ.get("SINGLE_RUNS", "10"))):
            singles += [i["elapsed"] for i in measure(binary, cache, d, 1, mix)[3]]
        if singles:
            print(f"one source alone, instantiate+init: median {statistics.median(singles):.2f}ms "
                  f"over {len(singles)} runs (min {min(singles):.2f}ms, max {max(singles):.2f}ms)")
        rows = []
        print(f"mix: {','.join(mix)}")
        print(f"{'sources':>8} {'all up':>9} {'RSS':>10} {'PSS':>10} {'USS':>10} {'cgroup':>10} "
              f"{'init median':>12} {'init p90':>9} {'idle CPU':>9} {'SIGTERM to exit':>16} {'status':>6} "
              f"{'open files':>10}")
        split = []
        for n in args.counts:
            started, mem, stop, inits, charge, cpu, status, fds = measure(
                binary, cache, d, n, mix, args.idle_window, limit)
            elapsed = sorted(i["elapsed"] for i in inits)
            med = statistics.median(elapsed) if elapsed else float("nan")
            p90 = elapsed[int(len(elapsed) * 0.9)] if elapsed else float("nan")
            rows.append((n, mem + (charge or 0,)))
            split.append((n, [median_of(inits, k) for k in ("instantiate", "load", "init")]))
            rss, pss, uss = (m / 1024 for m in mem)
            cg = "-" if charge is None else f"{charge / 1024:.1f}MiB"
            idle = "-" if cpu is None else f"{cpu:.2f}%"
            print(f"{n:>8} {started:>8.2f}s {rss:>7.1f}MiB {pss:>7.1f}MiB {uss:>7.1f}MiB {cg:>10} "
                  f"{med:>10.2f}ms {p90:>7.2f}ms {idle:>9} {stop * 1000:>14.0f}ms {status:>6} {fds:>10}")
        for n, (inst, load, init) in split:
            print(f"{n:>8} sources, medians of the parts: store and instantiation {inst:.2f}ms, "
                  f"load {load:.2f}ms, init() {init:.2f}ms")
        if len(rows) >= 2:
            (n0, m0), (n1, m1) = rows[0], rows[-1]
            slopes = [(b - a) / (n1 - n0) / 1024 for a, b in zip(m0, m1)]
            print(f"slope per idle source ({n0} -> {n1} sources): RSS {slopes[0]:.2f} MiB, "
                  f"PSS {slopes[1]:.2f} MiB, USS {slopes[2]:.2f} MiB, cgroup {slopes[3]:.2f} MiB")


if __name__ == "__main__":
    main()
