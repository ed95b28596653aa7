"""Writes to stdout forever without a newline, so the partial line keeps
growing unless the guest cuts it."""

import sys

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        chunk = "Q" * 4096
        while True:
            sys.stdout.write(chunk)

    def request_exit(self):
        pass
