"""Memory bomb: a list of a hundred million small dicts (many small
allocations instead of one large one)."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        self.rows = [{"i": i, "s": str(i)} for i in range(10**8)]

    def request_exit(self):
        pass
