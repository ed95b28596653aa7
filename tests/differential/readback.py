"""Reads values back from LogMessage objects and posts what it observed, one
observation per name-value pair, so comparing the posted messages compares
read-back semantics (types, missing names, keys(), the optional methods).

Written for syslog-ng 3.x semantics: run it under `@version: 3.38` and under
sandlog with `config_version = "3.38"`.
"""

from syslogng import LogMessage, LogSource


def observe(fn):
    """The value's repr, or the name of the exception reading it raised."""
    try:
        return repr(fn())
    except Exception as exc:  # noqa: BLE001 - the exception type is the observation
        return "raises " + type(exc).__name__


class Readback(LogSource):
    def init(self, options):
        self.options_seen = repr(sorted(options.items()))
        self.options_type = type(options).__name__
        self.parse_options_in_init = type(getattr(self, "parse_options", None)).__name__
        return True

    def run(self):
        out = LogMessage("readback")
        out["options"] = self.options_seen
        out["options_type"] = self.options_type
        out["persist_name"] = observe(lambda: self.persist_name)
        out["parse_options_in_init"] = self.parse_options_in_init

        msg = LogMessage("the message")
        msg["s"] = "text"
        msg["b"] = b"raw bytes"
        msg["u"] = "\u00e9t\u00e9"
        msg["bad"] = b"\xff\xfe"
        msg["empty"] = ""
        msg["over"] = "one"
        msg["over"] = "two"
        msg["PROGRAM"] = "prog"

        out["str_type"] = type(msg["s"]).__name__
        out["str_value"] = observe(lambda: msg["s"])
        out["bytes_value"] = observe(lambda: msg["b"])
        out["unicode_value"] = observe(lambda: msg["u"])
        out["non_utf8_value"] = observe(lambda: msg["bad"])
        out["empty_value"] = observe(lambda: msg["empty"])
        out["overwritten_value"] = observe(lambda: msg["over"])
        out["message_value"] = observe(lambda: msg["MESSAGE"])
        out["program_value"] = observe(lambda: msg["PROGRAM"])
        out["missing_value"] = observe(lambda: msg["no_such_name"])
        out["missing_pid"] = observe(lambda: msg["PID"])
        out["bytes_key"] = observe(lambda: msg[b"s"])
        out["empty_message"] = observe(lambda: LogMessage()["MESSAGE"])
        out["bytes_message"] = observe(lambda: LogMessage(b"\x00nul")["MESSAGE"])

        keys = msg.keys()
        out["keys_type"] = type(keys).__name__
        out["keys_item_type"] = type(keys[0]).__name__ if keys else "empty"
        set_names = [b"MESSAGE", b"s", b"b", b"u", b"bad", b"empty", b"over", b"PROGRAM"]
        out["keys_has_set_names"] = repr([n for n in set_names if n not in keys])
        out["keys_only_set_names"] = repr(set(keys) <= set(set_names))
        out["keys_unique"] = repr(len(keys) == len(set(keys)))

        # Optional parts of the API, present in one implementation or not.
        for name in ("get", "get_as_str", "get_pri", "get_timestamp",
                     "set_source_ipaddress", "set_recvd_rawmsg_size"):
            out["has_" + name] = repr(hasattr(msg, name))
        if hasattr(msg, "get_as_str"):
            out["get_as_str_value"] = observe(lambda: msg.get_as_str("s"))
        if hasattr(msg, "get"):
            out["get_missing"] = observe(lambda: msg.get("no_such_name", "dflt"))
        out["contains"] = observe(lambda: "s" in msg)

        # `del msg[k]` is not observed: it crashes syslog-ng 3.38 (SIGSEGV).

        out["set_int"] = observe(lambda: msg.__setitem__("n", 1))
        out["set_non_string_key"] = observe(lambda: msg.__setitem__(1, "v"))
        out["new_from_int"] = observe(lambda: LogMessage(5))
        self.post_message(out)

    def request_exit(self):
        pass
