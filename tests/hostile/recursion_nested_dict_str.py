"""C-level recursion: str() of dicts nested a million levels deep, mixed with
tuples so that several C repr functions take part."""

from syslogng import LogSource

EXPECT = ["run() raised: RecursionError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        nested = {}
        for i in range(10**6):
            nested = {"k": (nested,)} if i % 2 else {"k": nested}
        str(nested)

    def request_exit(self):
        pass
