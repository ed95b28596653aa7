"""A server-style source posting one message per case; each message carries
its case name in `case`, so the two runs can be compared message by message.

Runs unchanged under syslog-ng 3.38's python() source and under sandlog.
run() returns after posting: sandlog then ends the source; syslog-ng keeps
running until the test stops it.
"""

import datetime

from syslogng import LogMessage, LogSource

UTC = datetime.timezone.utc
PLUS2 = datetime.timezone(datetime.timedelta(hours=2))
MINUS5 = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))

TYPED = [
    ("int", 42),
    ("negative_int", -7),
    ("big_int", 2**62),
    ("float", 2.5),
    ("float_fraction", 0.1),
    ("true", True),
    ("false", False),
    ("none", None),
    ("list", ["a", "b", "c"]),
    ("datetime", datetime.datetime(2024, 3, 1, 12, 34, 56, 789000, tzinfo=UTC)),
]


def as_text(value):
    """What a script written for syslog-ng 3.x stores instead of a typed value
    (3.x accepts only str/bytes). The text is the one the comparison expects
    for sandlog's typed JSON value (see tests/differential/README.md)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="microseconds")
    return str(value)


def case(name, text=None):
    msg = LogMessage(text if text is not None else "case " + name)
    msg["case"] = name
    return msg


class Server(LogSource):
    def init(self, options):
        self.options = dict(options)
        return True

    def run(self):
        self.post_message(case("str", "text from a str: caf\u00e9 \u2603"))
        self.post_message(case("bytes", b"text from bytes: caf\xc3\xa9"))

        msg = case("values")
        msg["custom"] = "a custom value"
        msg["from_bytes"] = b"bytes value"
        msg["spaces"] = "  leading and trailing  "
        msg["quote"] = 'say "hi" \\ backslash'
        msg["newline"] = "line one\nline two"
        msg["unicode"] = "\u00e1rv\u00edzt\u0171r\u0151 \U0001f600"
        msg["option"] = self.options.get("greeting", "missing option")
        msg["overwritten"] = "first"
        msg["overwritten"] = "second"
        self.post_message(msg)

        # Typed values: syslog-ng 3.x (and sandlog with config_version below
        # 4.0) refuse them with ValueError; the script then stores the text.
        msg = case("typed")
        errors = case("typed_errors")
        for name, value in TYPED:
            try:
                msg[name] = value
                errors[name] = "stored"
            except Exception as exc:  # noqa: BLE001 - the type is what we compare
                errors[name] = type(exc).__name__
                msg[name] = as_text(value)
        self.post_message(msg)
        self.post_message(errors)

        for pri in (0, 13, 165, 191):
            msg = case("pri_%d" % pri)
            msg.set_pri(pri)
            self.post_message(msg)

        stamps = [
            ("ts_utc", datetime.datetime(2024, 3, 1, 12, 34, 56, tzinfo=UTC)),
            ("ts_plus2", datetime.datetime(2024, 3, 1, 12, 34, 56, 123456, tzinfo=PLUS2)),
            ("ts_minus530", datetime.datetime(2024, 3, 1, 12, 34, 56, tzinfo=MINUS5)),
            ("ts_naive", datetime.datetime(2024, 7, 1, 8, 0, 0)),
        ]
        for name, stamp in stamps:
            msg = case(name)
            msg.set_timestamp(stamp)
            self.post_message(msg)

        msg = case("header")
        msg["HOST"] = "scripted-host"
        msg["PROGRAM"] = "scripted-prog"
        msg["PID"] = "4242"
        msg["MSGID"] = "ID47"
        self.post_message(msg)

        msg = case("non_utf8", b"bad \xff\xfe bytes \xc3\x28 end")
        msg["raw"] = b"\x80abc\xe9"
        self.post_message(msg)

        # set_transport_name() is AxoSyslog's; syslog-ng 3.38 lacks it.
        msg = case("transport")
        if hasattr(self, "set_transport_name"):
            self.set_transport_name("scripted-transport")
            msg["has_set_transport_name"] = "yes"
        else:
            msg["has_set_transport_name"] = "no"
        self.post_message(msg)

        self.post_message(case("last"))

    def request_exit(self):
        pass
