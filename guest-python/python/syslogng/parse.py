"""LogMessage.parse(): RFC 5424 and, failing that, RFC 3164 (BSD syslog),
into the fields syslog-ng fills: PRI, the timestamp, HOST, PROGRAM, PID,
MSGID, structured data as `.SDATA.ID.PARAM` pairs, and MESSAGE."""

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
    rb"<(\d{1,3})>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (?:([^\s:\[\]]+) )?([^\s:\[]+)(?:\[(\w+)\])?: ?(.*)\Z",
    _re.S,
)
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


def _rfc3164(msg, m):
    pri, month, day, hh, mm, ss, host, program, pid, body = m.groups()
    msg.set_pri(min(int(pri), 191))
    now = _dt.datetime.now(_UTC)
    try:
        ts = _dt.datetime(now.year, _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=_UTC)
        # A December message read in January is from last year.
        if ts - now > _dt.timedelta(days=31):
            ts = ts.replace(year=now.year - 1)
        msg.set_timestamp(ts)
    except (KeyError, ValueError):
        pass
    if host:
        msg["HOST"] = host
    msg["PROGRAM"] = program
    if pid:
        msg["PID"] = pid
    msg["MESSAGE"] = body


def parse(cls, raw, parse_options):
    """Parses a raw syslog message into a new LogMessage."""
    if not isinstance(parse_options, ParseOptions):
        raise TypeError("Parse options (PyCapsule) expected in the second parameter")
    if isinstance(raw, str):
        raw = raw.encode()
    elif not isinstance(raw, (bytes, memoryview)):
        raise TypeError(f"raw_msg must be str or bytes, not {type(raw).__name__}")
    raw = bytes(raw).rstrip(b"\r\n")
    msg = cls()
    m = _RFC5424.match(raw)
    if m:
        _rfc5424(msg, m)
        return msg
    m = _RFC3164.match(raw)
    if m:
        _rfc3164(msg, m)
        return msg
    # Not syslog at all: the whole text is the message, as syslog-ng does.
    msg["MESSAGE"] = raw
    return msg
