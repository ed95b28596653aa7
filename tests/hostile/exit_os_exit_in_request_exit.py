"""os._exit(1) from request_exit(), called while run() sleeps."""

import os
import time

from syslogng import LogSource

EXPECT = ["ended its interpreter"]


class Hostile(LogSource):
    def run(self):
        while True:
            time.sleep(0.05)

    def request_exit(self):
        os._exit(1)
