"""Exercises the LogMessage API inside the sandbox; any deviation raises,
which the test sees as a failed run() and missing messages."""

import datetime

from syslogng import LogMessage, LogSource

UTC = datetime.timezone.utc


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    raise AssertionError(f"{fn} did not raise {exc.__name__}")


class ApiCheck(LogSource):
    def init(self, options):
        expect(options == {"alpha": "1", "beta": "two"}, f"options {options!r}")
        return True

    def run(self):
        m = LogMessage()
        raises(KeyError, lambda: m["MESSAGE"])
        expect(m.get("MESSAGE") is None and m.get("x", 5) == 5, "get default")
        expect(m.get_pri() == 13, "default pri")
        expect(LogMessage("text")["MESSAGE"] == b"text", "str message reads back as bytes")
        expect(LogMessage(b"\xff")["MESSAGE"] == b"\xff", "bytes message")

        m = LogMessage("typed values")
        m["str"] = "caf\u00e9"
        m["bytes"] = b"raw\xffbytes"
        # A NUL in a value makes its block carry value lengths.
        m["nul"] = b"before\x00after"
        m["empty"] = b""
        raises(ValueError, lambda: m.__setitem__("a\x00b", "x"))
        m["int"] = -42
        m["big"] = 2**62
        m["float"] = 2.5
        m["yes"] = True
        m["no"] = False
        m["none"] = None
        m["list"] = ["a", b"b", "c,d"]
        m["when"] = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
        expect(m["str"] == "caf\u00e9".encode(), "str reads back as bytes")
        expect(m["int"] == -42 and type(m["int"]) is int, "int")
        expect(m["float"] == 2.5, "float")
        expect(m["yes"] is True and m["no"] is False, "bool")
        expect(m["none"] is None, "none")
        expect(m["list"] == [b"a", b"b", b"c,d"], f"list {m['list']!r}")
        expect(m["when"] == datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), "datetime")
        expect(m.get_as_str("int") == "-42", "get_as_str int")
        expect(m.get_as_str("yes") == "true", "get_as_str bool")
        expect(m.get_as_str("float") == "2.500000", "get_as_str float")
        expect(m.get_as_str("missing", "dflt") == "dflt", "get_as_str default")
        expect("int" in m and "nope" not in m, "contains")
        expect(set(m.keys()) >= {b"MESSAGE", b"str", b"int", b"list"}, "keys are bytes")
        raises(ValueError, m.__setitem__, "bad", {"a": 1})
        raises(ValueError, m.__setitem__, "bad", (1, 2))
        raises(TypeError, m.__setitem__, 5, "x")
        raises(OverflowError, m.__setitem__, "huge", 2**70)
        # As in AxoSyslog: SOURCE may be assigned and reads back, but the
        # output has the source's own name (checked by the test).
        m["SOURCE"] = "someone-else"
        expect(m["SOURCE"] == b"someone-else", "SOURCE reads back")
        raises(ValueError, m.__setitem__, "SOURCE", {"a": 1})
        m["gone"] = "x"
        del m["gone"]
        raises(KeyError, lambda: m["gone"])
        m.set_pri(165)
        expect(m.get_pri() == 165, "set_pri")
        expect(m["PRI"] == b"165" and m["FACILITY"] == b"local4" and m["SEVERITY"] == b"notice",
               "PRI, FACILITY, SEVERITY read as the macros")
        raises(ValueError, m.set_pri, 500)
        expect(m.set_source_ipaddress("192.0.2.7") is True, "source ip")
        expect(m.set_source_ipaddress("not-an-ip") is False, "bad source ip")
        m.set_recvd_rawmsg_size(99)
        self.post_message(m)

        # Timestamps: aware keeps its offset, naive is UTC.
        aware = LogMessage("aware")
        east = datetime.timezone(datetime.timedelta(hours=2))
        aware.set_timestamp(datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=east))
        expect(aware.get_timestamp() == datetime.datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC), "aware ts")
        self.post_message(aware)
        naive = LogMessage("naive")
        naive.set_timestamp(datetime.datetime(2024, 1, 2, 3, 4, 5))
        self.post_message(naive)
        raises(ValueError, naive.set_timestamp, "yesterday")

        # A posted message is a snapshot: later changes do not leak into it.
        reused = LogMessage("first")
        self.post_message(reused)
        reused["MESSAGE"] = "second"
        self.post_message(reused)

        raises(TypeError, self.post_message, "not a message")
        raises(TypeError, self.post_message, {"MESSAGE": "dict"})

        custom = LogMessage("custom host")
        custom["HOST"] = "elsewhere"
        custom["PROGRAM"] = "prog"
        custom["PID"] = "123"
        self.post_message(custom)

    def request_exit(self):
        pass
