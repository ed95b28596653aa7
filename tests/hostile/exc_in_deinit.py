"""deinit() raises after run() returned normally."""

from syslogng import LogSource

EXPECT = ["deinit() raised: OSError: hostile-deinit-boom"]


class Hostile(LogSource):
    def run(self):
        pass

    def request_exit(self):
        pass

    def deinit(self):
        raise OSError("hostile-deinit-boom")
