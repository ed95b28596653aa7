"""Blocks in select.select([], [], [], 3600) forever with no descriptors;
request_exit() is a no-op."""

import select

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        while True:
            select.select([], [], [], 3600)

    def request_exit(self):
        pass
