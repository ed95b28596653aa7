"""Posts numbered, bookmarked messages until asked to exit. Its
ConsecutiveAckTracker keeps the highest number acknowledged, which
deinit() prints as `ACKED <name> <number>`."""

import time

from syslogng import ConsecutiveAckTracker, LogMessage, LogSource


class Acked(LogSource):
    def init(self, options):
        self.name = options["name"]
        self.acked = 0
        self.exit = False
        self.ack_tracker = ConsecutiveAckTracker(self.ack)
        return True

    def ack(self, bookmark):
        self.acked = bookmark

    def run(self):
        i = 0
        while not self.exit and i < 5_000_000:
            i += 1
            msg = LogMessage(f"m{i}", bookmark=i)
            msg["seq"] = i
            self.post_message(msg)
            if i % 200 == 0:
                time.sleep(0.001)

    def request_exit(self):
        self.exit = True

    def deinit(self):
        print(f"ACKED {self.name} {self.acked}")
