"""Message flood: posts tiny messages as fast as possible forever and ignores
request_exit(); the co-tenant must still get through."""

from syslogng import LogMessage, LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("flood")
        post = self.post_message
        while True:
            post(msg)

    def request_exit(self):
        pass
