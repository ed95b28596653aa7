"""Memory bomb: doubles a str with s * 2 until it cannot be allocated
(64 KiB, 128 KiB, ... 1 GiB)."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "run() raised: OverflowError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        s = "x" * (1 << 16)
        while True:
            s = s * 2

    def request_exit(self):
        pass
