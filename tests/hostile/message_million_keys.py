"""Sets a million keys on one message, then posts it."""

from syslogng import LogMessage, LogSource

EXPECT = ["exceeds max_message_size", "run() raised: MemoryError", "the guest trapped"]
WAIT = 30


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("keys")
        for i in range(10**6):
            msg["k%d" % i] = ""
        self.post_message(msg)

    def request_exit(self):
        pass
