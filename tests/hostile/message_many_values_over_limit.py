"""Posts a message of 100 values of 1 KiB each: every value is small, the
message (100 KiB) is not."""

from syslogng import LogMessage, LogSource

EXPECT = ["exceeds max_message_size"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("many")
        for i in range(100):
            msg["v%d" % i] = "x" * 1024
        self.post_message(msg)

    def request_exit(self):
        pass
