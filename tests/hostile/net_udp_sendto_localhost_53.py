"""UDP sendto 127.0.0.1:53, a DNS query to a local resolver."""

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
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
        s.sendto(query, ("127.0.0.1", 53))
        raise RuntimeError("LEAK: sent a UDP datagram to 127.0.0.1:53")

    def request_exit(self):
        pass
