//! A message as one OTLP `LogRecord` (the `opentelemetry-proto` types,
//! encoded by prost), appended as field `log_records` of a `ScopeLogs`:
//! concatenated, a chunk of them is the body of one `ScopeLogs`, which the
//! OTLP destination wraps in its source's resource without decoding it.
//!
//! The mapping (documented in docs/configuration.md): MESSAGE is the body;
//! the syslog severity of PRI gives the severity number and text; the
//! message's timestamp (else the receive time, as for ISODATE) is the time,
//! the receive time the observed time; every other pair is an attribute
//! under its own name, typed values keeping their type. Values that are
//! not UTF-8 travel as bytes, since a protobuf string must be UTF-8.
//!
//! One `LogRecord` is kept and refilled from message to message (its
//! strings and attributes keep their capacity), so a message costs no
//! allocation once the scratch has grown to the source's messages.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, SeverityNumber};

use super::json::SEVERITIES;
use super::{DATETIME_VALUE, DEFAULT_PRI, Received, SourceFields, timestamp_to_datetime};
use crate::bindings::{Timestamp, TypedValue};
use crate::pipeline::message::MessageView;

/// The field number of `log_records` in `ScopeLogs`.
pub const LOG_RECORDS_FIELD: u32 = 2;

/// The OTLP severity of each syslog severity (emerg first), as the
/// OpenTelemetry Collector's syslog parser maps them.
const SEVERITY_NUMBERS: [SeverityNumber; 8] = [
    SeverityNumber::Fatal,
    SeverityNumber::Error3,
    SeverityNumber::Error2,
    SeverityNumber::Error,
    SeverityNumber::Warn,
    SeverityNumber::Info2,
    SeverityNumber::Info,
    SeverityNumber::Debug,
];

/// The attribute names of the fields sandlog fills in beside the script's
/// pairs (their names in the JSON format).
const TRANSPORT: &str = "TRANSPORT";
const SOURCEIP: &str = "SOURCEIP";
const RAWMSG_SIZE: &str = "RAWMSG_SIZE";

/// The record refilled for each message, and attributes put aside for the
/// next one.
#[derive(Default)]
pub struct Scratch {
    record: LogRecord,
    spare: Vec<KeyValue>,
}

impl Scratch {
    /// An attribute named `name` at the end of the record, its old value
    /// still in place for the caller to overwrite.
    fn attribute(&mut self, name: &str) -> &mut AnyValue {
        let mut kv = self.spare.pop().unwrap_or_default();
        kv.key.clear();
        kv.key.push_str(name);
        self.record.attributes.push(kv);
        let last = self.record.attributes.len() - 1;
        self.record.attributes[last]
            .value
            .get_or_insert_with(AnyValue::default)
    }
}

/// Appends one message to `out` as a length-delimited `log_records` field.
pub fn record(
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
    msg: MessageView<'_>,
    fields: &SourceFields,
    received: &Received,
) {
    // Last message's attributes go back to the spares, strings and all.
    let mut used = std::mem::take(&mut scratch.record.attributes);
    scratch.spare.extend(used.drain(..).rev());
    scratch.record.attributes = used;

    let extras = msg.extras;
    let pri = extras.and_then(|e| e.pri).unwrap_or(DEFAULT_PRI);
    let severity = usize::from(pri & 7);
    let r = &mut scratch.record;
    r.severity_number = SEVERITY_NUMBERS[severity] as i32;
    r.severity_text.clear();
    r.severity_text.push_str(SEVERITIES[severity]);
    r.observed_time_unix_nano = received.unix_nanos;
    r.time_unix_nano = extras
        .and_then(|e| e.timestamp.as_ref())
        .map_or(received.unix_nanos, unix_nanos);
    set_bytes(
        r.body.get_or_insert_with(AnyValue::default),
        msg.value("MESSAGE").unwrap_or_default(),
    );

    for &(name, value) in msg.pairs {
        if name == "MESSAGE"
            || (name == "HOST" && !fields.keep_hostname)
            || (name == TRANSPORT && fields.transport_name.is_some())
        {
            continue;
        }
        set_bytes(scratch.attribute(name), value);
    }
    if let Some(t) = &fields.transport_name {
        set_string(scratch.attribute(TRANSPORT), t);
    }
    if let Some(addr) = extras.and_then(|e| e.source_address.as_ref()) {
        set_string(scratch.attribute(SOURCEIP), addr);
    }
    if let Some(size) = extras.and_then(|e| e.raw_size) {
        scratch.attribute(RAWMSG_SIZE).value =
            Some(Value::IntValue(i64::try_from(size).unwrap_or(i64::MAX)));
    }
    for (name, value) in extras.map_or(&[][..], |e| &e.typed[..]) {
        typed(scratch.attribute(name), value);
    }
    prost::encoding::message::encode(LOG_RECORDS_FIELD, &scratch.record, out);
}

/// Nanoseconds since the Unix epoch; 0 (unknown, for OTLP) before it.
fn unix_nanos(ts: &Timestamp) -> u64 {
    u64::try_from(ts.micros)
        .map(|m| m.saturating_mul(1000))
        .unwrap_or(0)
}

/// A string value, reusing the string already there.
fn set_string(v: &mut AnyValue, s: &str) {
    match &mut v.value {
        Some(Value::StringValue(t)) => {
            t.clear();
            t.push_str(s);
        }
        other => *other = Some(Value::StringValue(s.to_owned())),
    }
}

/// A pair's value: a string when it is UTF-8, else bytes.
fn set_bytes(v: &mut AnyValue, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => set_string(v, s),
        Err(_) => v.value = Some(Value::BytesValue(b.to_vec())),
    }
}

fn typed(v: &mut AnyValue, value: &TypedValue) {
    v.value = match value {
        TypedValue::Integer(i) => Some(Value::IntValue(*i)),
        TypedValue::Double(f) => Some(Value::DoubleValue(*f)),
        TypedValue::Boolean(b) => Some(Value::BoolValue(*b)),
        // An AnyValue with no value is OTLP's empty value.
        TypedValue::Null => None,
        TypedValue::List(items) => Some(Value::ArrayValue(ArrayValue {
            values: items
                .iter()
                .map(|item| AnyValue {
                    value: Some(Value::StringValue(item.clone())),
                })
                .collect(),
        })),
        TypedValue::Datetime(ts) => Some(Value::StringValue(match timestamp_to_datetime(ts) {
            Some(t) => t.format(DATETIME_VALUE).to_string(),
            None => ts.micros.to_string(),
        })),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::Extras;
    use crate::pipeline::message::Pair;
    use prost::Message;

    /// The records of `out`, decoded as the `log_records` of a `ScopeLogs`.
    fn decode(out: &[u8]) -> Vec<LogRecord> {
        opentelemetry_proto::tonic::logs::v1::ScopeLogs::decode(out)
            .map(|s| s.log_records)
            .unwrap_or_default()
    }

    fn attribute<'a>(r: &'a LogRecord, name: &str) -> Option<&'a Value> {
        r.attributes
            .iter()
            .find(|kv| kv.key == name)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn render(
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
        fields: &SourceFields,
        pairs: &[Pair<'_>],
        extras: Option<&Extras>,
    ) {
        let view = MessageView { pairs, extras };
        record(out, scratch, view, fields, &Received::now());
    }

    #[test]
    fn odd_values_keep_what_they_are() {
        let mut fields = SourceFields::new("s", "box");
        fields.set_keep_hostname(false);
        fields.set_transport("tcp-in");
        let extras = Extras {
            typed: vec![
                ("none".into(), TypedValue::Null),
                (
                    "when".into(),
                    TypedValue::Datetime(Timestamp {
                        micros: 1_700_000_000_000_000,
                        offset_secs: 0,
                    }),
                ),
            ],
            pri: None,
            timestamp: Some(Timestamp {
                micros: -5,
                offset_secs: 0,
            }),
            source_address: Some("10.0.0.1".into()),
            raw_size: Some(42),
        };
        let pairs: [Pair<'_>; 4] = [
            ("MESSAGE", b"caf\xc3\xa9 \xff"),
            ("HOST", b"spoofed"),
            ("TRANSPORT", b"x"),
            ("ok", b"fine"),
        ];
        let (mut out, mut scratch) = (Vec::new(), Scratch::default());
        render(&mut out, &mut scratch, &fields, &pairs, Some(&extras));
        let records = decode(&out);
        let r = &records[0];
        assert_eq!(
            r.body.as_ref().and_then(|b| b.value.clone()),
            Some(Value::BytesValue(b"caf\xc3\xa9 \xff".to_vec()))
        );
        // user.notice when the message sets no PRI.
        assert_eq!(r.severity_number, SeverityNumber::Info2 as i32);
        assert_eq!(r.severity_text, "notice");
        // Before the epoch is unknown to OTLP.
        assert_eq!(r.time_unix_nano, 0);
        assert!(attribute(r, "HOST").is_none(), "keep_hostname is off");
        assert_eq!(
            attribute(r, "TRANSPORT"),
            Some(&Value::StringValue("tcp-in".into()))
        );
        assert_eq!(
            attribute(r, "SOURCEIP"),
            Some(&Value::StringValue("10.0.0.1".into()))
        );
        assert_eq!(attribute(r, "RAWMSG_SIZE"), Some(&Value::IntValue(42)));
        assert_eq!(
            attribute(r, "when"),
            Some(&Value::StringValue(
                "2023-11-14T22:13:20.000000+00:00".into()
            ))
        );
        assert!(
            r.attributes
                .iter()
                .any(|kv| kv.key == "none" && kv.value.as_ref().is_some_and(|v| v.value.is_none()))
        );
        assert_eq!(attribute(r, "ok"), Some(&Value::StringValue("fine".into())));
        assert_eq!(
            r.attributes
                .iter()
                .filter(|kv| kv.key == "TRANSPORT")
                .count(),
            1
        );
    }

    #[test]
    fn a_reused_scratch_leaves_nothing_of_the_last_message() {
        let fields = SourceFields::new("s", "box");
        let (mut out, mut scratch) = (Vec::new(), Scratch::default());
        let big: [Pair<'_>; 3] = [("MESSAGE", b"first"), ("a", b"1"), ("b", b"2")];
        render(&mut out, &mut scratch, &fields, &big, None);
        let small: [Pair<'_>; 1] = [("c", b"3")];
        render(&mut out, &mut scratch, &fields, &small, None);
        let records = decode(&out);
        assert_eq!(records.len(), 2);
        let second = &records[1];
        assert_eq!(
            second.body.as_ref().and_then(|b| b.value.clone()),
            Some(Value::StringValue(String::new()))
        );
        assert_eq!(second.attributes.len(), 1);
        assert_eq!(
            attribute(second, "c"),
            Some(&Value::StringValue("3".into()))
        );
    }
}
