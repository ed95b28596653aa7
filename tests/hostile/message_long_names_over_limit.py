"""Posts a message of 1000 pairs with 255-character names and empty values:
the names alone are 250 KiB."""

from syslogng import LogMessage, LogSource

EXPECT = ["exceeds max_message_size"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage()
        for i in range(1000):
            msg[("%04d" % i) + "n" * 251] = ""
        self.post_message(msg)

    def request_exit(self):
        pass
