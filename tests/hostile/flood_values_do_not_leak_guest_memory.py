"""Posts 100 MiB of message values (6400 x 16 KiB, more than the 64 MiB memory
limit) and then stops: posted bytes must not stay allocated in the guest."""

from syslogng import LogMessage, LogSource

EXPECT = ["posted-100mib-ok"]


class Hostile(LogSource):
    def run(self):
        body = b"v" * (16 << 10)
        for _ in range(6400):
            self.post_message(LogMessage(body))
        raise LookupError("posted-100mib-ok")

    def request_exit(self):
        pass
