"""run() raises an exception whose __str__ never returns: sandlog's error
reporting runs inside the guest and must still be bounded by the grace."""

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Stuck(Exception):
    def __str__(self):
        while True:
            pass


class Hostile(LogSource):
    def run(self):
        raise Stuck()

    def request_exit(self):
        pass
