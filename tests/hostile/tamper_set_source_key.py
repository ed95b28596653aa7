"""Assigns msg["SOURCE"] = "healthy" through the public API (AxoSyslog
accepts it, and its own name wins on output): the assignment reads back in
the script, and the host still writes the source's own name."""

from syslogng import LogMessage, LogSource

EXPECT = ["run() raised: LookupError: tamper-contained-source-key"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("forged")
        msg["SOURCE"] = "healthy"
        msg["HOST_FROM"] = "elsewhere"
        if msg["SOURCE"] != b"healthy" or msg["HOST_FROM"] != b"elsewhere":
            raise RuntimeError("LEAK: the assignment does not read back: %r" % (msg["SOURCE"],))
        self.post_message(msg)
        # The harness counts the lines with SOURCE healthy: a forged one fails it.
        raise LookupError("tamper-contained-source-key")

    def request_exit(self):
        pass
