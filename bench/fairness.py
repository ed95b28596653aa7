#!/usr/bin/env python3
"""Fairness under overload: N sources spin (pure computation, a host
contact now and then) beside one source that posts 100 messages 5 ms
apart. Prints how long the poster took for its 100 posts, by its own
clock, for each N; with a fair scheduler that stays near 0.5 s however
many spin.

    python3 bench/fairness.py [--spinners 4 20] [--runs 3] [--limit 60]

A run that has not finished after --limit seconds is reported as such.
Every process it starts it stops.
"""

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time

from benchlib import prepared_cache, sandlog_binary

SCRIPT = r'''
import time
from syslogng import LogSource, LogMessage

class Spin(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        x = 0
        while not self.exit:
            for _ in range(10000):
                x += 1
            if x % 1000000 == 0:
                time.sleep(0)
    def request_exit(self):
        self.exit = True

class Poster(LogSource):
    def init(self, options):
        self.exit = False
        return True
    def run(self):
        start = time.monotonic()
        for i in range(100):
            self.post_message(LogMessage(f"tick {i}"))
            time.sleep(0.005)
        self.post_message(LogMessage(f"done {time.monotonic() - start:.3f}"))
        while not self.exit:
            time.sleep(0.05)
    def request_exit(self):
        self.exit = True
'''


def config(workdir, spinners):
    text = ""
    for i in range(spinners):
        text += f'[[source]]\nname = "spin{i}"\nscript = "fair.py"\nclass = "Spin"\n\n'
    text += ('[[source]]\nname = "poster"\nscript = "fair.py"\nclass = "Poster"\n\n'
             f'[[destination]]\ntype = "file"\npath = "{workdir}/out.jsonl"\n')
    path = os.path.join(workdir, f"fair{spinners}.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def one_run(binary, cache, workdir, spinners, limit):
    out = os.path.join(workdir, "out.jsonl")
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.Popen([binary, "--cache-dir", cache, "--state-dir", os.path.join(workdir, "state"),
                          "run", config(workdir, spinners)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = None
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline and took is None:
            time.sleep(0.1)
            if not os.path.exists(out):
                continue
            for line in open(out):
                msg = json.loads(line)["MESSAGE"]
                if msg.startswith("done "):
                    took = float(msg.split()[1])
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spinners", type=int, nargs="+", default=[4, 20])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=float, default=60)
    args = ap.parse_args()
    binary = sandlog_binary()
    with tempfile.TemporaryDirectory() as workdir:
        with open(os.path.join(workdir, "fair.py"), "w") as f:
            f.write(SCRIPT)
        cache = prepared_cache(binary, workdir)
        print(f"100 posts 5 ms apart beside N spinning sources, {os.cpu_count()} CPUs")
        for n in args.spinners:
            runs = [one_run(binary, cache, workdir, n, args.limit) for _ in range(args.runs)]
            shown = ", ".join(f"{t:.2f} s" if t is not None else f"not done after {args.limit:.0f} s"
                              for t in runs)
            print(f"  N = {n}: {shown}")


if __name__ == "__main__":
    main()
