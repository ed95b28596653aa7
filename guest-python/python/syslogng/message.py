"""LogMessage: a log message built by a script, typed as AxoSyslog types it.

String values (str and bytes) are kept as bytes, the way AxoSyslog stores
and returns them; other values keep their Python type and cross to the host
typed. Keeping the two apart makes the common case (strings) cost one dict
entry, and posting a message one record.
"""

import datetime as _dt

from wit_world.imports import types as _t

from _sandlog_shared import HOST_OWNED_NAMES, MAX_NAME_CHARS, NATIVE_MESSAGE_PATH

if NATIVE_MESSAGE_PATH:
    # Built with the guest (guest-python/native/): a failing import breaks
    # the build instead of leaving the guest on the slow path unnoticed.
    import _sandlog_native as _native
else:
    _native = None


_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)

# Names whose value the host owns in every message it writes. As in
# AxoSyslog a script may assign them, but the value never leaves the
# script's message ("shadow" values): SOURCE and HOST_FROM read back as
# assigned, the others read as AxoSyslog's macros, computed from the
# message. SOURCE in every output is the source's configured name.
_COMPUTED = HOST_OWNED_NAMES
_READ_BACK = frozenset(("SOURCE", "HOST_FROM"))
_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
               "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
               "local2", "local3", "local4", "local5", "local6", "local7")
_SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_MAX_NAME = MAX_NAME_CHARS

_Integer = _t.TypedValue_Integer
_Double = _t.TypedValue_Double
_Boolean = _t.TypedValue_Boolean
_Null = _t.TypedValue_Null
_List = _t.TypedValue_List
_Datetime = _t.TypedValue_Datetime
_Timestamp = _t.Timestamp
_Extras = _t.Extras

# syslog-ng 3.x compatibility (a source whose config version is below
# 4.0): values read back as bytes, a missing name reads as b"", and only
# str and bytes may be set. Set once by the loader.
compat_3x = False

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


# Names already validated, so that setting a familiar name costs one set
# lookup. Bounded: a script inventing names forever only loses the shortcut.
_known_names = set()
_KNOWN_NAMES_MAX = 4096


def _name(key):
    """Validates a name-value pair name; returns it as str."""
    tk = type(key)
    if tk is bytes:
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("name-value pair names must be UTF-8") from None
    elif tk is not str:
        if not isinstance(key, str):
            raise TypeError("key is not a string object")
        # A str subclass, as AxoSyslog takes it: its characters, as a plain
        # str (join reads them without calling the subclass's methods).
        key = "".join((key,))
        if type(key) is not str:
            raise TypeError("key is not a string object")
    if not key:
        raise ValueError("name-value pair names must not be empty")
    if len(key) > _MAX_NAME:
        raise ValueError(f"name-value pair names cannot be longer than {_MAX_NAME} characters")
    if "\0" in key:
        # A name ends at a NUL in syslog-ng; here names cross to the host
        # joined by NUL.
        raise ValueError("name-value pair names must not contain NUL characters")
    return key


def _settable(key):
    """A validated name; familiar ones are remembered (host-owned names
    never are, so that setting one always takes the long way)."""
    key = _name(key)
    if key not in _COMPUTED and len(_known_names) < _KNOWN_NAMES_MAX:
        _known_names.add(key)
    return key


def _to_timestamp(value):
    """A WIT timestamp from a datetime (naive means UTC)."""
    offset = value.utcoffset()
    if offset is None:
        aware = value.replace(tzinfo=_UTC)
        offset_secs = 0
    else:
        aware = value
        offset_secs = int(offset.total_seconds())
    delta = aware - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
    return _Timestamp(micros, offset_secs)


def _from_timestamp(ts):
    tz = _UTC if ts.offset_secs == 0 else _dt.timezone(_dt.timedelta(seconds=ts.offset_secs))
    return (_EPOCH + _dt.timedelta(microseconds=ts.micros)).astimezone(tz)


def _list_item(item):
    ti = type(item)
    if ti is str:
        return item
    if ti is bytes:
        # List items cross as text: bytes that are not UTF-8 become \xNN
        # escapes, as in the JSON output.
        return item.decode("utf-8", "backslashreplace")
    raise ValueError("Error extracting value from str/bytes")


def _typed(value):
    """The WIT typed value for a non-string Python value, as AxoSyslog
    types it; anything else raises ValueError as AxoSyslog does."""
    tv = type(value)
    if tv is int:
        if value < _I64_MIN or value > _I64_MAX:
            raise OverflowError("Python int too large to convert to C long")
        return _Integer(value)
    if tv is float:
        return _Double(value)
    if tv is bool:
        return _Boolean(value)
    if value is None:
        return _Null()
    if tv is list:
        return _List([_list_item(i) for i in value])
    if isinstance(value, _dt.datetime):
        return _Datetime(_to_timestamp(value))
    raise ValueError("Error extracting value from Python object")


def _untyped(tv):
    """The Python value of a WIT typed value, as a script reads it back."""
    if type(tv) is _List:
        return [i.encode("utf-8") for i in tv.value]
    if type(tv) is _Datetime:
        return _from_timestamp(tv.value)
    if type(tv) is _Null:
        return None
    return tv.value


def _as_text(tv):
    """The text AxoSyslog renders a typed value as (get_as_str)."""
    t = type(tv)
    if t is _Boolean:
        return "true" if tv.value else "false"
    if t is _Double:
        return "%f" % tv.value
    if t is _Null:
        return ""
    if t is _List:
        return ",".join(tv.value)
    if t is _Datetime:
        ms = tv.value.micros // 1000
        return "%d.%03d" % (ms // 1000, ms % 1000)
    return str(tv.value)


class _Rare:
    """The parts of a message that few messages have; a message gets one
    the first time it sets any of them."""

    __slots__ = ("typed", "pri", "ts", "addr", "raw_size", "bookmark", "shadow")

    def __init__(self):
        self.typed = self.pri = self.ts = self.addr = self.raw_size = self.bookmark = None
        # Values assigned to host-owned names: kept here, never posted.
        self.shadow = None


class LogMessage(object if _native is None else _native.Message):
    """A log message: name-value pairs plus priority, timestamp and origin."""

    # Every message has its string pairs and their size (characters of
    # names, bytes of values, kept as they change so that posting checks
    # max_message_size without summing; typed values are counted when
    # posted). The rarely set parts (_x) stay None until a message sets
    # one, which is what tells the hot path to take the long way. Slots
    # only, as AxoSyslog's type: every attribute read is a slot read. With
    # the native path, the slots are those of its base type.
    __slots__ = ("_s", "_size", "_x") if _native is None else ()

    def __init__(self, message=None, bookmark=None):
        tm = type(message)
        if tm is bytes:
            self._s = {"MESSAGE": message}
            self._size = len(message) + 7
        elif tm is str:
            message = message.encode()
            self._s = {"MESSAGE": message}
            self._size = len(message) + 7
        elif message is None:
            self._s = {}
            self._size = 0
        elif isinstance(message, (bytes, memoryview)):
            message = bytes(message)
            self._s = {"MESSAGE": message}
            self._size = len(message) + 7
        else:
            raise TypeError(
                f"argument 1 must be str, bytes-like object or None, not {tm.__name__}")
        self._x = None
        if bookmark is not None:
            self.bookmark = bookmark

    def __setitem__(self, key, value):
        if type(key) is not str or key not in _known_names:
            key = _settable(key)
            if key in _COMPUTED:
                self._set_shadow(key, value)
                return
        tv = type(value)
        if tv is str:
            value = value.encode()
        elif tv is not bytes:
            if compat_3x:
                raise ValueError(
                    f"str or bytes object expected as log message values, got type {tv.__name__} (key {key}). "
                    "Earlier syslog-ng accepted any type, implicitly converting it to a string. "
                    "Later syslog-ng (at least 4.0) will store the value with the correct type. "
                    "With this version please convert it explicitly to string/bytes")
            typed = _typed(value)
            old = self._s.pop(key, None)
            if old is not None:
                self._size -= len(old) + len(key)
            x = self._rare()
            if x.typed is None:
                x.typed = {}
            x.typed[key] = typed
            return
        pairs = self._s
        old = pairs.get(key)
        pairs[key] = value
        self._size += len(value) + len(key) if old is None else len(value) - len(old)
        x = self._x
        if x is not None and x.typed is not None:
            x.typed.pop(key, None)

    def __getitem__(self, key):
        if type(key) is not str:
            key = _name(key)
        try:
            return self._s[key]
        except KeyError:
            if key in _COMPUTED:
                return self._computed(key)
            typed = self._typed_pairs()
            if typed is not None and key in typed:
                if compat_3x:
                    return _as_text(typed[key]).encode()
                return _untyped(typed[key])
        if compat_3x:
            return b""
        raise KeyError(f"No such name-value pair {key}")

    def __delitem__(self, key):
        key = _name(key)
        if key in _COMPUTED:
            shadow = self._x.shadow if self._x is not None else None
            if not shadow or shadow.pop(key, None) is None:
                raise KeyError(f"No such name-value pair {key}")
            return
        old = self._s.pop(key, None)
        found = old is not None
        if found:
            self._size -= len(old) + len(key)
        typed = self._typed_pairs()
        if typed is not None and typed.pop(key, None) is not None:
            found = True
        if not found:
            raise KeyError(f"No such name-value pair {key}")

    def __contains__(self, key):
        try:
            key = _name(key)
        except (TypeError, ValueError):
            return False
        if key in _COMPUTED:
            if key not in _READ_BACK:
                return True
            shadow = self._x.shadow if self._x is not None else None
            return bool(shadow) and key in shadow
        typed = self._typed_pairs()
        return key in self._s or (typed is not None and key in typed)

    def keys(self):
        """Names of the pairs set on this message, as bytes (as AxoSyslog)."""
        names = [k.encode() for k in self._s]
        typed = self._typed_pairs()
        if typed:
            names.extend(k.encode() for k in typed)
        shadow = self._x.shadow if self._x is not None else None
        if shadow:
            names.extend(k.encode() for k in shadow)
        return names

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def get_as_str(self, key, default=None, encoding="utf-8", errors="strict", repr="internal"):
        """The value as text, whatever its type; `default` when unset."""
        for arg, what in ((encoding, "encoding"), (errors, "errors"), (repr, "repr")):
            if type(arg) is not str:
                raise TypeError(f"{what} must be str")
        key = _name(key)
        value = self._s.get(key)
        if value is not None:
            return value.decode(encoding, errors)
        if key in _COMPUTED:
            try:
                value = self._computed(key)
            except KeyError:
                value = None
            if value is not None:
                if type(value) is bytes:
                    return value.decode(encoding, errors)
                return str(value) if type(value) is int else _as_text(_typed(value))
        typed = self._typed_pairs()
        if typed is not None and key in typed:
            return _as_text(typed[key])
        if default is not None and type(default) is not str:
            raise TypeError("default is not a string object")
        return default

    def set_pri(self, pri):
        pri = pri.__index__()
        if not 0 <= pri <= 191:
            raise ValueError(f"pri must be between 0 and 191, got {pri}")
        self._rare().pri = pri

    def get_pri(self):
        x = self._x
        return 13 if x is None or x.pri is None else x.pri

    def set_timestamp(self, timestamp):
        if not isinstance(timestamp, _dt.datetime):
            raise ValueError("Error extracting timestamp from value, expected a datetime instance")
        self._rare().ts = _to_timestamp(timestamp)

    def get_timestamp(self):
        """The timestamp set on the message (aware), or None when it will
        get the time it is received."""
        x = self._x
        return None if x is None or x.ts is None else _from_timestamp(x.ts)

    def set_source_ipaddress(self, ip, port=0):
        import ipaddress
        if ip is None:
            return False
        try:
            ipaddress.ip_address(ip.decode() if isinstance(ip, bytes) else ip)
        except (ValueError, UnicodeDecodeError, TypeError):
            return False
        self._rare().addr = ip.decode() if isinstance(ip, bytes) else str(ip)
        return True

    def set_recvd_rawmsg_size(self, rawmsg_size):
        size = rawmsg_size.__index__()
        if size < 0:
            raise OverflowError("can't convert negative int to unsigned")
        self._rare().raw_size = size

    @property
    def bookmark(self):
        x = self._x
        return None if x is None else x.bookmark

    @bookmark.setter
    def bookmark(self, bookmark):
        self._rare().bookmark = bookmark

    def set_bookmark(self, bookmark):
        self.bookmark = bookmark

    @classmethod
    def parse(cls, raw_msg, parse_options):
        """Parses RFC 5424, else RFC 3164, into a new message; the second
        argument is the source's `self.parse_options`."""
        from . import parse as _parse
        return _parse.parse(LogMessage, raw_msg, parse_options)

    def __repr__(self):
        return f"LogMessage({self._s.get('MESSAGE', b'')!r})"

    def _set_shadow(self, key, value):
        """Assigns a host-owned name: checked as any value, kept in the
        message, never posted."""
        tv = type(value)
        if tv is str:
            value = value.encode()
        elif tv is not bytes:
            if compat_3x:
                raise ValueError(
                    f"str or bytes object expected as log message values, got type {tv.__name__} (key {key})")
            value = _typed(value)
        x = self._rare()
        if x.shadow is None:
            x.shadow = {}
        x.shadow[key] = value

    def _computed(self, key):
        """A host-owned name as a script reads it: SOURCE and HOST_FROM as
        assigned, the others as AxoSyslog's macros of this message."""
        x = self._x
        if key in _READ_BACK:
            shadow = x.shadow if x is not None else None
            if shadow and key in shadow:
                v = shadow[key]
                if type(v) is bytes:
                    return v
                return _as_text(v).encode() if compat_3x else _untyped(v)
            if compat_3x:
                return b""
            raise KeyError(f"No such name-value pair {key}")
        pri = self.get_pri()
        if key == "PRI":
            return b"%d" % pri
        if key == "FACILITY":
            return _FACILITIES[pri >> 3].encode()
        if key == "SEVERITY":
            return _SEVERITIES[pri & 7].encode()
        if key == "ISODATE":
            ts = self.get_timestamp() or _dt.datetime.now(_dt.timezone.utc).astimezone()
            return ts.isoformat(timespec="seconds").encode()
        if key == "SOURCEIP":
            return (x.addr if x is not None and x.addr is not None else "127.0.0.1").encode()
        # RAWMSG_SIZE, an integer as in AxoSyslog.
        size = x.raw_size if x is not None and x.raw_size is not None else 0
        return b"%d" % size if compat_3x else size

    def _rare(self):
        x = self._x
        if x is None:
            x = self._x = _Rare()
        return x

    def _typed_pairs(self):
        """Its typed pairs (a dict), or None."""
        x = self._x
        return None if x is None else x.typed

    def _typed_size(self):
        """The size of its typed pairs, counted as the host counts them."""
        size = 0
        typed = self._typed_pairs()
        if not typed:
            return 0
        for key, tv in typed.items():
            size += len(key) + (sum(map(len, tv.value)) if type(tv) is _List else 8)
        return size

    def _has_fields(self):
        """Whether it has parts beyond string pairs (not the bookmark)."""
        x = self._x
        return x is not None and (bool(x.typed) or x.pri is not None or x.ts is not None
                                  or x.addr is not None or x.raw_size is not None)

    def _extras(self):
        """What the message has beyond string pairs. Built when the message
        is posted, so it is a snapshot like the pairs themselves."""
        x = self._x
        typed = x.typed
        return _Extras(list(typed.items()) if typed else [], x.pri, x.ts, x.addr, x.raw_size)


if _native is not None:
    # The native base type does construction, string stores and reads
    # under validated names itself, and calls these (under their private
    # names, keeping their qualified names for error messages) for the
    # rest. Left in the class, they would take the place of its slots.
    for _dunder, _private in (("__init__", "_init"), ("__setitem__", "_setitem"),
                              ("__getitem__", "_getitem"), ("__delitem__", "_delitem")):
        setattr(LogMessage, _private, LogMessage.__dict__[_dunder])
        delattr(LogMessage, _dunder)
    del _dunder, _private

    def _getstate(self):
        """As object.__getstate__ gives it for the pure-Python class (its
        slots as the second item), so that copy and pickle work as there:
        the default refuses a C base with storage of its own."""
        state = object.__getstate__(self)
        if isinstance(state, tuple):
            state, slots = state[0], dict(state[1])
        else:
            slots = {}
        for name in ("_s", "_size", "_x"):
            try:
                slots[name] = getattr(self, name)
            except AttributeError:
                pass
        return (state, slots)

    _getstate.__name__ = "__getstate__"
    _getstate.__qualname__ = "LogMessage.__getstate__"
    LogMessage.__getstate__ = _getstate
    del _getstate
    _native.bind_message(LogMessage, _known_names)
