"""Posts N numbered messages in bursts with a short pause between them,
so that a test can cut the destination off while messages still flow."""

import time

from syslogng import LogMessage, LogSource


class Paced(LogSource):
    def init(self, options):
        self.n = int(options["n"])
        self.burst = int(options.get("burst", "500"))
        self.pause = float(options.get("pause", "0.02"))
        return True

    def run(self):
        for i in range(self.n):
            msg = LogMessage(b"paced %d" % i)
            msg["seq"] = str(i)
            self.post_message(msg)
            if i % self.burst == self.burst - 1:
                time.sleep(self.pause)

    def request_exit(self):
        pass
