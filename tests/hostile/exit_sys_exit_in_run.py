"""sys.exit(3) in run(): SystemExit must be reported, not end sandlog."""

import sys

from syslogng import LogSource

EXPECT = ["run() raised: SystemExit: 3"]


class Hostile(LogSource):
    def run(self):
        sys.exit(3)

    def request_exit(self):
        pass
