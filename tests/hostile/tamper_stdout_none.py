"""Sets sys.stdout and sys.stderr to None (the loader flushes them after
every call), then raises a marker."""

import sys

from syslogng import LogSource

EXPECT = ["tamper-contained-stdout", "the guest trapped", "ended its interpreter"]


class Hostile(LogSource):
    def run(self):
        sys.stdout = None
        sys.stderr = None
        raise LookupError("tamper-contained-stdout")

    def request_exit(self):
        pass
