"""request_exit() raises (after setting the flag run() waits for): the error
is logged and run() still ends."""

import time

from syslogng import LogSource

EXPECT = ["request_exit() raised:"]


class Hostile(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        while not self.exit:
            time.sleep(0.05)

    def request_exit(self):
        self.exit = True
        raise RuntimeError("hostile-request-exit-boom")
