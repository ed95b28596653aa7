"""The class derives from LogSource but does not implement request_exit()."""

from syslogng import LogSource

EXPECT = ["does not implement the mandatory request_exit() method"]


class Hostile(LogSource):
    def run(self):
        raise LookupError("missing-request-exit-ran")
