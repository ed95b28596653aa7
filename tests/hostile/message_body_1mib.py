"""Posts a message whose MESSAGE itself is 1 MiB of bytes."""

from syslogng import LogMessage, LogSource

EXPECT = ["exceeds max_message_size"]


class Hostile(LogSource):
    def run(self):
        self.post_message(LogMessage(b"M" * (1 << 20)))

    def request_exit(self):
        pass
