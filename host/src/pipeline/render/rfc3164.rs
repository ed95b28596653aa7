//! RFC 3164 (BSD) syslog: `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MESSAGE`.

use std::fmt::Write as _;

use super::syslog::{header_field, header_time, message_text};
use super::{RFC3164_TIME, Received, SourceFields, header_parts};
use crate::pipeline::message::MessageView;

/// Appends the message as RFC 3164 (without framing):
/// `<PRI>Mmm dd hh:mm:ss HOST PROGRAM[PID]: MESSAGE`. The tag is PROGRAM,
/// else the source's name. Only the header and MESSAGE are carried.
pub fn message(out: &mut String, msg: MessageView<'_>, fields: &SourceFields, received: &Received) {
    let (pri, time, host) = header_parts(&msg, fields);
    let _ = write!(out, "<{pri}>");
    header_time(out, time, RFC3164_TIME, &received.rfc3164_time);
    header_field(out, Some(host), 255);
    out.push(' ');
    match msg.value("PROGRAM").filter(|p| !p.is_empty()) {
        Some(p) => header_field(out, Some(p), 32),
        None => header_field(out, Some(fields.name.as_bytes()), 32),
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
    fn rfc3164_line() {
        let f = SourceFields::new("src", "box");
        let e = extras();
        let pairs: [(&str, &[u8]); 2] = [("MESSAGE", b"hi"), ("PID", b"9")];
        let mut out = String::new();
        message(&mut out, view(&pairs, Some(&e)), &f, &Received::now());
        assert_eq!(out, "<34>Nov 14 22:13:20 box src[9]: hi");
    }

    #[test]
    fn octet_counting_frames_each_message() {
        let f = SourceFields::new("s", "h");
        let pairs: [(&str, &[u8]); 1] = [("MESSAGE", b"x")];
        let (mut out, mut scratch) = (String::new(), String::new());
        let enc = crate::pipeline::render::Encoding {
            format: crate::pipeline::render::Format::Rfc3164,
            framing: crate::pipeline::render::Framing::OctetCounted,
        };
        let e = extras();
        crate::pipeline::render::encode(
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
