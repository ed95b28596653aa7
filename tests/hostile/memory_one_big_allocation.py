"""Memory bomb: asks for one 1 GiB buffer in a single allocation, far above
the 64 MiB memory limit."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        self.buf = bytearray(1 << 30)

    def request_exit(self):
        pass
