"""Name lookup when it is denied: socket.getaddrinfo("example.com", 80)."""

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
        infos = socket.getaddrinfo("example.com", 80)
        raise RuntimeError("LEAK: resolved example.com: %r" % (infos[:1],))

    def request_exit(self):
        pass
