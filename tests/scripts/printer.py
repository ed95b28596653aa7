import sys

from syslogng import LogMessage, LogSource


class Printer(LogSource):
    def run(self):
        print("hello from print")
        print("to stderr", file=sys.stderr)
        self.post_message(LogMessage("the only message"))

    def request_exit(self):
        pass
