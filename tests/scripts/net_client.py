"""Tries to connect to the given addresses; posts what happened to each."""

import socket

from syslogng import LogMessage, LogSource


class NetClient(LogSource):
    def init(self, options):
        self.targets = options["targets"].split(",")
        return True

    def run(self):
        for target in self.targets:
            host, port = target.rsplit(":", 1)
            msg = LogMessage(f"connect {target}")
            try:
                s = socket.create_connection((host, int(port)), timeout=5)
                s.sendall(b"hello from the sandbox\n")
                s.close()
                msg["outcome"] = "connected"
            except OSError as e:
                msg["outcome"] = type(e).__name__
            self.post_message(msg)
        msg = LogMessage("dns")
        try:
            socket.getaddrinfo("localhost", 80)
            msg["outcome"] = "resolved"
        except OSError as e:
            msg["outcome"] = type(e).__name__
        self.post_message(msg)

    def request_exit(self):
        pass
