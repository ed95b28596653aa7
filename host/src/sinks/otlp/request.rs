//! The body of one export request (`ExportLogsServiceRequest`), built from
//! chunks of `LogRecord`s without decoding them: a chunk is already the
//! body of a `ScopeLogs` (see [`crate::pipeline::render::otlp`]), so a
//! request is, per source, the source's `Resource` (encoded once and
//! kept), the scope, and the chunks' bytes behind a length.
//!
//! A chunk larger than a request's bounds is cut into pieces at record
//! boundaries; the chunk is acked with its last piece.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use super::Attribute;
use crate::pipeline::queue::Chunk;

/// Field numbers: `resource_logs` of the request, `resource` and
/// `scope_logs` of `ResourceLogs`, `scope` of `ScopeLogs`.
const RESOURCE_LOGS: u32 = 1;
const RESOURCE: u32 = 1;
const SCOPE_LOGS: u32 = 2;
const SCOPE: u32 = 1;

/// The resource attribute carrying the source's name.
pub const SOURCE_ATTRIBUTE: &str = "sandlog.source";

/// Resource attributes sandlog sets itself, which the config cannot.
pub const OWN_ATTRIBUTES: &[&str] = &["service.name", SOURCE_ATTRIBUTE];

/// Part of a chunk's records (all of them, unless the chunk was cut).
pub struct Piece {
    pub chunk: Arc<Chunk>,
    pub range: Range<usize>,
    pub records: u64,
    /// The chunk's last piece: sending it acks the chunk.
    pub last: bool,
}

impl Piece {
    pub fn bytes(&self) -> &[u8] {
        self.chunk.text.get(self.range.clone()).unwrap_or_default()
    }
}

/// Cuts `chunk` into pieces of at most `max_records` records and (when a
/// record allows) `max_bytes` bytes. A chunk within the bounds is one
/// piece.
pub fn pieces(chunk: &Arc<Chunk>, max_records: usize, max_bytes: usize) -> Vec<Piece> {
    let text = &chunk.text[..];
    let whole = |range: Range<usize>, records: u64, last: bool| Piece {
        chunk: chunk.clone(),
        range,
        records,
        last,
    };
    if chunk.lines <= max_records as u64 && text.len() <= max_bytes {
        return vec![whole(0..text.len(), chunk.lines, true)];
    }
    let mut out = Vec::new();
    let (mut start, mut at, mut records) = (0, 0, 0u64);
    while at < text.len() {
        let Some(len) = record_len(&text[at..]) else {
            // Not records as rendered: sent as they are, in one piece.
            break;
        };
        if records > 0 && (records as usize >= max_records || at + len - start > max_bytes) {
            out.push(whole(start..at, records, false));
            start = at;
            records = 0;
        }
        at += len;
        records += 1;
    }
    let rest = chunk
        .lines
        .saturating_sub(out.iter().map(|p| p.records).sum());
    out.push(whole(start..text.len(), rest, true));
    out
}

/// The length of the first length-delimited field of `bytes`, key and
/// length included.
fn record_len(mut bytes: &[u8]) -> Option<usize> {
    let total = bytes.len();
    prost::encoding::decode_key(&mut bytes).ok()?;
    let len = usize::try_from(prost::encoding::decode_varint(&mut bytes).ok()?).ok()?;
    let head = total - bytes.len();
    (len <= bytes.len()).then_some(head + len)
}

/// Every source's encoded `resource` field, built once.
pub struct Resources {
    /// The attributes every resource has after `service.name` and the
    /// source's name.
    common: Vec<KeyValue>,
    service_name: String,
    by_source: HashMap<Arc<str>, Vec<u8>>,
    /// The `scope` field of every `ScopeLogs`.
    scope: Vec<u8>,
}

impl Resources {
    pub fn new(
        service_name: &str,
        attributes: &BTreeMap<String, Attribute>,
        hostname: &str,
    ) -> Resources {
        let mut common: Vec<KeyValue> = attributes
            .iter()
            .map(|(k, v)| key_value(k, attribute(v)))
            .collect();
        if !attributes.contains_key("host.name") {
            common.push(key_value("host.name", Value::StringValue(hostname.into())));
        }
        let mut scope = Vec::new();
        prost::encoding::message::encode(
            SCOPE,
            &InstrumentationScope {
                name: "sandlog".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            },
            &mut scope,
        );
        Resources {
            common,
            service_name: service_name.to_owned(),
            by_source: HashMap::new(),
            scope,
        }
    }

    fn field(&mut self, source: &Arc<str>) -> &[u8] {
        self.by_source.entry(source.clone()).or_insert_with(|| {
            let mut attributes = vec![
                key_value(
                    "service.name",
                    Value::StringValue(self.service_name.clone()),
                ),
                key_value(SOURCE_ATTRIBUTE, Value::StringValue(source.to_string())),
            ];
            attributes.extend(self.common.iter().cloned());
            let mut out = Vec::new();
            prost::encoding::message::encode(
                RESOURCE,
                &Resource {
                    attributes,
                    ..Default::default()
                },
                &mut out,
            );
            out
        })
    }

    /// Writes the request for `pieces` into `out`: one `ResourceLogs` per
    /// source, its pieces in order.
    pub fn request(&mut self, pieces: &[Piece], out: &mut Vec<u8>) {
        let mut sources: Vec<(&Arc<str>, usize)> = Vec::new();
        for p in pieces {
            let len = p.bytes().len();
            match sources.iter_mut().find(|(s, _)| **s == p.chunk.source) {
                Some((_, total)) => *total += len,
                None => sources.push((&p.chunk.source, len)),
            }
        }
        for (source, records_len) in sources {
            if records_len == 0 {
                continue;
            }
            let scope_len = self.scope.len() + records_len;
            let resource_len = self.field(source).len();
            let resource_logs_len = resource_len
                + key_len(SCOPE_LOGS)
                + encoded_len_varint(scope_len as u64)
                + scope_len;
            encode_key(RESOURCE_LOGS, WireType::LengthDelimited, out);
            encode_varint(resource_logs_len as u64, out);
            let resource = self.field(source);
            out.extend_from_slice(resource);
            encode_key(SCOPE_LOGS, WireType::LengthDelimited, out);
            encode_varint(scope_len as u64, out);
            out.extend_from_slice(&self.scope);
            for p in pieces.iter().filter(|p| p.chunk.source == *source) {
                out.extend_from_slice(p.bytes());
            }
        }
    }
}

fn key_value(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn attribute(a: &Attribute) -> Value {
    match a {
        Attribute::Text(s) => Value::StringValue(s.clone()),
        Attribute::Integer(i) => Value::IntValue(*i),
        Attribute::Float(f) => Value::DoubleValue(*f),
        Attribute::Bool(b) => Value::BoolValue(*b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Extras, Timestamp, TypedValue};
    use crate::pipeline::message::MessageView;
    use crate::pipeline::render::otlp::{Scratch, record};
    use crate::pipeline::render::{Received, SourceFields};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use prost::Message;

    /// A chunk of `n` messages of `source`, rendered as the pipeline does.
    fn chunk(source: &str, n: u64) -> Arc<Chunk> {
        let fields = SourceFields::new(source, "box");
        let received = Received::now();
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        for i in 0..n {
            let seq = i.to_string();
            let pairs = [("MESSAGE", &b"hello"[..]), ("seq", seq.as_bytes())];
            let extras = Extras {
                typed: vec![
                    ("n".into(), TypedValue::Integer(i as i64)),
                    ("f".into(), TypedValue::Double(0.5)),
                    ("b".into(), TypedValue::Boolean(true)),
                    ("l".into(), TypedValue::List(vec!["x".into(), "y".into()])),
                ],
                pri: Some(11),
                timestamp: Some(Timestamp {
                    micros: 1_700_000_000_000_000,
                    offset_secs: 3600,
                }),
                source_address: None,
                raw_size: None,
            };
            let view = MessageView {
                pairs: &pairs,
                extras: Some(&extras),
            };
            record(&mut out, &mut scratch, view, &fields, &received);
        }
        Chunk::for_test(out, n, source)
    }

    fn string(v: &Option<AnyValue>) -> Option<&str> {
        match v.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    #[test]
    fn a_request_wraps_each_sources_records_in_its_resource() -> Result<(), prost::DecodeError> {
        let mut attributes = BTreeMap::new();
        attributes.insert("env".to_owned(), Attribute::Text("test".into()));
        let mut resources = Resources::new("svc", &attributes, "box");
        let mut batch = pieces(&chunk("a", 3), 1000, 1 << 20);
        batch.extend(pieces(&chunk("b", 2), 1000, 1 << 20));
        batch.extend(pieces(&chunk("a", 1), 1000, 1 << 20));
        let mut body = Vec::new();
        resources.request(&batch, &mut body);
        let request = ExportLogsServiceRequest::decode(&body[..])?;
        assert_eq!(request.resource_logs.len(), 2);
        let a = &request.resource_logs[0];
        let attrs = &a
            .resource
            .as_ref()
            .map(|r| r.attributes.clone())
            .unwrap_or_default();
        let get = |k: &str| {
            attrs
                .iter()
                .find(|kv| kv.key == k)
                .and_then(|kv| string(&kv.value))
        };
        assert_eq!(get("service.name"), Some("svc"));
        assert_eq!(get(SOURCE_ATTRIBUTE), Some("a"));
        assert_eq!(get("env"), Some("test"));
        assert_eq!(get("host.name"), Some("box"));
        let scope = &a.scope_logs[0];
        assert_eq!(
            scope.scope.as_ref().map(|s| s.name.as_str()),
            Some("sandlog")
        );
        assert_eq!(scope.log_records.len(), 4);
        let r = &scope.log_records[0];
        assert_eq!(string(&r.body), Some("hello"));
        assert_eq!(r.severity_number, 17);
        assert_eq!(r.severity_text, "err");
        assert_eq!(r.time_unix_nano, 1_700_000_000_000_000_000);
        assert!(r.observed_time_unix_nano > r.time_unix_nano);
        let typed = |k: &str| {
            r.attributes
                .iter()
                .find(|kv| kv.key == k)
                .and_then(|kv| kv.value.clone())
                .and_then(|v| v.value)
        };
        assert_eq!(typed("n"), Some(Value::IntValue(0)));
        assert_eq!(typed("f"), Some(Value::DoubleValue(0.5)));
        assert_eq!(typed("b"), Some(Value::BoolValue(true)));
        assert!(matches!(typed("l"), Some(Value::ArrayValue(a)) if a.values.len() == 2));
        assert_eq!(typed("seq"), Some(Value::StringValue("0".into())));
        assert!(typed("MESSAGE").is_none());
        // The scratch is reused: the next record has its own values.
        let last = &scope.log_records[2];
        assert!(last.attributes.iter().any(|kv| kv.key == "n"
            && kv.value.as_ref().and_then(|v| v.value.clone()) == Some(Value::IntValue(2))));
        assert_eq!(request.resource_logs[1].scope_logs[0].log_records.len(), 2);
        Ok(())
    }

    #[test]
    fn a_large_chunk_is_cut_at_records() -> Result<(), prost::DecodeError> {
        let c = chunk("a", 10);
        let cut = pieces(&c, 4, 1 << 20);
        assert_eq!(cut.iter().map(|p| p.records).collect::<Vec<_>>(), [4, 4, 2]);
        assert_eq!(
            cut.iter().map(|p| p.last).collect::<Vec<_>>(),
            [false, false, true]
        );
        let one = c.text.len() / 10;
        let by_bytes = pieces(&c, 1000, one * 3 + 1);
        assert_eq!(
            by_bytes.iter().map(|p| p.records).collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        let mut resources = Resources::new("svc", &BTreeMap::new(), "box");
        let mut total = 0;
        for p in cut {
            let mut body = Vec::new();
            resources.request(std::slice::from_ref(&p), &mut body);
            let request = ExportLogsServiceRequest::decode(&body[..])?;
            total += request.resource_logs[0].scope_logs[0].log_records.len();
        }
        assert_eq!(total, 10);
        Ok(())
    }
}
