"""Bypasses the guest's max_message_size check by calling the host imports
directly with a 1 MiB value (post_message and post_messages)."""

from array import array

from wit_world.imports import host
from wit_world.imports.types import MessageBlock

from syslogng import LogSource

EXPECT = ["refused a message over max_message_size"]


def packed(values):
    return array("I", values).tobytes().decode("latin-1")


class Hostile(LogSource):
    def run(self):
        big = "O" * (1 << 20)
        block = MessageBlock("MESSAGE", big, packed([len(big)]), packed([1]), [], None)
        host.post_message(block)
        host.close_batch()
        host.post_messages(block)
        raise LookupError("oversized-message-accepted-by-host")

    def request_exit(self):
        pass
