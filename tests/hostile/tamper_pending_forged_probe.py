"""Registers its own copy of the probe (its contents are no secret) around
forged lists: a SOURCE pair, a HOST_FROM pair, a 1 MiB value; then spins
past the exit grace so that the host reads them."""

from array import array

from _sandlog import hostcalls
from _sandlog.hostcalls import PendingArea
from _sandlog_shared import PENDING_PROBE_BYTES, PENDING_PROBE_STR, PENDING_PROBE_WORD

from syslogng import LogMessage, LogSource

EXPECT = ["refused a message over max_message_size"]

probe = [PENDING_PROBE_STR, PENDING_PROBE_BYTES, array("I", [PENDING_PROBE_WORD])]
names = ["SOURCE", "MESSAGE", "HOST_FROM", "SOURCE", "MESSAGE"]
values = [b"healthy", b"forged pairs", b"elsewhere", b"healthy", b"x" * (1 << 20)]
counts = array("I", [3, 2])
handed = array("Q", [0])


class Hostile(LogSource):
    def run(self):
        self.post_message(LogMessage("buffered"))
        hostcalls.register_pending(PendingArea(id(names), id(values), id(counts), id(handed), id(probe)))
        while True:
            pass

    def request_exit(self):
        pass
