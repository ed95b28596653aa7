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
