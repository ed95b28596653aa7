"""Binds and listens on TCP 127.0.0.1:8514, then accepts (a backdoor port)."""

import socket

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "denied by policy",
]


class Hostile(LogSource):
    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 8514))
        s.listen(5)
        raise RuntimeError("LEAK: listening on 127.0.0.1:8514")

    def request_exit(self):
        pass
