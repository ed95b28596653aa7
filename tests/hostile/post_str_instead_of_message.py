"""Posts "just a string" instead of a LogMessage."""

from syslogng import LogSource

EXPECT = ["run() raised: TypeError: LogMessage expected in the first parameter"]


class Hostile(LogSource):
    def run(self):
        self.post_message("just a string")

    def request_exit(self):
        pass
