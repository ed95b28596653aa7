"""Memory bomb: b"".join of 1024 references to one 1 MiB block, a 1 GiB
result from a tiny list."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "run() raised: OverflowError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        block = b"x" * (1 << 20)
        self.big = b"".join([block] * 1024)

    def request_exit(self):
        pass
