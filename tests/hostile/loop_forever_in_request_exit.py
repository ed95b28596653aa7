"""request_exit() itself spins forever; it is called from within run()'s
sleep, so run() never returns."""

import time

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        while True:
            time.sleep(1)

    def request_exit(self):
        while True:
            pass
