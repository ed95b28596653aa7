"""import ctypes, to call libc directly."""

from syslogng import LogSource

EXPECT = ["run() raised: ModuleNotFoundError", "run() raised: ImportError"]


class Hostile(LogSource):
    def run(self):
        import ctypes

        raise RuntimeError("LEAK: ctypes imported: %r" % ctypes.CDLL)

    def request_exit(self):
        pass
