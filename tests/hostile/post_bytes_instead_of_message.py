"""Posts b"raw bytes" instead of a LogMessage."""

from syslogng import LogSource

EXPECT = ["run() raised: TypeError: LogMessage expected in the first parameter"]


class Hostile(LogSource):
    def run(self):
        self.post_message(b"raw bytes")

    def request_exit(self):
        pass
