"""run() returns at once, then deinit() spins forever."""

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        pass

    def request_exit(self):
        pass

    def deinit(self):
        while True:
            pass
