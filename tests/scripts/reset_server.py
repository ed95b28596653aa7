"""A server whose first client resets the connection at once: the blocking
calls on that socket fail with OSError, an asyncio server gets the next
client as usual, and the source goes on."""

import asyncio
import socket

from syslogng import LogMessage, LogSource


class ResetServer(LogSource):
    def init(self, options):
        self.port = int(options["port"])
        self.done = None
        return True

    def say(self, text):
        self.post_message(LogMessage(text))

    def run(self):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(8)
        self.say("listening")
        conn, _ = srv.accept()
        try:
            # Read until the reset arrives, so that the calls below meet it.
            while conn.recv(100):
                pass
            self.say("recv: end of stream")
        except OSError as e:
            self.say(f"recv: {type(e).__name__}")
        try:
            conn.getpeername()
            self.say("getpeername: ok")
        except OSError as e:
            self.say(f"getpeername: {type(e).__name__}")
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        # Either way (Linux lets a reset socket be shut down), the source
        # goes on.
        self.say("shutdown: done")
        conn.close()
        asyncio.run(self.serve_async(srv))

    async def serve_async(self, srv):
        done = self.done = asyncio.Event()

        async def handle(reader, writer):
            peer = writer.get_extra_info("peername")
            data = await reader.read(100)
            if data:
                self.say(f"asyncio: {data.decode().strip()} from {'a peer' if peer else 'nobody'}")
                done.set()
            writer.close()

        server = await asyncio.start_server(handle, sock=srv)
        self.say("asyncio listening")
        async with server:
            await done.wait()

    def request_exit(self):
        # Called between the waits of the loop, on its thread.
        if self.done is not None:
            self.done.set()
