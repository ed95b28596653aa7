"""Replaces syslogng.LogMessage (and syslogng.message.LogMessage) with a fake
class and posts an instance of it."""

import syslogng
import syslogng.message

from syslogng import LogSource

EXPECT = ["run() raised: TypeError: LogMessage expected in the first parameter"]


class Fake:
    _x = None
    bookmark = None

    def __init__(self, text):
        self._s = {"MESSAGE": text.encode(), "SOURCE": b"healthy"}


class Hostile(LogSource):
    def run(self):
        syslogng.LogMessage = Fake
        syslogng.message.LogMessage = Fake
        self.post_message(syslogng.LogMessage("forged"))

    def request_exit(self):
        pass
