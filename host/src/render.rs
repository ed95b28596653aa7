//! Renders a guest message for the destinations: as one JSON line (the
//! script's name-value pairs under their own names, typed values as JSON
//! types, plus the fields syslog-ng fills in for a python() source), or in
//! a syslog format ([`crate::syslog_format`]), framed by a newline or by
//! octet counting. This is the hot path, so it writes straight into the
//! caller's buffer.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, Local, TimeZone, Utc};

use crate::bindings::{Extras, Timestamp, TypedValue};

/// PRI of a message that sets none: user.notice, as in syslog-ng.
pub const DEFAULT_PRI: u16 = 13;

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// What is the same for every message of one source: pre-rendered JSON
/// fragments, so that the hot path only copies them.
#[derive(Debug, Clone)]
pub struct SourceFields {
    name: String,
    hostname: String,
    transport_name: Option<String>,
    /// `"SOURCE":"name"` including the quotes.
    source: String,
    /// `"HOST":"hostname"`, used when a message sets no HOST.
    host: String,
    /// `"TRANSPORT":"name"` once the script set a transport name.
    transport: Option<String>,
    /// Whether a HOST set by the script is kept (AxoSyslog's
    /// keep-hostname); when not, HOST is always the host name.
    keep_hostname: bool,
}

impl SourceFields {
    pub fn new(source_name: &str, hostname: &str) -> Self {
        let mut source = String::from("\"SOURCE\":");
        string(&mut source, source_name.as_bytes());
        let mut host = String::from("\"HOST\":");
        string(&mut host, hostname.as_bytes());
        Self {
            name: source_name.to_owned(),
            hostname: hostname.to_owned(),
            transport_name: None,
            source,
            host,
            transport: None,
            keep_hostname: true,
        }
    }

    pub fn set_keep_hostname(&mut self, keep: bool) {
        self.keep_hostname = keep;
    }

    /// The HOST a message is written with: its own when it set one and
    /// keep_hostname allows it.
    fn message_host<'a>(&self, msg: &MessageView<'a>) -> Option<&'a [u8]> {
        if self.keep_hostname {
            msg.value("HOST")
        } else {
            None
        }
    }

    pub fn set_transport(&mut self, name: &str) {
        self.transport_name = Some(name.to_owned());
        let mut t = String::from("\"TRANSPORT\":");
        string(&mut t, name.as_bytes());
        self.transport = Some(t);
    }
}

/// The receive time of a batch of messages, rendered once for all of them.
pub struct Received {
    pub time: DateTime<FixedOffset>,
    isodate: String,
    /// The time in the syslog headers, formatted once per block: most
    /// messages carry no timestamp of their own.
    pub(crate) rfc5424_time: String,
    pub(crate) rfc3164_time: String,
}

impl Received {
    pub fn now() -> Self {
        let time = Local::now().fixed_offset();
        let mut isodate = String::with_capacity(32);
        push_isodate(&mut isodate, &time);
        Self {
            rfc5424_time: time.format(RFC5424_TIME).to_string(),
            rfc3164_time: time.format(RFC3164_TIME).to_string(),
            time,
            isodate,
        }
    }
}

/// The timestamp formats of the syslog headers.
pub(crate) const RFC5424_TIME: &str = "%Y-%m-%dT%H:%M:%S%.6f%:z";
pub(crate) const RFC3164_TIME: &str = "%b %e %H:%M:%S";

/// How messages are written for a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Encoding {
    pub format: Format,
    pub framing: Framing,
}

/// The text of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Rfc5424,
    Rfc3164,
}

/// How messages are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// A newline after each message (files, stdout).
    Newline,
    /// `LENGTH SP MESSAGE`, RFC 6587 octet counting (syslog over TCP; the
    /// UDP sender strips it and sends one datagram per message).
    OctetCounted,
}

/// Appends one message in `encoding` to `out`; returns how many of its
/// pairs were refused (see [`COMPUTED`]).
pub fn encode(
    out: &mut String,
    scratch: &mut String,
    msg: MessageView<'_>,
    fields: &SourceFields,
    received: &Received,
    encoding: Encoding,
) -> usize {
    if encoding
        == (Encoding {
            format: Format::Json,
            framing: Framing::Newline,
        })
    {
        return message(out, msg, fields, received);
    }
    scratch.clear();
    let refused = match encoding.format {
        Format::Json => {
            let r = message(scratch, msg, fields, received);
            scratch.pop();
            r
        }
        Format::Rfc5424 => crate::syslog_format::rfc5424(scratch, msg, fields, received),
        Format::Rfc3164 => crate::syslog_format::rfc3164(scratch, msg, fields, received),
    };
    match encoding.framing {
        Framing::Newline => {
            out.push_str(scratch);
            out.push('\n');
        }
        Framing::OctetCounted => {
            let _ = write!(out, "{} ", scratch.len());
            out.push_str(scratch);
        }
    }
    refused
}

/// The parts of a message the syslog headers need: PRI, the timestamp
/// (the message's own, or None for the receive time) and HOST (the
/// message's, else the host name).
pub(crate) fn header_parts<'a>(
    msg: &MessageView<'a>,
    fields: &'a SourceFields,
) -> (u16, Option<DateTime<FixedOffset>>, &'a [u8]) {
    let pri = msg.extras.and_then(|e| e.pri).unwrap_or(DEFAULT_PRI);
    let time = msg
        .extras
        .and_then(|e| e.timestamp.as_ref())
        .and_then(timestamp_to_datetime);
    let host = fields
        .message_host(msg)
        .unwrap_or(fields.hostname.as_bytes());
    (pri, time, host)
}

pub(crate) fn source_name(fields: &SourceFields) -> &str {
    &fields.name
}

pub(crate) fn transport(fields: &SourceFields) -> Option<&str> {
    fields.transport_name.as_deref()
}

fn push_isodate(out: &mut String, t: &DateTime<FixedOffset>) {
    // syslog-ng's ISODATE: seconds precision, numeric offset.
    let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%:z"));
}

pub(crate) fn timestamp_to_datetime(ts: &Timestamp) -> Option<DateTime<FixedOffset>> {
    let offset = FixedOffset::east_opt(ts.offset_secs)?;
    let utc = Utc.timestamp_micros(ts.micros).single()?;
    Some(utc.with_timezone(&offset))
}

/// One string pair: a name and its value's bytes.
pub type Pair<'a> = (&'a str, &'a [u8]);

/// One message as the guest sent it: its string pairs and its extras.
#[derive(Clone, Copy)]
pub struct MessageView<'a> {
    pub pairs: &'a [Pair<'a>],
    pub extras: Option<&'a Extras>,
}

impl<'a> MessageView<'a> {
    pub(crate) fn value(&self, name: &str) -> Option<&'a [u8]> {
        self.pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// The bytes of a WIT `bytes` string (one character per byte, see the WIT
/// world): borrowed when ASCII, the common case; None when a character is
/// beyond one byte, which only a tampered guest sends.
pub fn latin1(s: &str) -> Option<std::borrow::Cow<'_, [u8]>> {
    if s.is_ascii() {
        return Some(std::borrow::Cow::Borrowed(s.as_bytes()));
    }
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
        .map(std::borrow::Cow::Owned)
}

/// Reads packed little-endian u32s (a trailing partial one is ignored and
/// makes the block's lengths fail to add up).
pub fn packed_u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The size of a message as `max_message_size` counts it, the same way
/// the guest does: characters of names and bytes of values, plus for typed
/// pairs their name and the bytes of a list's items (8 for other types).
pub fn message_size(pairs: &[Pair<'_>], extras: Option<&Extras>) -> u64 {
    let names: u64 = pairs.iter().map(|(n, _)| n.chars().count() as u64).sum();
    let values: u64 = pairs.iter().map(|(_, v)| v.len() as u64).sum();
    let typed: u64 = extras.map_or(0, |e| {
        e.typed
            .iter()
            .map(|(k, v)| {
                k.chars().count() as u64
                    + match v {
                        TypedValue::List(items) => {
                            items.iter().map(|i| i.chars().count() as u64).sum()
                        }
                        _ => 8,
                    }
            })
            .sum()
    });
    names + values + typed
}

/// Splits the pairs of a message block into `out`: names joined by NUL;
/// values joined by NUL when `value_lengths` is empty, else joined and
/// counted in bytes. None when the parts do not add up, which only a
/// tampered guest can cause.
pub fn split_pairs<'a>(
    names: &'a str,
    values: &'a [u8],
    value_lengths: &[u32],
    out: &mut Vec<Pair<'a>>,
) -> Option<()> {
    if names.is_empty() {
        return (values.is_empty() && value_lengths.is_empty()).then_some(());
    }
    let mut names = names.split('\0');
    if value_lengths.is_empty() {
        for value in values.split(|&b| b == 0) {
            out.push((names.next()?, value));
        }
    } else {
        out.reserve(value_lengths.len());
        let mut v_at = 0usize;
        for &vl in value_lengths {
            let v_end = v_at.checked_add(vl as usize)?;
            out.push((names.next()?, values.get(v_at..v_end)?));
            v_at = v_end;
        }
        if v_at != values.len() {
            return None;
        }
    }
    names.next().is_none().then_some(())
}

/// Names whose value the host computes for every message. The guest's
/// `syslogng` package refuses to set them; a pair with one of these names
/// can only come from a tampered guest and is never written, so that no
/// source can pass itself off as another.
pub const COMPUTED: [&str; 7] = [
    "SOURCE",
    "PRI",
    "FACILITY",
    "SEVERITY",
    "ISODATE",
    "SOURCEIP",
    "RAWMSG_SIZE",
];

pub(crate) fn rendered_elsewhere(name: &str, fields: &SourceFields) -> bool {
    name == "MESSAGE" || name == "HOST" || (name == "TRANSPORT" && fields.transport.is_some())
}

/// Appends one message as a JSON object and a newline to `out`. Returns
/// how many of the message's pairs were refused (names in [`COMPUTED`]).
pub fn message(
    out: &mut String,
    msg: MessageView<'_>,
    fields: &SourceFields,
    received: &Received,
) -> usize {
    let mut refused = 0;
    out.push('{');
    out.push_str("\"MESSAGE\":");
    match msg.value("MESSAGE") {
        Some(v) => string(out, v),
        None => out.push_str("\"\""),
    }
    out.push(',');
    match fields.message_host(&msg) {
        Some(v) => {
            out.push_str("\"HOST\":");
            string(out, v);
        }
        None => out.push_str(&fields.host),
    }
    out.push(',');
    out.push_str(&fields.source);
    let extras = msg.extras;
    let pri = extras.and_then(|e| e.pri).unwrap_or(DEFAULT_PRI);
    let _ = write!(out, ",\"PRI\":{pri},\"FACILITY\":");
    match FACILITIES.get(usize::from(pri >> 3)) {
        Some(name) => {
            out.push('"');
            out.push_str(name);
            out.push('"');
        }
        None => {
            let _ = write!(out, "{}", pri >> 3);
        }
    }
    out.push_str(",\"SEVERITY\":\"");
    out.push_str(SEVERITIES[usize::from(pri & 7)]);
    out.push_str("\",\"ISODATE\":\"");
    match extras
        .and_then(|e| e.timestamp.as_ref())
        .and_then(timestamp_to_datetime)
    {
        Some(t) => push_isodate(out, &t),
        None => out.push_str(&received.isodate),
    }
    out.push('"');
    // A transport name set by the script overrides the pair, as in AxoSyslog.
    if let Some(t) = &fields.transport {
        out.push(',');
        out.push_str(t);
    }
    if let Some(addr) = extras.and_then(|e| e.source_address.as_ref()) {
        out.push_str(",\"SOURCEIP\":");
        string(out, addr.as_bytes());
    }
    if let Some(size) = extras.and_then(|e| e.raw_size) {
        let _ = write!(out, ",\"RAWMSG_SIZE\":{size}");
    }
    for &(k, v) in msg.pairs {
        if rendered_elsewhere(k, fields) {
            continue;
        }
        if COMPUTED.contains(&k) {
            refused += 1;
            continue;
        }
        out.push(',');
        string(out, k.as_bytes());
        out.push(':');
        string(out, v);
    }
    for (k, v) in extras.map_or(&[][..], |e| &e.typed[..]) {
        if rendered_elsewhere(k, fields) || COMPUTED.contains(&k.as_str()) {
            refused += 1;
            continue;
        }
        out.push(',');
        string(out, k.as_bytes());
        out.push(':');
        typed(out, v);
    }
    out.push_str("}\n");
    refused
}

fn typed(out: &mut String, v: &TypedValue) {
    match v {
        TypedValue::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        // JSON has no NaN or infinity: those become strings, as text.
        TypedValue::Double(f) if f.is_finite() => {
            let _ = write!(out, "{f:?}");
        }
        TypedValue::Double(f) => {
            let _ = write!(out, "\"{f}\"");
        }
        TypedValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        TypedValue::Null => out.push_str("null"),
        TypedValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, item.as_bytes());
            }
            out.push(']');
        }
        TypedValue::Datetime(ts) => {
            out.push('"');
            match timestamp_to_datetime(ts) {
                Some(t) => {
                    let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%.6f%:z"));
                }
                None => {
                    let _ = write!(out, "{}", ts.micros);
                }
            }
            out.push('"');
        }
    }
}

/// Appends `bytes` as a JSON string. Valid UTF-8 is kept as is (escaped as
/// JSON requires); a byte that is not part of valid UTF-8 is written as the
/// text `\xNN`, as syslog-ng does, so nothing is dropped.
pub fn string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        escape(out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\\\x{b:02x}");
        }
    }
    out.push('"');
}

fn escape(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owned {
        pairs: Vec<Pair<'static>>,
        extras: Option<Extras>,
    }

    fn extras(typed: Vec<(String, TypedValue)>) -> Extras {
        Extras {
            typed,
            pri: None,
            timestamp: None,
            source_address: None,
            raw_size: None,
        }
    }

    fn msg(strings: &[Pair<'static>], typed: Vec<(String, TypedValue)>) -> Owned {
        Owned {
            pairs: strings.to_vec(),
            extras: (!typed.is_empty()).then(|| extras(typed)),
        }
    }

    fn render(m: &Owned, f: &SourceFields) -> serde_json::Value {
        let mut out = String::new();
        let view = MessageView {
            pairs: &m.pairs,
            extras: m.extras.as_ref(),
        };
        message(&mut out, view, f, &Received::now());
        assert!(out.ends_with("}\n"));
        assert_eq!(out.matches("\"SOURCE\"").count(), 1, "{out}");
        serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
    }

    #[test]
    fn fills_in_syslog_fields() {
        let f = SourceFields::new("src", "box");
        let v = render(&msg(&[("MESSAGE", b"hi"), ("seq", b"1")], vec![]), &f);
        assert_eq!(v["MESSAGE"], "hi");
        assert_eq!(v["HOST"], "box");
        assert_eq!(v["SOURCE"], "src");
        assert_eq!(v["PRI"], 13);
        assert_eq!(v["FACILITY"], "user");
        assert_eq!(v["SEVERITY"], "notice");
        assert_eq!(v["seq"], "1");
        assert!(v.get("TRANSPORT").is_none());
    }

    #[test]
    fn typed_values_are_json_types() {
        let f = SourceFields::new("s", "h");
        let v = render(
            &msg(
                &[],
                vec![
                    ("i".into(), TypedValue::Integer(-5)),
                    ("f".into(), TypedValue::Double(1.5)),
                    ("b".into(), TypedValue::Boolean(true)),
                    ("n".into(), TypedValue::Null),
                    ("l".into(), TypedValue::List(vec!["a".into(), "b,c".into()])),
                    ("nan".into(), TypedValue::Double(f64::NAN)),
                ],
            ),
            &f,
        );
        assert_eq!(v["i"], -5);
        assert_eq!(v["f"], 1.5);
        assert_eq!(v["b"], true);
        assert!(v["n"].is_null());
        assert_eq!(v["l"], serde_json::json!(["a", "b,c"]));
        assert_eq!(v["nan"], "NaN");
        assert_eq!(v["MESSAGE"], "");
    }

    #[test]
    fn splits_joined_pairs_by_nul_and_bytes() {
        let mut nul = Vec::new();
        split_pairs("MESSAGE\0caf\u{e9}\0x", b"hi\0\xff\0abc", &[], &mut nul);
        let mut out = Vec::new();
        split_pairs("MESSAGE\0caf\u{e9}\0x", b"hi\xffabc", &[2, 1, 3], &mut out);
        assert_eq!(nul, out);
        assert_eq!(
            out,
            vec![
                ("MESSAGE", &b"hi"[..]),
                ("caf\u{e9}", &b"\xff"[..]),
                ("x", &b"abc"[..])
            ]
        );
        let mut bad = Vec::new();
        // Fewer names than values, more names than values, values too short.
        assert!(split_pairs("a", b"", &[0, 0], &mut bad).is_none());
        assert!(split_pairs("a\0b", b"", &[0], &mut bad).is_none());
        assert!(split_pairs("a\0b", b"x", &[0, 5], &mut bad).is_none());
        // More values than names, more names than values, joined by NUL.
        assert!(split_pairs("a", b"x\0y", &[], &mut bad).is_none());
        assert!(split_pairs("a\0b", b"x", &[], &mut bad).is_none());
        // An empty block has no names and no values at all.
        assert!(split_pairs("", b"", &[], &mut bad).is_some());
        assert!(split_pairs("", b"x", &[], &mut bad).is_none());
        assert!(split_pairs("", b"", &[0], &mut bad).is_none());
    }

    #[test]
    fn computed_names_from_the_guest_are_refused() {
        let f = SourceFields::new("mine", "h");
        let m = msg(
            &[("SOURCE", b"other"), ("PRI", b"0"), ("x", b"1")],
            vec![
                ("SOURCE".into(), TypedValue::Integer(1)),
                ("HOST".into(), TypedValue::Integer(2)),
            ],
        );
        let mut out = String::new();
        let view = MessageView {
            pairs: &m.pairs,
            extras: m.extras.as_ref(),
        };
        assert_eq!(message(&mut out, view, &f, &Received::now()), 4);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(v["SOURCE"], "mine");
        assert_eq!(v["PRI"], 13);
        assert_eq!(v["HOST"], "h");
        assert_eq!(v["x"], "1");
    }

    #[test]
    fn latin1_bytes_round_trip() {
        assert_eq!(latin1("abc").as_deref(), Some(&b"abc"[..]));
        assert_eq!(latin1("\u{ff}\u{0}x").as_deref(), Some(&b"\xff\x00x"[..]));
        assert!(latin1("\u{100}").is_none());
        assert_eq!(packed_u32s(&[1, 0, 0, 0, 0, 1, 0, 0, 9]), vec![1, 256]);
    }

    #[test]
    fn invalid_utf8_is_escaped_not_dropped() {
        let mut out = String::new();
        string(&mut out, b"a\xffb\"\n\x01\xc3\xa9");
        assert_eq!(out, "\"a\\\\xffb\\\"\\n\\u0001\u{e9}\"");
    }

    #[test]
    fn timestamp_keeps_its_offset_and_transport_overrides() {
        let mut f = SourceFields::new("s", "h");
        f.set_transport("tcp-in");
        let mut m = msg(&[("TRANSPORT", b"x")], vec![]);
        m.extras = Some(Extras {
            pri: Some(34),
            timestamp: Some(Timestamp {
                micros: 1_700_000_000_000_000,
                offset_secs: -5 * 3600,
            }),
            ..extras(vec![])
        });
        let v = render(&m, &f);
        assert_eq!(v["ISODATE"], "2023-11-14T17:13:20-05:00");
        assert_eq!(v["TRANSPORT"], "tcp-in");
        assert_eq!(v["FACILITY"], "auth");
        assert_eq!(v["SEVERITY"], "crit");
    }
}
