"""Replaces syslogng.LogSource with a look-alike before the loader checks the
class, so the check passes for a class that never derived from the real one."""

import syslogng

EXPECT = ["is not a subclass of syslogng.LogSource", "tamper-contained-logsource-swap"]


class Fake:
    def init(self, options):
        return True

    def run(self):
        pass

    def request_exit(self):
        pass

    def post_message(self, msg):
        raise LookupError("fake-post")


syslogng.LogSource = Fake


class Hostile(Fake):
    def run(self):
        raise LookupError("tamper-contained-logsource-swap")

    def request_exit(self):
        pass
