"""Calls the host import post_message directly with a message whose pairs
claim SOURCE "healthy" and other computed names (PRI, ISODATE)."""

from array import array

from wit_world.imports import host
from wit_world.imports.types import MessageBlock

from syslogng import LogSource

EXPECT = ["tamper-contained-host-post"]


def packed(values):
    return array("I", values).tobytes().decode("latin-1")


class Hostile(LogSource):
    def run(self):
        names = ["MESSAGE", "SOURCE", "HOST", "PRI", "ISODATE"]
        values = ["forged", "healthy", "elsewhere", "0", "1970-01-01T00:00:00+00:00"]
        block = MessageBlock("\0".join(names), "".join(values),
                             packed(map(len, values)), packed([len(names)]), [], None)
        host.post_message(block)
        host.close_batch()
        raise LookupError("tamper-contained-host-post")

    def request_exit(self):
        pass
