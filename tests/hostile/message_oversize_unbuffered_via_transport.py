"""Posts an oversized message right after set_transport_name() (which
flushes), then a second one in the same buffer as a small one."""

from syslogng import LogMessage, LogSource

EXPECT = ["exceeds max_message_size"]


class Hostile(LogSource):
    def run(self):
        self.set_transport_name("big")
        self.post_message(LogMessage("small"))
        self.post_message(LogMessage(b"Z" * (80 << 10)))

    def request_exit(self):
        pass
