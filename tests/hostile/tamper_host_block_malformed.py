"""Hands the host malformed message blocks: lengths beyond the data, counts
beyond the pairs, extras out of range, closes out of order, split UTF-8."""

from wit_world.imports import host
from wit_world.imports.types import Extras, MessageBlock

from syslogng import LogSource

EXPECT = ["tamper-contained-malformed-blocks", "the guest trapped"]

EXTRAS = Extras([], 7, None, None, None)
BLOCKS = [
    MessageBlock("MESSAGE", [7000], b"x", [1], [1], [], None),
    MessageBlock("MESSAGE", [7], b"x", [4000000000], [1], [], None),
    MessageBlock("MESSAGE", [7], b"x", [1], [4000000000, 1], [], None),
    MessageBlock("MESSAGE", [7], b"x", [1], [1], [(4000000000, EXTRAS), (0, EXTRAS)], None),
    MessageBlock("MESSAGE", [7], b"x", [1], [1], [], [4000000000, 0, 0]),
    MessageBlock("\u00e9\u00e9", [1, 1], b"\xff\xfe", [1, 1], [2], [], None),
    MessageBlock("", [], b"", [], [0] * 1000, [], []),
    MessageBlock("AB", [2**32 - 1, 3], b"", [0, 0], [2], [], None),
]


class Hostile(LogSource):
    def run(self):
        for block in BLOCKS:
            host.post_messages(block)
        raise LookupError("tamper-contained-malformed-blocks")

    def request_exit(self):
        pass
