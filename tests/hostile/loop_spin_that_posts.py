"""Posts in an endless loop and ignores request_exit() (it sets a flag that
the loop never reads)."""

from syslogng import LogMessage, LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        n = 0
        while True:
            self.post_message(LogMessage("spin %d" % n))
            n += 1

    def request_exit(self):
        self.exit = True
