"""Sources for fairness under overload: Spin computes without end (a host
contact now and then); Poster posts `count` messages `interval` seconds
apart, then one "done SECONDS" message with the time that took by its own
clock."""

import time

from syslogng import LogMessage, LogSource


class Spin(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        x = 0
        while not self.exit:
            for _ in range(10000):
                x += 1
            if x % 1000000 == 0:
                time.sleep(0)

    def request_exit(self):
        self.exit = True


class Poster(LogSource):
    def init(self, options):
        self.exit = False
        self.count = int(options.get("count", 100))
        self.interval = float(options.get("interval", 0.005))
        return True

    def run(self):
        start = time.monotonic()
        for i in range(self.count):
            self.post_message(LogMessage(f"tick {i}"))
            time.sleep(self.interval)
        self.post_message(LogMessage(f"done {time.monotonic() - start:.3f}"))
        while not self.exit:
            time.sleep(0.05)

    def request_exit(self):
        self.exit = True
