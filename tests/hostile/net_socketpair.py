"""socket.socketpair() with no network granted: under WASI it would need a
loopback listener; sandlog's pair stays inside the sandbox."""

import socket

from syslogng import LogSource

EXPECT = ["run() raised: LookupError: socketpair-stays-in-the-sandbox"]


class Hostile(LogSource):
    def run(self):
        a, b = socket.socketpair()
        a.sendall(b"ping")
        if b.recv(16) != b"ping":
            raise RuntimeError("LEAK: the pair does not carry data")
        if a.getsockname() or a.fileno() < (1 << 24):
            raise RuntimeError("LEAK: the pair is a host socket: %r" % (a.getsockname(),))
        raise LookupError("socketpair-stays-in-the-sandbox")

    def request_exit(self):
        pass
