"""The class derives from LogSource but does not implement run()."""

from syslogng import LogSource

EXPECT = ["does not implement the mandatory run() method"]


class Hostile(LogSource):
    def request_exit(self):
        pass
