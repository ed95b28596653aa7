"""run(), request_exit() and deinit() all raise; init() is the only method
that behaves."""

from syslogng import LogSource

EXPECT = ["run() raised: KeyError: 'hostile-run'"]


class Hostile(LogSource):
    def init(self, options):
        return True

    def run(self):
        raise KeyError("hostile-run")

    def request_exit(self):
        raise KeyError("hostile-request-exit")

    def deinit(self):
        raise KeyError("hostile-deinit")
