#!/usr/bin/env python3
"""OTLP destination (HTTP and gRPC) against the file destination, in the
same run: 1 and 10 sources each post a fixed number of messages (the
message of bench/kafka.py) and return; each `sandlog run` is timed from
process start to exit, which for OTLP means every request accepted by the
receiver. Prints messages per second, the OTLP/file ratio, and the sandlog
process's CPU time per message (user + system, guest included; the
receiver's own CPU is not counted).

The receiver is tests/otlp/receiver.py in --count-only mode (it decodes
every request with the OpenTelemetry protocol's Python types and counts
its records), run by the Python of the virtualenv .ci/run makes;
SANDLOG_OTLP_PYTHON names it. A receiver in Python is slower than a real
collector: it can be what limits the rate.

usage: bench/otlp.py [TOTAL_MESSAGES]
       (default 1000000, split evenly over the sources; builds --release
       first unless SANDLOG_BIN names the binary)
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from benchlib import ROOT, prepared_cache, sandlog_binary
from kafka import one_run


def receiver_python():
    path = os.environ.get("SANDLOG_OTLP_PYTHON") or os.path.expanduser(
        "~/.cache/sandlog-otlp-venv/bin/python")
    if not os.path.exists(path):
        raise SystemExit("the OTLP receiver's Python is missing: run .ci/run once, "
                         "or set SANDLOG_OTLP_PYTHON")
    return path


def start_receiver(python, protocol, out):
    env = dict(os.environ, GRPC_VERBOSITY="ERROR")
    proc = subprocess.Popen([python, os.path.join(ROOT, "tests", "otlp", "receiver.py"),
                             "--protocol", protocol, "--count-only", "--out", out],
                            stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if not line.startswith("LISTENING "):
        proc.kill()
        raise SystemExit(f"the receiver did not start: {line!r}")
    return proc, int(line.split()[1])


def received(out):
    """Records the receiver accepted, from its log."""
    total = 0
    with open(out) as f:
        for line in f:
            entry = json.loads(line)
            if entry["answer"] == 200:
                total += entry["count"]
    return total


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    binary = sandlog_binary()
    python = receiver_python()
    with tempfile.TemporaryDirectory() as d:
        cache = prepared_cache(binary, d)
        print(f"{'sources':>8} {'destination':>12} {'messages':>10} {'time':>9} {'msg/s':>11} "
              f"{'vs file':>8} {'CPU/msg':>9}")
        for sources in (1, 10):
            per_source = total // sources
            n = per_source * sources
            out = os.path.join(d, "out.jsonl")
            if os.path.exists(out):
                os.unlink(out)
            elapsed, cpu = one_run(binary, cache, d, sources, per_source,
                                   f'[[destination]]\ntype = "file"\npath = "{out}"\n')
            file_rate = n / elapsed
            print(f"{sources:>8} {'file':>12} {n:>10} {elapsed:>8.3f}s {file_rate:>11,.0f} "
                  f"{1:>7.2f}x {cpu / n * 1e6:>7.2f}µs", flush=True)
            for protocol in ("http", "grpc"):
                log = os.path.join(d, f"requests-{protocol}.jsonl")
                receiver, port = start_receiver(python, protocol, log)
                try:
                    elapsed, cpu = one_run(
                        binary, cache, d, sources, per_source,
                        f'[[destination]]\ntype = "otlp"\nprotocol = "{protocol}"\n'
                        f'endpoint = "http://127.0.0.1:{port}"\n')
                finally:
                    receiver.kill()
                    receiver.wait()
                got = received(log)
                if got != n:
                    raise SystemExit(f"the receiver accepted {got} of {n} records")
                os.unlink(log)
                rate = n / elapsed
                print(f"{sources:>8} {'otlp ' + protocol:>12} {n:>10} {elapsed:>8.3f}s "
                      f"{rate:>11,.0f} {rate / file_rate:>7.2f}x {cpu / n * 1e6:>7.2f}µs",
                      flush=True)


if __name__ == "__main__":
    main()
