"""The configured name is bound to an instance, not a class."""

from syslogng import LogSource

EXPECT = ["is not a subclass of syslogng.LogSource"]


class _Real(LogSource):
    def run(self):
        raise LookupError("instance-ran")

    def request_exit(self):
        pass


Hostile = _Real()
