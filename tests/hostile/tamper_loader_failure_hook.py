"""Replaces the loader's exception formatter (sandlog_guest._failure) with
one that raises, then raises in run()."""

import sys

from syslogng import LogSource

EXPECT = ["the guest trapped", "ended its interpreter", "run() raised: ValueError"]


def broken(exc):
    raise ZeroDivisionError("failure hook sabotaged")


class Hostile(LogSource):
    def run(self):
        sys.modules["sandlog_guest"]._failure = broken
        raise ValueError("hostile-run-error")

    def request_exit(self):
        pass
