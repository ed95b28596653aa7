"""Calls the raw select.select that sandlog saved in its internals, which
blocks in WASI poll_oneoff without exit-aware slices."""

from _sandlog import blocking

from syslogng import LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        while True:
            blocking._real_select([], [], [], 3600)

    def request_exit(self):
        pass
