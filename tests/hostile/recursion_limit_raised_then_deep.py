"""sys.setrecursionlimit(10**6), then unbounded Python recursion; reporting
the million-frame traceback may itself outlast the exit grace."""

import sys

from syslogng import LogSource

EXPECT = [
    "run() raised: RecursionError",
    "run() raised: MemoryError",
    "the guest trapped",
    "did not return within the exit grace",
]


def down(n):
    return down(n + 1) + 1


class Hostile(LogSource):
    def run(self):
        sys.setrecursionlimit(10**6)
        down(0)

    def request_exit(self):
        pass
