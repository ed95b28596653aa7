"""Recursion in the parser/compiler: compiles an expression nested 100000
levels deep (-(-(-...1)))."""

from syslogng import LogSource

EXPECT = [
    "run() raised: RecursionError",
    "run() raised: SyntaxError",
    "run() raised: MemoryError",
    "the guest trapped",
]


class Hostile(LogSource):
    def run(self):
        compile("-" * 100000 + "1", "<deep>", "eval")

    def request_exit(self):
        pass
