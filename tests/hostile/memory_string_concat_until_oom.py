"""Memory bomb: doubles a str with s = s + s until the allocation fails; the
interpreter must fail with MemoryError (or trap), not corrupt its heap."""

from syslogng import LogSource

EXPECT = ["run() raised: MemoryError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        s = "x" * (1 << 16)
        while True:
            s = s + s

    def request_exit(self):
        pass
