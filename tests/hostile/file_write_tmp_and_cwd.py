"""Tries to create files in /tmp and in the working directory (nothing is
writable)."""

from syslogng import LogSource

EXPECT = [
    "run() raised: FileNotFoundError",
    "run() raised: PermissionError",
    "run() raised: OSError",
]


class Hostile(LogSource):
    def run(self):
        for path in ("/tmp/sandlog-owned", "sandlog-owned", "/sandlog-owned"):
            with open(path, "w") as f:
                f.write("owned")
            raise RuntimeError("LEAK: created %s" % path)

    def request_exit(self):
        pass
