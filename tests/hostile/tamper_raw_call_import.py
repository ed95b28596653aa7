"""Calls componentize_py_runtime.call_import directly with every import
index and garbage arguments."""

import componentize_py_runtime

from syslogng import LogSource

EXPECT = ["tamper-contained-raw-import", "run() raised", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        for index in range(64):
            for args in ([], [None], ["x" * 100, 2**70], [b"\xff" * 10, {}, object()]):
                try:
                    componentize_py_runtime.call_import(index, args, 1)
                except Exception:
                    pass
        raise LookupError("tamper-contained-raw-import")

    def request_exit(self):
        pass
