"""Keeps posting after request_exit(), and posts more from inside
request_exit() itself."""

from syslogng import LogMessage, LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        while True:
            msg = LogMessage("after exit" if self.exit else "before exit")
            self.post_message(msg)

    def request_exit(self):
        self.exit = True
        for i in range(1000):
            self.post_message(LogMessage("from request_exit %d" % i))
