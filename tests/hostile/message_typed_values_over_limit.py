"""Posts a message whose size is all in typed values: a list of 2000 strings
of 100 bytes and 5000 integers (no big string pair at all)."""

from syslogng import LogMessage, LogSource

EXPECT = ["exceeds max_message_size"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("typed")
        msg["list"] = ["L" * 100] * 2000
        for i in range(5000):
            msg["i%d" % i] = i
        self.post_message(msg)

    def request_exit(self):
        pass
