"""Tries every spelling of the computed names through the API: bytes keys, a
str subclass, typed values, del/get; all must be refused."""

from syslogng import LogMessage, LogSource

EXPECT = ["tamper-contained-name-variants"]


class S(str):
    pass


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("variants")
        for key in (b"SOURCE", S("SOURCE"), "SOURCE", b"PRI", "ISODATE", "SOURCEIP"):
            for value in ("healthy", b"healthy", 1, None, ["healthy"]):
                try:
                    msg[key] = value
                except (ValueError, TypeError):
                    continue
                raise RuntimeError("LEAK: set %r = %r" % (key, value))
        self.post_message(msg)
        raise LookupError("tamper-contained-name-variants")

    def request_exit(self):
        pass
