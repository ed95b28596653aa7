"""The class derives from LogSource but does not implement request_exit()."""

from syslogng import LogSource

EXPECT = ["does not implement request_exit(): a stop ends its run() only when the exit grace has passed"]


class Hostile(LogSource):
    def run(self):
        raise LookupError("missing-request-exit-ran")
