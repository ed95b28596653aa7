"""init() returns None, a false value: the source must not start (run()
would raise if it were called)."""

from syslogng import LogSource

EXPECT = ["init() returned a false value"]


class Hostile(LogSource):
    def init(self, options):
        return None

    def run(self):
        raise LookupError("run-called-although-init-returned-false")

    def request_exit(self):
        pass
