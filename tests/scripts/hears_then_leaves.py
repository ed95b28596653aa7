"""Sleeps until request_exit(), then reports when it heard the request and
when its run() went on after it (wall-clock nanoseconds), so that a test can
see the order in which many stopping sources hear and leave. With the
option busy = "yes" it spins instead, ignoring the request."""
import time

from syslogng import LogMessage, LogSource


class Waiter(LogSource):
    def init(self, options):
        self.exit = False
        self.busy = options.get("busy") == "yes"
        self.heard = 0
        return True

    def run(self):
        self.post_message(LogMessage("up"))
        if self.busy:
            # A host contact hands "up" over; a pure loop makes none.
            time.sleep(0.01)
            while True:
                pass
        while not self.exit:
            time.sleep(3600)
        left = time.time_ns()
        msg = LogMessage("left")
        msg["heard"] = str(self.heard)
        msg["left"] = str(left)
        self.post_message(msg)

    def request_exit(self):
        self.heard = time.time_ns()
        self.exit = True
