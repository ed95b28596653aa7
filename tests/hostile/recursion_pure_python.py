"""Unbounded recursion of a plain Python function."""

from syslogng import LogSource

EXPECT = ["run() raised: RecursionError", "the guest trapped"]


def down(n):
    return down(n + 1) + 1


class Hostile(LogSource):
    def run(self):
        down(0)

    def request_exit(self):
        pass
