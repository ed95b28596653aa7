"""Calls set_transport_name() with a new name before every post, forever:
each call is a host call that also closes the pending batch."""

from syslogng import LogMessage, LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        n = 0
        while True:
            self.set_transport_name("t%d" % n)
            self.post_message(LogMessage("x"))
            n += 1

    def request_exit(self):
        pass
