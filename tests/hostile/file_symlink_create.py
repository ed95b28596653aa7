"""Tries to create symlinks to host files inside the stdlib mount and in the
working directory."""

import os

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "run() raised: FileNotFoundError",
    "run() raised: NotImplementedError",
]


class Hostile(LogSource):
    def run(self):
        for link in ("/python/evil_link", "evil_link", "/evil_link"):
            os.symlink("/etc/passwd", link)
            raise RuntimeError("LEAK: created symlink %s" % link)

    def request_exit(self):
        pass
