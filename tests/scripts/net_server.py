"""A server-style source: TCP and UDP listeners on the port from options,
one message per line or datagram received."""

import socket

from syslogng import LogMessage, LogSource


class NetServer(LogSource):
    def init(self, options):
        port = int(options["port"])
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", port))
        self.tcp.listen(4)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", port))
        self.exit = False
        return True

    def run(self):
        self.set_transport_name("udp")
        data, peer = self.udp.recvfrom(4096)
        msg = LogMessage(data)
        msg.set_source_ipaddress(peer[0])
        self.post_message(msg)
        self.set_transport_name("tcp")
        conn, peer = self.tcp.accept()
        buf = b""
        while not self.exit:
            chunk = conn.recv(4096)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.post_message(LogMessage(line))
        conn.close()
        self.post_message(LogMessage("connection closed"))
        while not self.exit:
            import time
            time.sleep(1)

    def request_exit(self):
        self.exit = True
