"""Installs a trace and a profile function that raise on every event: the
loader's own Python code runs under them too."""

import sys

from syslogng import LogSource

EXPECT = ["tamper-contained-settrace", "run() raised", "the guest trapped"]


def tracer(frame, event, arg):
    if frame.f_code.co_filename != __file__:
        raise RuntimeError("traced and sabotaged")
    return tracer


class Hostile(LogSource):
    def run(self):
        sys.settrace(tracer)
        sys.setprofile(tracer)
        raise LookupError("tamper-contained-settrace")

    def request_exit(self):
        pass
