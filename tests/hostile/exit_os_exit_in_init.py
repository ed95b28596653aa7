"""os._exit(7) in init(): must end only this source's instance."""

import os

from syslogng import LogSource

EXPECT = ["ended its interpreter"]


class Hostile(LogSource):
    def init(self, options):
        os._exit(7)

    def run(self):
        pass

    def request_exit(self):
        pass
