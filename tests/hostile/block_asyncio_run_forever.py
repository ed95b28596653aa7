"""An asyncio loop whose run_forever() ignores stop requests. The loop needs a
loopback socketpair, which is denied, so creating it should fail."""

import asyncio

from syslogng import LogSource

EXPECT = [
    "run() raised: PermissionError",
    "run() raised: OSError",
    "run() raised: NotImplementedError",
    "did not return within the exit grace",
]


class Hostile(LogSource):
    def run(self):
        loop = asyncio.new_event_loop()
        loop.call_soon(lambda: None)
        while True:
            loop.run_forever()

    def request_exit(self):
        pass
