"""Calls the host import post_messages directly with a block of 50 messages
that each claim SOURCE "healthy"."""

from array import array

from wit_world.imports import host
from wit_world.imports.types import MessageBlock

from syslogng import LogSource

EXPECT = ["tamper-contained-host-block"]


def packed(values):
    return array("I", values).tobytes().decode("latin-1")


class Hostile(LogSource):
    def run(self):
        n = 50
        names = "\0".join(["MESSAGE", "SOURCE"] * n)
        values = "forgedhealthy" * n
        block = MessageBlock(names, values, packed([6, 7] * n),
                             packed([2] * n), [], None)
        host.post_messages(block)
        raise LookupError("tamper-contained-host-block")

    def request_exit(self):
        pass
