"""Writes SOURCE "healthy" (as a string and as a typed value) straight into
LogMessage's internal dicts, bypassing __setitem__'s check, and posts both."""

from wit_world.imports.types import TypedValue_Integer

from syslogng import LogMessage, LogSource

EXPECT = ["tamper-contained-setitem-bypass"]


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("forged via _s")
        msg._s["SOURCE"] = b"healthy"
        self.post_message(msg)
        typed = LogMessage("forged via _typed")
        typed["n"] = 1
        typed._x.typed["SOURCE"] = TypedValue_Integer(0)
        typed._s["HOST"] = b"healthy-host"
        self.post_message(typed)
        self.close_batch()
        raise LookupError("tamper-contained-setitem-bypass")

    def request_exit(self):
        pass
