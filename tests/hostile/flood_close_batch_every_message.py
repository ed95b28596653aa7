"""Message flood with manual batching: every message closes its own batch,
the most host calls per message a script can cause."""

from syslogng import LogMessage, LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def init(self, options):
        self.auto_close_batches = False
        return True

    def run(self):
        msg = LogMessage("batch")
        while True:
            self.post_message(msg)
            self.close_batch()

    def request_exit(self):
        pass
