"""init() raises: the source must not start, the co-tenant must go on."""

from syslogng import LogSource

EXPECT = ["init() raised; the source does not start: ValueError: hostile-init-boom"]


class Hostile(LogSource):
    def init(self, options):
        raise ValueError("hostile-init-boom")

    def run(self):
        pass

    def request_exit(self):
        pass
