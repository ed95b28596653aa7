"""Opens the stdlib mount as a directory fd, then opens ../etc/passwd relative
to it (openat with dir_fd), bypassing path normalisation."""

import os

from syslogng import LogSource

EXPECT = [
    "run() raised: FileNotFoundError",
    "run() raised: PermissionError",
    "run() raised: OSError",
]


class Hostile(LogSource):
    def run(self):
        dfd = os.open("/python", os.O_RDONLY)
        for rel in ("../etc/passwd", "../../etc/passwd", "/etc/passwd"):
            fd = os.open(rel, os.O_RDONLY, dir_fd=dfd)
            raise RuntimeError("LEAK: %s via dir_fd: %r" % (rel, os.read(fd, 40)))

    def request_exit(self):
        pass
