"""Posts one message, then blocks in a long time.sleep until asked to exit."""

import time

from syslogng import LogMessage, LogSource


class Sleeper(LogSource):
    def init(self, options):
        self.exit = False
        self.mode = options.get("mode", "sleep")
        return True

    def run(self):
        self.post_message(LogMessage("ready"))
        while not self.exit:
            if self.mode == "select":
                import select
                select.select([], [], [], 3600)
            else:
                time.sleep(3600)
        self.post_message(LogMessage("leaving run"))

    def request_exit(self):
        print("request_exit called")
        self.exit = True

    def deinit(self):
        print("deinit called")
