"""An asyncio TCP server: one message per line; request_exit stops the
loop from the source's thread as AxoSyslog code does from its own."""

import asyncio

from syslogng import LogMessage, LogSource


class AsyncServer(LogSource):
    def init(self, options):
        self.port = int(options["port"])
        self.loop = None
        return True

    async def handle(self, reader, writer):
        while line := await reader.readline():
            self.post_message(LogMessage(line.rstrip(b"\n")))
        writer.close()

    async def main(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        self.post_message(LogMessage("listening"))
        async with server:
            await asyncio.Event().wait()

    def run(self):
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self.main())
        except RuntimeError:
            pass
        self.post_message(LogMessage("loop stopped"))

    def request_exit(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
