"""Replaces _sandlog.runtime's buffers with wrong types (None, an int, a
string), then posts: the failure must stay inside this source."""

from _sandlog import runtime

from syslogng import LogMessage, LogSource

EXPECT = ["run() raised: AttributeError", "run() raised: TypeError"]


class Hostile(LogSource):
    def run(self):
        runtime._names = None
        runtime._values = 42
        runtime._counts = "counts"
        runtime.capacity = 1
        self.post_message(LogMessage("into corrupted buffers"))

    def request_exit(self):
        pass
