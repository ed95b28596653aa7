"""Posts N numbered messages while the destination may be away, and tells
how far it got before `hold` seconds had passed. With `mode = "suspend"`
the class can be suspended (suspend() and wakeup()), so post_message never
blocks: the script stops producing while suspended, as AxoSyslog expects."""

import time

from syslogng import LogMessage, LogSource


class Blocking(LogSource):
    def init(self, options):
        self.count = int(options["count"])
        self.hold = float(options["hold"])
        return True

    def run(self):
        started = time.monotonic()
        early = None
        for i in range(1, self.count + 1):
            msg = LogMessage(f"m{i}")
            msg["n"] = i
            self.post_message(msg)
            if early is None and time.monotonic() - started >= self.hold:
                early = i
        print(f"WINDOW blocking posted_before_hold={early}")

    def request_exit(self):
        pass


class Suspending(Blocking):
    def init(self, options):
        self.suspended = False
        self.suspends = 0
        self.wakeups = 0
        return super().init(options)

    def suspend(self):
        self.suspended = True
        self.suspends += 1

    def wakeup(self):
        self.suspended = False
        self.wakeups += 1

    def run(self):
        started = time.monotonic()
        early = None
        i = 1
        while i <= self.count:
            if self.suspended:
                time.sleep(0.05)
                continue
            msg = LogMessage(f"m{i}")
            msg["n"] = i
            self.post_message(msg)
            i += 1
            if early is None and time.monotonic() - started >= self.hold:
                early = i - 1
        print(f"WINDOW suspend posted_before_hold={early} suspends={self.suspends} wakeups={self.wakeups}")
