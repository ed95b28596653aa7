"""init() spins forever: the source never reaches run(); a SIGTERM must
still end it within the exit grace."""

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def init(self, options):
        while True:
            pass

    def run(self):
        pass

    def request_exit(self):
        pass
