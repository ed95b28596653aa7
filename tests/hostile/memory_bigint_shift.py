"""Memory bomb: 1 << 10**10, an integer of ten billion bits (1.25 GB)."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "run() raised: OverflowError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        self.n = 1 << (10**10)

    def request_exit(self):
        pass
