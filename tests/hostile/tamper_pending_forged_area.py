"""Registers forged buffer addresses (out of memory, then every one the
probe's), then spins past the exit grace so that the host reads what it
was last told."""

from _sandlog import hostcalls, runtime
from _sandlog.hostcalls import PendingArea

from syslogng import LogMessage, LogSource

EXPECT = ["cannot take the messages the guest had not handed over"]


class Hostile(LogSource):
    def run(self):
        self.post_message(LogMessage("buffered"))
        hostcalls.register_pending(PendingArea(0xFFFFFFF0, 0xFFFFFFFC, 1, 2, 3))
        hostcalls.register_pending(PendingArea(*[id(runtime._probe)] * 5))
        while True:
            pass

    def request_exit(self):
        pass
