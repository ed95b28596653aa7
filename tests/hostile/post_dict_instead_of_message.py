"""Posts {"MESSAGE": "a dict", "SOURCE": "healthy"} instead of a LogMessage."""

from syslogng import LogSource

EXPECT = ["run() raised: TypeError: LogMessage expected in the first parameter"]


class Hostile(LogSource):
    def run(self):
        self.post_message({"MESSAGE": "a dict", "SOURCE": "healthy"})

    def request_exit(self):
        pass
