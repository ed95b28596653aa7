"""run() raises an exception whose __str__ and __repr__ raise themselves, so
reporting it fails inside sandlog's own error path."""

from syslogng import LogSource

EXPECT = ["run() raised", "the guest trapped", "ended its interpreter"]


class Nasty(Exception):
    def __str__(self):
        raise RuntimeError("no str for you")

    def __repr__(self):
        raise RuntimeError("no repr for you")


class Hostile(LogSource):
    def run(self):
        raise Nasty()

    def request_exit(self):
        pass
