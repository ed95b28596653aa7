"""The module body spins forever while the script is loaded (before the
class even exists); a SIGTERM must still end it within the exit grace."""

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]

while True:
    pass


class Hostile(LogSource):
    def run(self):
        pass

    def request_exit(self):
        pass
