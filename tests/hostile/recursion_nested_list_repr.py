"""C-level recursion: repr() of a list nested a million levels deep
(list_repr calls itself in C, on the wasm stack)."""

from syslogng import LogSource

EXPECT = ["run() raised: RecursionError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        nested = []
        for _ in range(10**6):
            nested = [nested]
        repr(nested)

    def request_exit(self):
        pass
