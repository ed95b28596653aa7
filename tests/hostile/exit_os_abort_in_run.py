"""os.abort() in run(): a fatal interpreter abort."""

import os

from syslogng import LogSource

EXPECT = ["ended its interpreter", "the guest trapped", "run() raised: AttributeError"]


class Hostile(LogSource):
    def run(self):
        os.abort()

    def request_exit(self):
        pass
