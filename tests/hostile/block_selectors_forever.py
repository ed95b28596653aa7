"""Blocks in selectors.DefaultSelector().select() without a timeout and with
nothing registered; request_exit() is a no-op."""

import selectors

from syslogng import LogSource

EXPECT = ["did not return within the exit grace", "run() raised: OSError", "run() raised: ValueError"]


class Hostile(LogSource):
    def run(self):
        sel = selectors.DefaultSelector()
        while True:
            sel.select()

    def request_exit(self):
        pass
