//! What the two syslog formats share: header fields, the header's time
//! and the MESSAGE text.

use std::fmt::Write as _;

/// Appends a header field: printable US-ASCII without spaces, at most
/// `max` characters, `-` when empty (RFC 5424 section 6.2).
pub(super) fn header_field(out: &mut String, value: Option<&[u8]>, max: usize) {
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

/// Appends the header's timestamp and a space: the message's own in
/// `format`, else the receive time already formatted once per block.
pub(super) fn header_time(
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

/// The MESSAGE as UTF-8 text; bytes that are not UTF-8 become `\xNN`.
pub(super) fn message_text(out: &mut String, m: &[u8]) {
    for chunk in m.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}
