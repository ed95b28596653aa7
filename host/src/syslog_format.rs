//! The syslog formats of a message: RFC 5424 (with the script's pairs as
//! structured data) and RFC 3164 (BSD syslog).
//!
//! RFC 5424 header fields come from the pairs syslog-ng uses for them:
//! HOST (else the host name), PROGRAM (APP-NAME), PID (PROCID), MSGID.
//! Every other pair, and the source's name as `SOURCE`, goes into one
//! structured-data element with the SD-ID [`SD_ID`]; a receiving syslog-ng
//! stores them as `.SDATA.sandlog@32473.NAME`.

use std::fmt::Write as _;

use crate::bindings::TypedValue;
use crate::render::{self, MessageView, Received, SourceFields};

/// The SD-ID of the element that carries a message's pairs. 32473 is the
/// private enterprise number reserved for documentation (RFC 5612): the
/// SD-ID is stable and unregistered, as RFC 5424 allows for `name@PEN`.
pub const SD_ID: &str = "sandlog@32473";

/// Names that RFC 5424 carries in its header, not in structured data.
const HEADER_NAMES: [&str; 5] = ["MESSAGE", "HOST", "PROGRAM", "PID", "MSGID"];

/// Appends a header field: printable US-ASCII without spaces, at most
/// `max` characters, `-` when empty (RFC 5424 section 6.2).
fn header_field(out: &mut String, value: Option<&[u8]>, max: usize) {
    let start = out.len();
    for &b in value.unwrap_or_default().iter().take(max) {
        out.push(if (33..=126).contains(&b) {
            char::from(b)
        } else {
            '_'
        });
    }
    if out.len() == start {
        out.push('-');
    }
}

/// A PARAM-NAME: printable US-ASCII except `=`, space, `]` and `"`, at most
/// 32 characters; anything else becomes `_`.
fn param_name(out: &mut String, name: &str) {
    let mut n = 0;
    for c in name.chars().take(32) {
        out.push(match c {
            '=' | ' ' | ']' | '"' => '_',
            c if c.is_ascii_graphic() => c,
            _ => '_',
        });
        n += 1;
    }
    if n == 0 {
        out.push('_');
    }
}

/// A PARAM-VALUE: UTF-8 with `"`, `\` and `]` escaped; bytes that are not
/// UTF-8 become the text `\xNN`, as in the JSON output.
fn param_value(out: &mut String, value: &[u8]) {
    for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            if matches!(c, '"' | '\\' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\\\x{b:02x}");
        }
    }
}

/// Appends the header's timestamp and a space: the message's own in
/// `format`, else the receive time already formatted once per block.
fn header_time(
    out: &mut String,
    own: Option<chrono::DateTime<chrono::FixedOffset>>,
    format: &str,
    received: &str,
) {
    match own {
        Some(t) => {
            let _ = write!(out, "{}", t.format(format));
        }
        None => out.push_str(received),
    }
    out.push(' ');
}

fn typed_text(out: &mut String, v: &TypedValue) {
    let mut text = String::new();
    match v {
        TypedValue::Integer(i) => {
            let _ = write!(text, "{i}");
        }
        TypedValue::Double(f) => {
            let _ = write!(text, "{f}");
        }
        TypedValue::Boolean(b) => text.push_str(if *b { "true" } else { "false" }),
        TypedValue::Null => {}
        TypedValue::List(items) => text.push_str(&items.join(",")),
        TypedValue::Datetime(ts) => match render::timestamp_to_datetime(ts) {
            Some(t) => {
                let _ = write!(text, "{}", t.format("%Y-%m-%dT%H:%M:%S%.6f%:z"));
            }
            None => {
                let _ = write!(text, "{}", ts.micros);
            }
        },
    }
    param_value(out, text.as_bytes());
}

/// Appends the message as RFC 5424 (without framing). Returns how many of
/// its pairs were refused (names sandlog computes).
pub fn rfc5424(
    out: &mut String,
    msg: MessageView<'_>,
    fields: &SourceFields,
    received: &Received,
) -> usize {
    let (pri, time, host) = render::header_parts(&msg, fields);
    let _ = write!(out, "<{pri}>1 ");
    header_time(out, time, render::RFC5424_TIME, &received.rfc5424_time);
    header_field(out, Some(host), 255);
    out.push(' ');
    header_field(out, msg.value("PROGRAM"), 48);
    out.push(' ');
    header_field(out, msg.value("PID"), 128);
    out.push(' ');
    header_field(out, msg.value("MSGID"), 32);
    out.push_str(" [");
    out.push_str(SD_ID);
    out.push_str(" SOURCE=\"");
    param_value(out, render::source_name(fields).as_bytes());
    out.push('"');
    if let Some(t) = render::transport(fields) {
        out.push_str(" TRANSPORT=\"");
        param_value(out, t.as_bytes());
        out.push('"');
    }
    let mut refused = 0;
    for &(k, v) in msg.pairs {
        if HEADER_NAMES.contains(&k) || (k == "TRANSPORT" && render::transport(fields).is_some()) {
            continue;
        }
        if render::COMPUTED.contains(&k) {
            refused += 1;
            continue;
        }
        out.push(' ');
        param_name(out, k);
        out.push_str("=\"");
        param_value(out, v);
        out.push('"');
    }
    for (k, v) in msg.extras.map_or(&[][..], |e| &e.typed[..]) {
        if render::rendered_elsewhere(k, fields) || render::COMPUTED.contains(&k.as_str()) {
            refused += 1;
            continue;
        }
        out.push(' ');
        param_name(out, k);
        out.push_str("=\"");
        typed_text(out, v);
        out.push('"');
    }
    out.push(']');
    if let Some(m) = msg.value("MESSAGE").filter(|m| !m.is_empty()) {
        out.push(' ');
        message_text(out, m);
    }
    refused
}

/// The MESSAGE as UTF-8 text; bytes that are not UTF-8 become `\xNN`.
fn message_text(out: &mut String, m: &[u8]) {
    for chunk in m.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// Appends the message as RFC 3164 (without framing):
/// `<PRI>Mmm dd hh:mm:ss HOST PROGRAM[PID]: MESSAGE`. The tag is PROGRAM,
/// else the source's name. Only the header and MESSAGE are carried.
pub fn rfc3164(
    out: &mut String,
    msg: MessageView<'_>,
    fields: &SourceFields,
    received: &Received,
) -> usize {
    let (pri, time, host) = render::header_parts(&msg, fields);
    let _ = write!(out, "<{pri}>");
    header_time(out, time, render::RFC3164_TIME, &received.rfc3164_time);
    header_field(out, Some(host), 255);
    out.push(' ');
    match msg.value("PROGRAM").filter(|p| !p.is_empty()) {
        Some(p) => header_field(out, Some(p), 32),
        None => header_field(out, Some(render::source_name(fields).as_bytes()), 32),
    }
    if let Some(pid) = msg.value("PID").filter(|p| !p.is_empty()) {
        out.push('[');
        header_field(out, Some(pid), 16);
        out.push(']');
    }
    out.push_str(": ");
    if let Some(m) = msg.value("MESSAGE") {
        message_text(out, m);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Extras, Timestamp};

    fn view<'a>(pairs: &'a [(&'a str, &'a [u8])], extras: Option<&'a Extras>) -> MessageView<'a> {
        MessageView { pairs, extras }
    }

    fn extras() -> Extras {
        Extras {
            typed: vec![("n".into(), TypedValue::Integer(7))],
            pri: Some(34),
            timestamp: Some(Timestamp {
                micros: 1_700_000_000_123_456,
                offset_secs: 0,
            }),
            source_address: None,
            raw_size: None,
        }
    }

    #[test]
    fn rfc5424_header_and_structured_data() {
        let f = SourceFields::new("src", "box");
        let e = extras();
        let pairs: [(&str, &[u8]); 5] = [
            ("MESSAGE", b"hello world"),
            ("PROGRAM", b"app"),
            ("PID", b"42"),
            ("key with space", b"a\"b]c\\"),
            ("SOURCE", b"forged"),
        ];
        let mut out = String::new();
        let refused = rfc5424(&mut out, view(&pairs, Some(&e)), &f, &Received::now());
        assert_eq!(refused, 1);
        assert_eq!(
            out,
            "<34>1 2023-11-14T22:13:20.123456+00:00 box app 42 - [sandlog@32473 SOURCE=\"src\" \
             key_with_space=\"a\\\"b\\]c\\\\\" n=\"7\"] hello world"
        );
    }

    #[test]
    fn rfc3164_line() {
        let f = SourceFields::new("src", "box");
        let e = extras();
        let pairs: [(&str, &[u8]); 2] = [("MESSAGE", b"hi"), ("PID", b"9")];
        let mut out = String::new();
        rfc3164(&mut out, view(&pairs, Some(&e)), &f, &Received::now());
        assert_eq!(out, "<34>Nov 14 22:13:20 box src[9]: hi");
    }

    #[test]
    fn octet_counting_frames_each_message() {
        let f = SourceFields::new("s", "h");
        let pairs: [(&str, &[u8]); 1] = [("MESSAGE", b"x")];
        let (mut out, mut scratch) = (String::new(), String::new());
        let enc = render::Encoding {
            format: render::Format::Rfc3164,
            framing: render::Framing::OctetCounted,
        };
        let e = extras();
        render::encode(
            &mut out,
            &mut scratch,
            view(&pairs, Some(&e)),
            &f,
            &Received::now(),
            enc,
        );
        let (len, rest) = out.split_once(' ').unwrap_or_default();
        assert_eq!(len.parse::<usize>().ok(), Some(rest.len()));
    }
}
