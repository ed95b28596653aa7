"""Replaces LogSource.post_message and _sandlog.runtime.post_message with
functions that drop or duplicate messages; only this source is affected."""

from _sandlog import runtime

from syslogng import LogMessage, LogSource

EXPECT = ["tamper-contained-post-message"]


class Hostile(LogSource):
    def run(self):
        real = runtime.post_message
        LogSource.post_message = lambda self, msg: None
        runtime.post_message = lambda self, msg: (real(self, msg), real(self, msg))
        for i in range(10):
            self.post_message(LogMessage("dropped %d" % i))
        raise LookupError("tamper-contained-post-message")

    def request_exit(self):
        pass
