"""Sleeps in a loop that swallows every BaseException (KeyboardInterrupt,
SystemExit, GeneratorExit...) and never looks at request_exit()."""

import time

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        while True:
            try:
                time.sleep(0.01)
            except BaseException:
                pass

    def request_exit(self):
        pass
