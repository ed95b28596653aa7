"""Assigns msg["SOURCE"] = "healthy" through the public API."""

from syslogng import LogMessage, LogSource

EXPECT = ["run() raised: ValueError: SOURCE is computed by sandlog"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("forged")
        msg["SOURCE"] = "healthy"
        self.post_message(msg)

    def request_exit(self):
        pass
