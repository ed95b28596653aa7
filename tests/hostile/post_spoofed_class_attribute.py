"""Posts an object whose __class__ property claims LogMessage (isinstance()
believes it) and whose pairs claim SOURCE "healthy"."""

from syslogng import LogMessage, LogSource

EXPECT = [
    "run() raised: TypeError: LogMessage expected in the first parameter",
    "tamper-contained-class-spoof",
]


class Liar:
    _x = None
    bookmark = None
    _size = 0

    def __init__(self):
        self._s = {"MESSAGE": b"forged by hostile", "SOURCE": b"healthy"}

    @property
    def __class__(self):
        return LogMessage


class Hostile(LogSource):
    def run(self):
        try:
            self.post_message(LogMessage)
        except TypeError:
            pass
        self.post_message(Liar())
        self.close_batch()
        raise LookupError("tamper-contained-class-spoof")

    def request_exit(self):
        pass
