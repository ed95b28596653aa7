"""raise a custom BaseException subclass (not an Exception) in run()."""

from syslogng import LogSource

EXPECT = ["run() raised: Escape: not an Exception"]


class Escape(BaseException):
    pass


class Hostile(LogSource):
    def run(self):
        raise Escape("not an Exception")

    def request_exit(self):
        pass
