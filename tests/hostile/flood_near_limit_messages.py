"""Message flood of large messages just under max_message_size (60 KiB each),
forever, ignoring request_exit(): the host queues must stay bounded."""

from syslogng import LogMessage, LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage(b"F" * (60 << 10))
        while True:
            self.post_message(msg)

    def request_exit(self):
        pass
