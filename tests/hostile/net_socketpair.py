"""socket.socketpair(), which needs a loopback TCP listener under WASI."""

import socket

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "run() raised: NotImplementedError",
    "denied by policy",
]


class Hostile(LogSource):
    def run(self):
        a, b = socket.socketpair()
        raise RuntimeError("LEAK: socketpair works: %r" % (a.getsockname(),))

    def request_exit(self):
        pass
