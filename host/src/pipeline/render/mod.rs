//! Turns a checked message into text for the destinations: as one JSON
//! line ([`json`]: the script's name-value pairs under their own names,
//! typed values as JSON types, plus the fields syslog-ng fills in for a
//! python() source), or in a syslog format ([`rfc5424`], [`rfc3164`]),
//! framed by a newline or by octet counting; or into protobuf for OTLP
//! ([`otlp`]: one `LogRecord` a message). This is the hot path, so it
//! writes straight into the caller's buffer. The gate has checked the
//! message already: the formatters only format.

pub mod json;
pub mod otlp;
pub mod rfc3164;
pub mod rfc5424;
mod syslog;

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, Local, TimeZone, Utc};

use super::message::MessageView;
use crate::bindings::Timestamp;

/// PRI of a message that sets none: user.notice, as in syslog-ng.
pub const DEFAULT_PRI: u16 = 13;

/// What is the same for every message of one source: pre-rendered JSON
/// fragments, so that the hot path only copies them.
#[derive(Debug, Clone)]
pub struct SourceFields {
    name: String,
    hostname: String,
    transport_name: Option<String>,
    /// `"SOURCE":"name"` including the quotes.
    json_source: String,
    /// `"HOST":"hostname"`, used when a message sets no HOST.
    json_host: String,
    /// `"TRANSPORT":"name"` once the script set a transport name.
    json_transport: Option<String>,
    /// Whether a HOST set by the script is kept (AxoSyslog's
    /// keep-hostname); when not, HOST is always the host name.
    keep_hostname: bool,
}

impl SourceFields {
    pub fn new(source_name: &str, hostname: &str) -> Self {
        let mut json_source = String::from("\"SOURCE\":");
        json::string(&mut json_source, source_name.as_bytes());
        let mut json_host = String::from("\"HOST\":");
        json::string(&mut json_host, hostname.as_bytes());
        Self {
            name: source_name.to_owned(),
            hostname: hostname.to_owned(),
            transport_name: None,
            json_source,
            json_host,
            json_transport: None,
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
        json::string(&mut t, name.as_bytes());
        self.json_transport = Some(t);
    }
}

/// The receive time of a batch of messages, rendered once for all of them.
pub struct Received {
    pub time: DateTime<FixedOffset>,
    /// The time in nanoseconds since the Unix epoch (OTLP's unit).
    unix_nanos: u64,
    isodate: String,
    /// The time in the syslog headers, formatted once per block: most
    /// messages carry no timestamp of their own.
    rfc5424_time: String,
    rfc3164_time: String,
}

impl Received {
    pub fn now() -> Self {
        let time = Local::now().fixed_offset();
        let mut isodate = String::with_capacity(32);
        json::push_isodate(&mut isodate, &time);
        Self {
            rfc5424_time: time.format(RFC5424_TIME).to_string(),
            rfc3164_time: time.format(RFC3164_TIME).to_string(),
            unix_nanos: time
                .timestamp_nanos_opt()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            time,
            isodate,
        }
    }
}

/// The timestamp formats of the syslog headers.
const RFC5424_TIME: &str = "%Y-%m-%dT%H:%M:%S%.6f%:z";
const RFC3164_TIME: &str = "%b %e %H:%M:%S";

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
    /// An OTLP `LogRecord` in protobuf; only the OTLP destination takes it,
    /// so no `format` key can name it.
    #[serde(skip)]
    Otlp,
}

/// How messages are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// A newline after each message (files, stdout).
    Newline,
    /// `LENGTH SP MESSAGE`, RFC 6587 octet counting (syslog over TCP; the
    /// UDP sender strips it and sends one datagram per message).
    OctetCounted,
    /// Each message a length-delimited protobuf field (OTLP: field
    /// `log_records` of `ScopeLogs`), so that a chunk is the body of a
    /// `ScopeLogs` as it is.
    Protobuf,
}

/// The OTLP destination's encoding.
pub const OTLP: Encoding = Encoding {
    format: Format::Otlp,
    framing: Framing::Protobuf,
};

/// One encoding's rendered messages: text, or bytes for the binary
/// formats. Handed to the queues as bytes, which a text costs nothing to
/// become.
pub enum Buffer {
    Text(String),
    Binary(Vec<u8>),
}

impl Buffer {
    /// An empty buffer of the kind `encoding` writes.
    pub fn new(encoding: Encoding, capacity: usize) -> Buffer {
        match encoding.format {
            Format::Otlp => Buffer::Binary(Vec::with_capacity(capacity)),
            _ => Buffer::Text(String::with_capacity(capacity)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Buffer::Text(t) => t.len(),
            Buffer::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Buffer::Text(t) => t.into_bytes(),
            Buffer::Binary(b) => b,
        }
    }
}

/// What rendering reuses from one message to the next.
#[derive(Default)]
pub struct Scratch {
    text: String,
    otlp: otlp::Scratch,
}

/// Appends one message in `encoding` to `out`, which [`Buffer::new`] made
/// for that encoding.
pub fn render(
    out: &mut Buffer,
    scratch: &mut Scratch,
    msg: MessageView<'_>,
    fields: &SourceFields,
    received: &Received,
    encoding: Encoding,
) {
    match out {
        Buffer::Text(text) => encode(text, &mut scratch.text, msg, fields, received, encoding),
        Buffer::Binary(bytes) => otlp::record(bytes, &mut scratch.otlp, msg, fields, received),
    }
}

/// Appends one message in `encoding` to `out`.
pub fn encode(
    out: &mut String,
    scratch: &mut String,
    msg: MessageView<'_>,
    fields: &SourceFields,
    received: &Received,
    encoding: Encoding,
) {
    if encoding
        == (Encoding {
            format: Format::Json,
            framing: Framing::Newline,
        })
    {
        json::message(out, msg, fields, received);
        return;
    }
    scratch.clear();
    match encoding.format {
        Format::Json => {
            json::message(scratch, msg, fields, received);
            scratch.pop();
        }
        Format::Rfc5424 => rfc5424::message(scratch, msg, fields, received),
        Format::Rfc3164 => rfc3164::message(scratch, msg, fields, received),
        // Binary: rendered by `render` into bytes, never into text.
        Format::Otlp => return,
    }
    match encoding.framing {
        Framing::Newline => {
            out.push_str(scratch);
            out.push('\n');
        }
        Framing::OctetCounted => {
            let _ = write!(out, "{} ", scratch.len());
            out.push_str(scratch);
        }
        Framing::Protobuf => {}
    }
}

/// The parts of a message the syslog headers need: PRI, the timestamp
/// (the message's own, or None for the receive time) and HOST (the
/// message's, else the host name).
fn header_parts<'a>(
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

fn timestamp_to_datetime(ts: &Timestamp) -> Option<DateTime<FixedOffset>> {
    let offset = FixedOffset::east_opt(ts.offset_secs)?;
    let utc = Utc.timestamp_micros(ts.micros).single()?;
    Some(utc.with_timezone(&offset))
}

/// A datetime value as the formats write it: microseconds and the offset.
const DATETIME_VALUE: &str = "%Y-%m-%dT%H:%M:%S%.6f%:z";
