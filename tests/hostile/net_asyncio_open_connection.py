"""asyncio.open_connection to 127.0.0.1:22 through asyncio.run()."""

import asyncio

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "run() raised: NotImplementedError",
    "denied by policy",
]


async def attack():
    reader, writer = await asyncio.open_connection("127.0.0.1", 22)
    raise RuntimeError("LEAK: asyncio connected to 127.0.0.1:22")


class Hostile(LogSource):
    def run(self):
        asyncio.run(attack())

    def request_exit(self):
        pass
