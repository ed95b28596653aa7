"""A server-style source, written exactly as for AxoSyslog's python() source."""

import datetime
import json
import time

from syslogng import LogMessage, LogSource


class Hello(LogSource):
    def init(self, options):
        self.count = int(options.get("count", "5"))
        self.interval = float(options.get("interval", "0.1"))
        self.exit = False
        return True

    def run(self):
        for seq in range(self.count):
            if self.exit:
                break
            msg = LogMessage(f"hello from a sandbox, message {seq}")
            msg["seq"] = seq
            msg["PROGRAM"] = "hello"
            msg["details"] = json.dumps({"even": seq % 2 == 0})
            msg.set_timestamp(datetime.datetime.now(datetime.timezone.utc))
            self.post_message(msg)
            time.sleep(self.interval)

    def request_exit(self):
        self.exit = True
