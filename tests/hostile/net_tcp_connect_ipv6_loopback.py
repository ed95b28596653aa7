"""TCP connect to [::1]:80 over IPv6, with a 2 s timeout."""

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
        s.settimeout(2)
        s.connect(("::1", 80))
        raise RuntimeError("LEAK: connected to [::1]:80")

    def request_exit(self):
        pass
