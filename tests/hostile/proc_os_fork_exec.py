"""Checks that os.fork, execv, posix_spawn and spawnv do not exist, then
calls os.fork() anyway."""

import os

from syslogng import LogSource

EXPECT = ["run() raised: AttributeError", "run() raised: OSError"]


class Hostile(LogSource):
    def run(self):
        for name in ("fork", "execv", "posix_spawn", "spawnv"):
            if hasattr(os, name):
                raise RuntimeError("LEAK: os.%s exists" % name)
        os.fork()

    def request_exit(self):
        pass
