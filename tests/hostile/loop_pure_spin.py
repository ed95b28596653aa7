"""Pure computation loop that never posts, sleeps or waits and ignores
request_exit(): only the exit grace can stop it."""

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        n = 0
        while True:
            n += 1

    def request_exit(self):
        pass
