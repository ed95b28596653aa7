"""os._exit(0) in run(): must end only this source's instance, not sandlog."""

import os

from syslogng import LogMessage, LogSource

EXPECT = ["ended its interpreter"]


class Hostile(LogSource):
    def run(self):
        self.post_message(LogMessage("about to _exit"))
        os._exit(0)

    def request_exit(self):
        pass
