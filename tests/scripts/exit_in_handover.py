"""Computes while the exit request arrives, then posts and sleeps: the
request comes back with the hand-over of that post, at the start of the
sleep, and the sleep must end for it."""

import time

from syslogng import LogMessage, LogSource


class ExitInHandover(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        self.post_message(LogMessage("computing"))
        time.sleep(0)
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            pass
        self.post_message(LogMessage("computed"))
        while not self.exit:
            time.sleep(3600)
        self.post_message(LogMessage("leaving run"))

    def request_exit(self):
        self.exit = True
