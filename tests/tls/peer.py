"""A native TLS peer for the TLS tests (host CPython with OpenSSL), on
127.0.0.1 only. Prints `PORT <n>` once it listens, then serves until it is
killed.

    peer.py https CERT KEY [CLIENT_CA]   HTTPS; with CLIENT_CA, client
                                        certificates are required
    peer.py plain                        plain HTTP (a peer that does not
                                        speak TLS)
    peer.py reset                        accepts, reads the ClientHello and
                                        resets the connection

HTTPS and plain HTTP answer:
    GET /text/WORDS         the words, as text
    GET /chunked/N          N bytes (a repeating pattern) in 64 KiB chunks
    GET /bytes/N            N bytes with a Content-Length, in 1 MiB writes
    GET /peer               the subject of the client's certificate
    POST /echo              the body
"""

import http.server
import socket
import socketserver
import ssl
import struct
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, body, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.strip("/").split("/", 1)
        if parts[0] == "text":
            self._send(parts[1].encode() if len(parts) > 1 else b"")
        elif parts[0] == "chunked":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pattern = bytes(range(256)) * 256
            sent = 0
            while sent < n:
                chunk = pattern[: min(len(pattern), n - sent)]
                self.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        elif parts[0] == "bytes":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = bytes(range(256)) * 4096
            sent = 0
            while sent < n:
                chunk = block[: min(len(block), n - sent)]
                self.wfile.write(chunk)
                sent += len(chunk)
        elif parts[0] == "peer":
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            subject = dict(x[0] for x in cert["subject"]) if cert else {}
            self._send(subject.get("commonName", "none").encode())
        else:
            self.send_error(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self._send(self.rfile.read(n))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def reset_peer(listener):
    while True:
        conn, _ = listener.accept()
        conn.recv(5)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


def main():
    mode = sys.argv[1]
    if mode == "reset":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        print("PORT", listener.getsockname()[1], flush=True)
        reset_peer(listener)
        return
    server = Server(("127.0.0.1", 0), Handler)
    if mode == "https":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        if len(sys.argv) > 4:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(sys.argv[4])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
