"""Memory bomb: [None] * 10**9, a list larger than the whole 32-bit address
space of the guest."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "run() raised: OverflowError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        self.cells = [None] * (10**9)

    def request_exit(self):
        pass
