"""Tries to write a module into the read-only stdlib mount, so that a later
import (or another tenant) would run it."""

from syslogng import LogSource

EXPECT = ["run() raised: PermissionError", "run() raised: OSError"]


class Hostile(LogSource):
    def run(self):
        with open("/python/sitecustomize.py", "w") as f:
            f.write("raise SystemExit('owned')\n")
        raise RuntimeError("LEAK: wrote into /python")

    def request_exit(self):
        pass
