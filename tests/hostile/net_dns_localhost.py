"""Name lookup of "localhost" (gethostbyname and getaddrinfo)."""

import socket

from syslogng import LogSource

EXPECT = [
    "run() raised: gaierror",
    "run() raised: PermissionError",
    "run() raised: OSError",
    "denied by policy",
]


class Hostile(LogSource):
    def run(self):
        addr = socket.gethostbyname("localhost")
        infos = socket.getaddrinfo("localhost", 22)
        raise RuntimeError("LEAK: resolved localhost: %r %r" % (addr, infos[:1]))

    def request_exit(self):
        pass
