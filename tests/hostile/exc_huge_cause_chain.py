"""run() raises the last of 10000 chained exceptions (raise ... from ...):
formatting the report walks the whole chain and floods the host log."""

from syslogng import LogSource

EXPECT = [
    "run() raised: ValueError: link 9999",
    "run() raised: MemoryError",
    "did not return within the exit grace",
    "the guest trapped",
]


class Hostile(LogSource):
    def run(self):
        previous = None
        for i in range(10000):
            try:
                raise ValueError("link %d" % i) from previous
            except ValueError as e:
                previous = e
        raise previous

    def request_exit(self):
        pass
