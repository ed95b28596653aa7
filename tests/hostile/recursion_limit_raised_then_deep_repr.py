"""sys.setrecursionlimit(10**6), then C recursion through __repr__ of nested
objects, which takes Python and C frames in turn."""

import sys

from syslogng import LogSource

EXPECT = [
    "run() raised: RecursionError",
    "run() raised: MemoryError",
    "the guest trapped",
]


class Node:
    def __init__(self, inner):
        self.inner = inner

    def __repr__(self):
        return "N(%r)" % (self.inner,)


class Hostile(LogSource):
    def run(self):
        sys.setrecursionlimit(10**6)
        node = None
        for _ in range(500000):
            node = Node(node)
        repr(node)

    def request_exit(self):
        pass
