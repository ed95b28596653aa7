"""Binds UDP 0.0.0.0:5514 to receive datagrams from anywhere."""

import socket

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "denied by policy",
]


class Hostile(LogSource):
    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 5514))
        raise RuntimeError("LEAK: bound UDP 0.0.0.0:5514")

    def request_exit(self):
        pass
