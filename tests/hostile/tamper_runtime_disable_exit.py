"""Disables exit delivery inside the guest (deliver_exit, poll_exit are
no-ops), then waits for an exit request that never comes."""

import time

from _sandlog import runtime

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        runtime.deliver_exit = lambda: None
        runtime.poll_exit = lambda: False
        while not self.exit:
            time.sleep(0.05)

    def request_exit(self):
        self.exit = True
