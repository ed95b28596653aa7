"""Memory bomb: grows a list by 1 MiB chunks until the memory limit is hit,
keeping every chunk alive (also while the MemoryError is reported)."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        chunks = []
        while True:
            chunks.append(bytearray(1 << 20))

    def request_exit(self):
        pass
