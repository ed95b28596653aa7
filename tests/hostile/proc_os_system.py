"""os.system("id"), then os.popen("id")."""

import os

from syslogng import LogSource

EXPECT = [
    "run() raised: AttributeError",
    "run() raised: OSError",
    "run() raised: NotImplementedError",
    "run() raised: PermissionError",
    "run() raised: ModuleNotFoundError",
]


class Hostile(LogSource):
    def run(self):
        rc = os.system("id")
        raise RuntimeError("LEAK: os.system returned %r" % rc)

    def request_exit(self):
        pass
