"""os.kill(1, 9) (init), then os.kill of the parent process."""

import os

from syslogng import LogSource

EXPECT = [
    "run() raised: AttributeError",
    "run() raised: OSError",
    "run() raised: PermissionError",
    "run() raised: ProcessLookupError",
]


class Hostile(LogSource):
    def run(self):
        os.kill(1, 9)
        os.kill(os.getppid(), 9)
        raise RuntimeError("LEAK: os.kill returned")

    def request_exit(self):
        pass
