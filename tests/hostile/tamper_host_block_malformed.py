"""Hands the host malformed message blocks: lengths beyond the data, counts
beyond the pairs, names that do not match the values, extras out of range,
closes out of order, length arrays cut short, bytes beyond ISO-8859-1."""

from array import array

from wit_world.imports import host
from wit_world.imports.types import Extras, MessageBlock

from syslogng import LogSource

EXPECT = ["tamper-contained-malformed-blocks", "the guest trapped"]


def packed(values):
    return array("I", values).tobytes().decode("latin-1")


EXTRAS = Extras([], 7, None, None, None)
BLOCKS = [
    MessageBlock("MESSAGE", "x", packed([4000000000]), packed([1]), [], None),
    MessageBlock("MESSAGE", "x", packed([1]), packed([4000000000, 1]), [], None),
    MessageBlock("MESSAGE", "x", packed([1]), packed([1]), [(4000000000, EXTRAS), (0, EXTRAS)], None),
    MessageBlock("MESSAGE", "x", packed([1]), packed([1]), [], [4000000000, 0, 0]),
    MessageBlock("MESSAGE\0SOURCE", "x", packed([1]), packed([1]), [], None),
    MessageBlock("MESSAGE", "xy", packed([1, 1]), packed([2]), [], None),
    MessageBlock("MESSAGE", "x\0y", "", packed([1]), [], None),
    MessageBlock("MESSAGE\0HOST\0SOURCE", "x\0y", "", packed([1]), [], None),
    MessageBlock("", "", packed([]), packed([0] * 1000), [], []),
    MessageBlock("MESSAGE", "x", packed([1])[:3], packed([1]), [], None),
    MessageBlock("MESSAGE", "\u0100", packed([1]), packed([1]), [], None),
]


class Hostile(LogSource):
    def run(self):
        for block in BLOCKS:
            host.post_messages(block)
        raise LookupError("tamper-contained-malformed-blocks")

    def request_exit(self):
        pass
