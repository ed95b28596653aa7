"""Reads /proc/self/environ and /proc/self/cmdline of the host process."""

from syslogng import LogSource

EXPECT = [
    "run() raised: FileNotFoundError",
    "run() raised: PermissionError",
    "run() raised: OSError",
]


class Hostile(LogSource):
    def run(self):
        for path in ("/proc/self/environ", "/proc/self/cmdline"):
            with open(path, "rb") as f:
                data = f.read()
            raise RuntimeError("LEAK: %s readable: %r" % (path, data[:80]))

    def request_exit(self):
        pass
