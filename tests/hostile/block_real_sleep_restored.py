"""Undoes sandlog's exit-aware time.sleep by importing a fresh copy of the
time module, then blocks in the raw WASI sleep for an hour, forever."""

import importlib
import sys

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        patched = sys.modules.pop("time")
        raw = importlib.import_module("time")
        sys.modules["time"] = patched
        while True:
            raw.sleep(3600)

    def request_exit(self):
        pass
