"""Posts an object of an unrelated class that has every attribute a
LogMessage has (_s, _x, _message, ...), claiming SOURCE healthy."""

from syslogng import LogSource

EXPECT = ["run() raised: TypeError: LogMessage expected in the first parameter"]


class LogMessage:
    _x = None
    bookmark = None
    _typed = None

    def __init__(self):
        self._s = {"MESSAGE": b"forged", "SOURCE": b"healthy"}

    def _message(self):
        raise LookupError("lookalike-was-accepted")

    def _extras(self):
        raise LookupError("lookalike-was-accepted")


class Hostile(LogSource):
    def run(self):
        self.post_message(LogMessage())

    def request_exit(self):
        pass
