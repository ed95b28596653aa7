"""Memory bomb in init(): the source must not start, the co-tenant must not
notice."""

from syslogng import LogSource

EXPECT = ["init() raised; the source does not start: MemoryError", "the guest trapped"]


class Hostile(LogSource):
    def init(self, options):
        chunks = []
        while True:
            chunks.append(b"y" * (1 << 20))

    def run(self):
        pass

    def request_exit(self):
        pass
