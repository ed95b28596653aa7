//! RFC 5424 syslog, with the script's pairs as structured data.
//!
//! Header fields come from the pairs syslog-ng uses for them: HOST (else
//! the host name), PROGRAM (APP-NAME), PID (PROCID), MSGID. Every other
//! pair, and the source's name as `SOURCE`, goes into one structured-data
//! element with the SD-ID [`SD_ID`]; a receiving syslog-ng stores them as
//! `.SDATA.sandlog@32473.NAME`.

use std::fmt::Write as _;

use super::syslog::{header_field, header_time, message_text};
use super::{
    DATETIME_VALUE, RFC5424_TIME, Received, SourceFields, header_parts, timestamp_to_datetime,
};
use crate::bindings::TypedValue;
use crate::pipeline::message::MessageView;

/// The SD-ID of the element that carries a message's pairs. 32473 is the
/// private enterprise number reserved for documentation (RFC 5612): the
/// SD-ID is stable and unregistered, as RFC 5424 allows for `name@PEN`.
pub const SD_ID: &str = "sandlog@32473";

/// Names that RFC 5424 carries in its header, not in structured data.
const HEADER_NAMES: [&str; 5] = ["MESSAGE", "HOST", "PROGRAM", "PID", "MSGID"];

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
        TypedValue::Datetime(ts) => match timestamp_to_datetime(ts) {
            Some(t) => {
                let _ = write!(text, "{}", t.format(DATETIME_VALUE));
            }
            None => {
                let _ = write!(text, "{}", ts.micros);
            }
        },
    }
    param_value(out, text.as_bytes());
}

/// Appends the message as RFC 5424 (without framing).
pub fn message(out: &mut String, msg: MessageView<'_>, fields: &SourceFields, received: &Received) {
    let (pri, time, host) = header_parts(&msg, fields);
    let _ = write!(out, "<{pri}>1 ");
    header_time(out, time, RFC5424_TIME, &received.rfc5424_time);
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
    param_value(out, fields.name.as_bytes());
    out.push('"');
    if let Some(t) = &fields.transport_name {
        out.push_str(" TRANSPORT=\"");
        param_value(out, t.as_bytes());
        out.push('"');
    }
    for &(k, v) in msg.pairs {
        if HEADER_NAMES.contains(&k) || (k == "TRANSPORT" && fields.transport_name.is_some()) {
            continue;
        }
        out.push(' ');
        param_name(out, k);
        out.push_str("=\"");
        param_value(out, v);
        out.push('"');
    }
    for (k, v) in msg.extras.map_or(&[][..], |e| &e.typed[..]) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Extras, Timestamp, TypedValue};
    use crate::pipeline::render::Received;

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
        let pairs: [(&str, &[u8]); 4] = [
            ("MESSAGE", b"hello world"),
            ("PROGRAM", b"app"),
            ("PID", b"42"),
            ("key with space", b"a\"b]c\\"),
        ];
        let mut out = String::new();
        message(&mut out, view(&pairs, Some(&e)), &f, &Received::now());
        assert_eq!(
            out,
            "<34>1 2023-11-14T22:13:20.123456+00:00 box app 42 - [sandlog@32473 SOURCE=\"src\" \
             key_with_space=\"a\\\"b\\]c\\\\\" n=\"7\"] hello world"
        );
    }
}
