"""Binds 127.0.0.1 port 0 (allowed: that is how outgoing sockets get a
port) and then listens on it, which no `network.listen` pattern grants."""

import socket

from syslogng import LogSource

EXPECT = ["run() raised: PermissionError"]


class Hostile(LogSource):
    def run(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        raise RuntimeError("LEAK: listening on %r" % (s.getsockname(),))

    def request_exit(self):
        pass
