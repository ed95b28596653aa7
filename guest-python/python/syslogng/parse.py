"""LogMessage.parse(): RFC 5424 and, failing that, RFC 3164 (BSD syslog),
into the fields syslog-ng fills: PRI, the timestamp, HOST, PROGRAM, PID,
MSGID, structured data as `.SDATA.ID.PARAM` pairs, and MESSAGE.

The source's parse flags (its `flags` setting, seen in `self.flags` and
carried by `self.parse_options`) apply as in syslog-ng:
- no-parse: the whole text is MESSAGE; no-header: only the PRI is read;
- syslog-protocol: RFC 5424 is expected; with no-rfc3164-fallback, text
  that is not RFC 5424 becomes syslog-ng's "Error processing log message"
  message instead of being read as RFC 3164;
- no-hostname (expect-hostname off): RFC 3164 text has no HOST field;
- store-raw-message: the text is kept as RAWMSG;
- store-legacy-msghdr (on by default, as in AxoSyslog): LEGACY_MSGHDR
  keeps the RFC 3164 `PROGRAM[PID]: ` header;
- sanitize-utf8: invalid UTF-8 in MESSAGE becomes \\xNN escapes;
- no-multi-line: line breaks in MESSAGE become spaces.
"""

import datetime as _dt
import re as _re

_UTC = _dt.timezone.utc

_RFC5424 = _re.compile(
    rb"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?(?<!\\)\](?:\[.*?(?<!\\)\])*)(?: (.*))?\Z",
    _re.S,
)
_SD_ELEMENT = _re.compile(rb"\[([^ \]=\"]+)((?: [^ \]=\"]+=\"(?:[^\"\\]|\\.)*\")*)\]", _re.S)
_SD_PARAM = _re.compile(rb" ([^ \]=\"]+)=\"((?:[^\"\\]|\\.)*)\"", _re.S)
_RFC3164 = _re.compile(
    rb"<(\d{1,3})>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (?:([^\s:\[\]]+) )?(([^\s:\[]+)(?:\[(\w+)\])?: ?)(.*)\Z",
    _re.S,
)
_RFC3164_NO_HOST = _re.compile(
    rb"<(\d{1,3})>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) ()(([^\s:\[]+)(?:\[(\w+)\])?:? ?)(.*)\Z",
    _re.S,
)
_PRI_ONLY = _re.compile(rb"<(\d{1,3})>(.*)\Z", _re.S)
_MONTHS = {m: i for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), 1)}


class ParseOptions:
    """What `self.parse_options` of a source holds; parse() needs it."""

    def __init__(self, flags=None):
        self.flags = dict(flags or {})


def _unescape(value):
    return _re.sub(rb"\\([\"\\\]])", rb"\1", value)


def _timestamp(text):
    text = text.decode("ascii", "replace")
    if text == "-":
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _rfc5424(msg, m):
    pri, stamp, host, app, procid, msgid, sd, body = m.groups()
    msg.set_pri(min(int(pri), 191))
    ts = _timestamp(stamp)
    if ts is not None:
        msg.set_timestamp(ts)
    for name, value in ((b"HOST", host), (b"PROGRAM", app), (b"PID", procid), (b"MSGID", msgid)):
        if value != b"-":
            msg[name.decode()] = value
    if sd != b"-":
        for element in _SD_ELEMENT.finditer(sd):
            sd_id = element.group(1).decode("utf-8", "replace")
            for param in _SD_PARAM.finditer(element.group(2)):
                msg[f".SDATA.{sd_id}.{param.group(1).decode('utf-8', 'replace')}"] = _unescape(param.group(2))
    body = body or b""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    msg["MESSAGE"] = body


def _rfc3164(msg, m, flags):
    pri, month, day, hh, mm, ss, host, header, program, pid, body = m.groups()
    msg.set_pri(min(int(pri), 191))
    now = _dt.datetime.now(_UTC)
    try:
        # As syslog-ng guesses the year: this year's, but a December
        # message read in January is last year's and a January message
        # read in December next year's.
        year = now.year
        if _MONTHS[month] == 12 and now.month == 1:
            year -= 1
        elif _MONTHS[month] == 1 and now.month == 12:
            year += 1
        ts = _dt.datetime(year, _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=_UTC)
        msg.set_timestamp(ts)
    except (KeyError, ValueError):
        pass
    if host:
        msg["HOST"] = host
    msg["PROGRAM"] = program
    if pid:
        msg["PID"] = pid
    if flags.get("store-legacy-msghdr"):
        msg["LEGACY_MSGHDR"] = header
    msg["MESSAGE"] = body


def _error(msg, raw):
    """What syslog-ng makes of text it cannot parse as required."""
    import os
    msg.set_pri(43)  # syslog.err
    msg["PROGRAM"] = "syslog-ng"
    msg["PID"] = str(os.getpid())
    msg["MESSAGE"] = b"Error processing log message: " + raw


def _message_flags(msg, flags):
    body = msg.get("MESSAGE")
    if body is None:
        return
    if flags.get("sanitize-utf8"):
        body = body.decode("utf-8", "backslashreplace").encode()
    if not flags.get("multi-line", True):
        body = body.replace(b"\r\n", b" ").replace(b"\n", b" ").replace(b"\r", b" ")
    msg["MESSAGE"] = body


def parse(cls, raw, parse_options):
    """Parses a raw syslog message into a new LogMessage."""
    if not isinstance(parse_options, ParseOptions):
        raise TypeError("Parse options (PyCapsule) expected in the second parameter")
    if isinstance(raw, str):
        raw = raw.encode()
    elif not isinstance(raw, (bytes, memoryview)):
        raise TypeError(f"raw_msg must be str or bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    flags = parse_options.flags
    msg = cls()
    if flags.get("store-raw-message"):
        msg["RAWMSG"] = raw
    _parse(msg, raw.rstrip(b"\r\n"), flags)
    _message_flags(msg, flags)
    return msg


def _parse(msg, raw, flags):
    if not flags.get("parse", True):
        msg["MESSAGE"] = raw
        return
    if not flags.get("header", True):
        m = _PRI_ONLY.match(raw)
        if m:
            msg.set_pri(min(int(m.group(1)), 191))
            raw = m.group(2)
        msg["MESSAGE"] = raw
        return
    m = _RFC5424.match(raw)
    if m:
        _rfc5424(msg, m)
        return
    if flags.get("syslog-protocol") and not flags.get("rfc3164-fallback", True):
        _error(msg, raw)
        return
    m = (_RFC3164 if flags.get("expect-hostname", True) else _RFC3164_NO_HOST).match(raw)
    if m:
        _rfc3164(msg, m, flags)
        return
    # Not syslog at all: the whole text is the message, as syslog-ng does.
    msg["MESSAGE"] = raw
