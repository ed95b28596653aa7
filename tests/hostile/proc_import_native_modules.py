"""Imports _ctypes, ssl and _ssl one after the other (native code and TLS do
not exist in this build)."""

import importlib

from syslogng import LogSource

EXPECT = ["run() raised: ModuleNotFoundError", "run() raised: ImportError"]


class Hostile(LogSource):
    def run(self):
        for name in ("_ctypes", "ssl", "_ssl"):
            try:
                importlib.import_module(name)
            except ImportError:
                continue
            raise RuntimeError("LEAK: %s is importable" % name)
        import _ctypes  # noqa: F401 - raises again, escaping run()

    def request_exit(self):
        pass
