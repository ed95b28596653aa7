"""Posts a message with one 1 MiB value, far above max_message_size."""

from syslogng import LogMessage, LogSource

EXPECT = ["exceeds max_message_size"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("big")
        msg["blob"] = "B" * (1 << 20)
        self.post_message(msg)

    def request_exit(self):
        pass
