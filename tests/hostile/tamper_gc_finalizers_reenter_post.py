"""gc threshold 1 and thousands of cycles whose __del__ posts a message: the
finalizers run at arbitrary points, including inside sandlog's own flush."""

import gc

from syslogng import LogMessage, LogSource

EXPECT = ["tamper-contained-finalizers", "malformed message block"]


class Cycle:
    source = None

    def __init__(self):
        self.me = self

    def __del__(self):
        Cycle.source.post_message(LogMessage("from __del__"))


class Hostile(LogSource):
    def run(self):
        Cycle.source = self
        gc.set_threshold(1, 1, 1)
        for i in range(20000):
            Cycle()
            self.post_message(LogMessage("main %d" % i))
        gc.collect()
        raise LookupError("tamper-contained-finalizers")

    def request_exit(self):
        pass
