"""Posts `n` messages whose pairs have every type an OTLP attribute keeps:
a string, an integer, a double, a boolean and a list, with a priority and
a timestamp of their own (message i: PRI 8 + i % 8, so every severity;
timestamp 2024-01-02T03:04:05+01:00 plus i seconds). With the option
`linger`, it then waits until asked to exit."""

import datetime
import time

from syslogng import LogMessage, LogSource

EAST = datetime.timezone(datetime.timedelta(hours=1))


class Typed(LogSource):
    def init(self, options):
        self.n = int(options["n"])
        self.linger = "linger" in options
        self.exit = False
        return True

    def run(self):
        start = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=EAST)
        for i in range(self.n):
            msg = LogMessage(f"message {i}")
            msg["seq"] = i
            msg["ratio"] = i / 4
            msg["even"] = i % 2 == 0
            msg["tags"] = ["a", f"t{i}"]
            msg["text"] = f"text {i}"
            msg.set_pri(8 + i % 8)
            msg.set_timestamp(start + datetime.timedelta(seconds=i))
            self.post_message(msg)
        while self.linger and not self.exit:
            time.sleep(0.05)

    def request_exit(self):
        self.exit = True
