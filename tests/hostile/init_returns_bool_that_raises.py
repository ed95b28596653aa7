"""init() returns an object whose __bool__ raises: judging the verdict must
not crash the loader."""

from syslogng import LogSource

EXPECT = ["init() raised; the source does not start: RuntimeError: bool-bomb"]


class Verdict:
    def __bool__(self):
        raise RuntimeError("bool-bomb")


class Hostile(LogSource):
    def init(self, options):
        return Verdict()

    def run(self):
        raise LookupError("run-called-although-init-verdict-raised")

    def request_exit(self):
        pass
