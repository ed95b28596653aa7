"""init() returns a truthy non-bool object (a non-empty list): as in
AxoSyslog the source starts; run() then raises a marker to show it ran."""

from syslogng import LogSource

EXPECT = ["run() raised: LookupError: init-truthy-ran"]


class Hostile(LogSource):
    def init(self, options):
        return ["not", "a", "bool"]

    def run(self):
        raise LookupError("init-truthy-ran")

    def request_exit(self):
        pass
