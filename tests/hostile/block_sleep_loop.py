"""Blocks in time.sleep(3600) forever; request_exit() is a no-op, so the
early wake-up only starts the next sleep."""

import time

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        while True:
            time.sleep(3600)

    def request_exit(self):
        pass
