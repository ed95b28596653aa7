"""TCP connect to 127.0.0.1:22 (the host's sshd, if any)."""

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
        s.settimeout(2)
        s.connect(("127.0.0.1", 22))
        raise RuntimeError("LEAK: connected to 127.0.0.1:22")

    def request_exit(self):
        pass
