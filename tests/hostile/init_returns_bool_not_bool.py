"""init() returns an object whose __bool__ returns a str (a TypeError for
bool())."""

from syslogng import LogSource

EXPECT = ["init() raised; the source does not start: TypeError"]


class Verdict:
    def __bool__(self):
        return "yes"


class Hostile(LogSource):
    def init(self, options):
        return Verdict()

    def run(self):
        raise LookupError("run-called-although-init-verdict-was-bad")

    def request_exit(self):
        pass
