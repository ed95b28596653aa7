"""run() raises an ordinary exception deep in a call chain after posting."""

from syslogng import LogMessage, LogSource

EXPECT = ["run() raised: ZeroDivisionError: division by zero"]


class Hostile(LogSource):
    def run(self):
        self.post_message(LogMessage("before the error"))
        self.divide(1, 0)

    def divide(self, a, b):
        return a / b

    def request_exit(self):
        pass
