"""sys.exit() in the module body while the script is being loaded."""

import sys

from syslogng import LogSource

EXPECT = ["cannot load the source: SystemExit"]

sys.exit("hostile-exit-at-import")


class Hostile(LogSource):
    def run(self):
        pass

    def request_exit(self):
        pass
