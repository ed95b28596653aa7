"""Undoes sandlog's exit-aware time.sleep by reloading the time module from
scratch, then blocks in the raw WASI sleep for an hour."""

import importlib
import sys
import time

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        del sys.modules["time"]
        raw = importlib.import_module("time")
        importlib.reload(time)
        while True:
            raw.sleep(3600)
            time.sleep(3600)

    def request_exit(self):
        pass
