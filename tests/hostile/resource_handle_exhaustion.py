"""Opens sockets without closing them until the handle cap (max_handles,
1024 by default) is hit."""

import socket

from syslogng import LogSource

EXPECT = ["max_handles"]


class Hostile(LogSource):
    def run(self):
        held = []
        for _ in range(5000):
            held.append(socket.socket())

    def request_exit(self):
        pass
