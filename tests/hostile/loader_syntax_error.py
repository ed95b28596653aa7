"""The script does not compile: 'break' outside a loop, a SyntaxError raised
by the compiler when sandlog loads the script."""

from syslogng import LogSource

EXPECT = ["cannot load the source: SyntaxError"]


class Hostile(LogSource):
    def run(self):
        break

    def request_exit(self):
        pass
