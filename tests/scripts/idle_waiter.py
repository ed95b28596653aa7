"""Posts "up", then waits without a timeout in the way its `mode` option
names until request_exit(); posts "left <mode>" when the wait is over."""

import asyncio
import select
import selectors
import socket
import time

from syslogng import LogMessage, LogSource


class Waiter(LogSource):
    def init(self, options):
        self.mode = options["mode"]
        self.exit = False
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.loop = None
        return True

    def run(self):
        self.post_message(LogMessage("up"))
        mode = self.mode
        if mode == "accept":
            try:
                self.sock.accept()
            except OSError:
                pass
        elif mode == "select":
            while not self.exit:
                select.select([self.sock], [], [])
        elif mode == "selectors":
            sel = selectors.DefaultSelector()
            sel.register(self.sock, selectors.EVENT_READ)
            while not self.exit:
                sel.select()
        elif mode == "asyncio":
            self.loop = asyncio.new_event_loop()

            async def handle(reader, writer):
                writer.close()

            self.loop.run_until_complete(asyncio.start_server(handle, sock=self.sock))
            self.loop.run_forever()
        elif mode == "sleep":
            while not self.exit:
                time.sleep(3600)
        self.post_message(LogMessage("left " + mode))

    def request_exit(self):
        self.exit = True
        if self.mode == "accept":
            self.sock.close()
        elif self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
