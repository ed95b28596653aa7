"""Starts a thread that would keep running after run() returns."""

import threading

from syslogng import LogSource

EXPECT = ["run() raised: RuntimeError: can't start new thread", "run() raised: RuntimeError"]


class Hostile(LogSource):
    def run(self):
        t = threading.Thread(target=lambda: None, daemon=True)
        t.start()
        raise LookupError("LEAK: a thread started")

    def request_exit(self):
        pass
