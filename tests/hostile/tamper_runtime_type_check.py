"""Points _sandlog.runtime's LogMessage at object, so its type check accepts
anything, then posts a fake whose pairs claim SOURCE "healthy"."""

from _sandlog import runtime

from syslogng import LogSource

EXPECT = ["tamper-contained-runtime-check"]


class Fake:
    _x = None
    bookmark = None
    _size = 0

    def __init__(self):
        self._s = {"MESSAGE": b"forged via runtime", "SOURCE": b"healthy"}


class Hostile(LogSource):
    def run(self):
        runtime.LogMessage = object
        self.post_message(Fake())
        runtime.flush()
        raise LookupError("tamper-contained-runtime-check")

    def request_exit(self):
        pass
