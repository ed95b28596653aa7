"""The configured class does not derive from syslogng.LogSource (it only has
the same methods)."""

EXPECT = ["is not a subclass of syslogng.LogSource"]


class Hostile:
    def run(self):
        raise LookupError("non-logsource-ran")

    def request_exit(self):
        pass
