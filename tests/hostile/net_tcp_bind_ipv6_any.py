"""Binds TCP [::]:0 (any port, any interface) and listens."""

import socket

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "denied by policy",
]


class Hostile(LogSource):
    def run(self):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::", 0))
        s.listen(1)
        raise RuntimeError("LEAK: listening on %r" % (s.getsockname(),))

    def request_exit(self):
        pass
