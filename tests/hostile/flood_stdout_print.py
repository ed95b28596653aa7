"""Floods the host log through print(): 64 KiB lines without end, and
request_exit() ignored; lines must be cut and the flood bounded by the grace."""

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        line = "P" * (64 << 10)
        while True:
            print(line)

    def request_exit(self):
        pass
