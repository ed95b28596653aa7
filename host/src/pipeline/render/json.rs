//! A message as one JSON object on a line: MESSAGE, HOST, SOURCE, PRI,
//! FACILITY, SEVERITY and ISODATE first (as syslog-ng fills them in for a
//! python() source), then the script's pairs under their own names, typed
//! values as JSON types.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset};

use super::{DATETIME_VALUE, DEFAULT_PRI, Received, SourceFields, timestamp_to_datetime};
use crate::bindings::TypedValue;
use crate::pipeline::message::MessageView;

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
pub(super) const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Appends one message as a JSON object and a newline to `out`.
pub fn message(out: &mut String, msg: MessageView<'_>, fields: &SourceFields, received: &Received) {
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
        None => out.push_str(&fields.json_host),
    }
    out.push(',');
    out.push_str(&fields.json_source);
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
    if let Some(t) = &fields.json_transport {
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
        if written_apart(k, fields) {
            continue;
        }
        out.push(',');
        string(out, k.as_bytes());
        out.push(':');
        string(out, v);
    }
    for (k, v) in extras.map_or(&[][..], |e| &e.typed[..]) {
        out.push(',');
        string(out, k.as_bytes());
        out.push(':');
        typed(out, v);
    }
    out.push_str("}\n");
}

/// String pairs this format writes in a place of their own (a transport
/// name set by the script overrides the pair, as in AxoSyslog).
fn written_apart(name: &str, fields: &SourceFields) -> bool {
    name == "MESSAGE" || name == "HOST" || (name == "TRANSPORT" && fields.json_transport.is_some())
}

/// syslog-ng's ISODATE: seconds precision, numeric offset.
pub(super) fn push_isodate(out: &mut String, t: &DateTime<FixedOffset>) {
    let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%:z"));
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
                    let _ = write!(out, "{}", t.format(DATETIME_VALUE));
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
    use crate::bindings::{Extras, Timestamp};
    use crate::pipeline::message::Pair;

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
