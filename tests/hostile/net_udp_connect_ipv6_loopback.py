"""UDP connect + send to [::1]:514 (the syslog port)."""

import socket

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "denied by policy",
]


class Hostile(LogSource):
    def run(self):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.connect(("::1", 514))
        s.send(b"<13>forged syslog line")
        raise RuntimeError("LEAK: sent a UDP datagram to [::1]:514")

    def request_exit(self):
        pass
