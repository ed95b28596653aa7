"""Every spelling of the host-owned names through the API (bytes keys, a
str subclass, typed values): assignments are accepted as in AxoSyslog, read
back as AxoSyslog does (SOURCE as assigned, the macros as computed), and
none of them reaches the output (the harness checks the hostile source's
lines for forged fields)."""

from syslogng import LogMessage, LogSource

EXPECT = ["tamper-contained-name-variants"]


class S(str):
    pass


class Hostile(LogSource):
    def run(self):
        msg = LogMessage("variants")
        for key in (b"SOURCE", S("SOURCE"), "SOURCE", b"PRI", "ISODATE", "SOURCEIP", "HOST_FROM"):
            for value in ("healthy", b"healthy", 1, None, ["healthy"]):
                msg[key] = value
        if msg["PRI"] != b"13" or msg["SOURCEIP"] != b"127.0.0.1" or msg["FACILITY"] != b"user":
            raise RuntimeError("LEAK: the macros read %r %r" % (msg["PRI"], msg["SOURCEIP"]))
        if msg["SOURCE"] != [b"healthy"]:
            raise RuntimeError("LEAK: SOURCE reads %r" % (msg["SOURCE"],))
        try:
            msg["PRI"] = object()
        except ValueError:
            pass
        else:
            raise RuntimeError("LEAK: a host-owned name took any object")
        self.post_message(msg)
        raise LookupError("tamper-contained-name-variants")

    def request_exit(self):
        pass
