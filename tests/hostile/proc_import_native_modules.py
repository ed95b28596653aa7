"""Imports _ctypes (native code does not exist in this build), and checks
that ssl and _ssl, which do, are sandlog's pure-Python module over the
host's TLS, not native code."""

import importlib

from syslogng import LogSource

EXPECT = ["run() raised: ModuleNotFoundError"]


class Hostile(LogSource):
    def run(self):
        import ssl
        import _ssl
        if not _ssl.__file__.endswith("_ssl.py") or ssl._ssl is not _ssl:
            raise RuntimeError("LEAK: _ssl is not sandlog's module: %r" % (_ssl.__file__,))
        importlib.import_module("_ctypes")
        raise RuntimeError("LEAK: _ctypes is importable")

    def request_exit(self):
        pass
