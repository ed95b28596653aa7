"""Replaces print, open, __import__, repr, len and isinstance in builtins
with raising functions, then raises: sandlog reports it in that interpreter."""

import builtins

from syslogng import LogSource

EXPECT = ["tamper-contained-builtins", "the guest trapped", "ended its interpreter"]


def broken(*args, **kwargs):
    raise RuntimeError("builtin sabotaged")


class Hostile(LogSource):
    def run(self):
        for name in ("print", "open", "__import__", "repr", "len", "isinstance"):
            setattr(builtins, name, broken)
        raise LookupError("tamper-contained-builtins")

    def request_exit(self):
        pass
