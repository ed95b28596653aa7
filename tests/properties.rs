//! Property tests over what untrusted or hand-written input reaches first:
//! the gate's decoder of message blocks (what a guest sends) and the config
//! parser (what an operator writes). Arbitrary input never panics, and the
//! memory each call allocates stays within a bound derived from the size
//! of its input.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default, as CI runs
//! them); see docs/architecture.md for a longer run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use sandlog::bindings::{Extras, MessageBlock, Timestamp, TypedValue};
use sandlog::config::Config;
use sandlog::guest_api::gate::{Gate, HOST_OWNED, message_size};
use sandlog::pipeline::render::otlp;
use sandlog::pipeline::render::{Received, SourceFields};

/// Counts the bytes allocated on each thread, and the peak since the last
/// [`measure`] began: each proptest case runs on one thread.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + layout.size() as isize;
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|live| live.set(live.get() - layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most it had allocated at once
/// beyond what was live before it.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, (peak - base).max(0) as usize)
}

/// A WIT `bytes` string as a guest sends it: one character a byte, with
/// now and then a character beyond one byte (only a tampered guest sends
/// those).
fn wit_bytes(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            20 => any::<u8>().prop_map(char::from),
            1 => any::<char>(),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Packed little-endian u32s, mostly small, as counts and lengths are.
fn packed(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(0u32..8, 0..max),
        1 => prop::collection::vec(any::<u32>(), 0..max),
    ]
    .prop_map(|v| {
        v.iter()
            .flat_map(|n| n.to_le_bytes())
            .map(char::from)
            .collect()
    })
}

fn names() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => "[A-Za-z_.]{0,12}",
        1 => prop::sample::select(HOST_OWNED.to_vec()).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["MESSAGE", "HOST", "TRANSPORT"]).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec(name, 0..24).prop_map(|v| v.join("\0"))
}

fn typed_value() -> impl Strategy<Value = TypedValue> {
    prop_oneof![
        any::<i64>().prop_map(TypedValue::Integer),
        any::<f64>().prop_map(TypedValue::Double),
        any::<bool>().prop_map(TypedValue::Boolean),
        Just(TypedValue::Null),
        prop::collection::vec(any::<String>(), 0..6).prop_map(TypedValue::List),
        (any::<i64>(), any::<i32>()).prop_map(|(micros, offset_secs)| {
            TypedValue::Datetime(Timestamp {
                micros,
                offset_secs,
            })
        }),
    ]
}

fn extras() -> impl Strategy<Value = Vec<(u32, Extras)>> {
    let one = (
        prop::collection::vec(("[A-Z_a-z]{0,10}", typed_value()), 0..4),
        prop::option::of(any::<u16>()),
        prop::option::of(any::<String>()),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(typed, pri, source_address, raw_size)| Extras {
            typed,
            pri,
            timestamp: None,
            source_address,
            raw_size,
        });
    prop::collection::vec((0u32..32, one), 0..4).prop_map(|mut v| {
        // The WIT world says ascending; a tampered guest may not keep to it.
        if v.len() % 2 == 0 {
            v.sort_by_key(|(i, _)| *i);
        }
        v
    })
}

fn block() -> impl Strategy<Value = MessageBlock> {
    (
        names(),
        wit_bytes(512),
        packed(32),
        packed(16),
        extras(),
        prop::option::of(prop::collection::vec(any::<u32>(), 0..8)),
    )
        .prop_map(
            |(names, values, value_lengths, counts, extras, closes)| MessageBlock {
                names,
                values,
                value_lengths,
                counts,
                extras,
                closes,
            },
        )
}

fn block_bytes(b: &MessageBlock) -> usize {
    let extras: usize = b
        .extras
        .iter()
        .map(|(_, e)| {
            64 + e
                .typed
                .iter()
                .map(|(k, v)| {
                    k.len()
                        + 32
                        + match v {
                            TypedValue::List(items) => items.iter().map(|i| i.len() + 24).sum(),
                            _ => 0,
                        }
                })
                .sum::<usize>()
                + e.source_address.as_ref().map_or(0, String::len)
        })
        .sum();
    b.names.len() + b.values.len() + b.value_lengths.len() + b.counts.len() + extras
}

proptest! {
    /// Whatever a guest sends, the gate neither panics nor lets through a
    /// message over the size limit or a name only the host may write, and
    /// the memory it takes is a small multiple of the block's own size.
    #[test]
    fn the_gate_takes_any_block(mut block in block(), max in 1u64..4096) {
        let input = block_bytes(&block);
        let mut gate = Gate::new(Arc::from("prop"), max);
        let mut accepted = 0u64;
        let mut bad = 0usize;
        let (verdict, peak) = measure(|| {
            gate.check_block(&mut block, |msg| {
                accepted += 1;
                if message_size(msg.pairs, msg.extras) > max
                    || msg.pairs.iter().any(|(k, _)| HOST_OWNED.contains(k))
                {
                    bad += 1;
                }
            })
        });
        prop_assert_eq!(verdict.accepted, accepted);
        prop_assert!(verdict.accepted <= verdict.posted);
        prop_assert_eq!(bad, 0);
        let bound = 48 * input + 4096;
        prop_assert!(peak <= bound, "{} bytes for a {}-byte block", peak, input);
    }
}

proptest! {
    /// Whatever passes the gate renders as OTLP records that decode with
    /// the protocol's own types: one record a message, its body MESSAGE's
    /// bytes (a string when they are UTF-8).
    #[test]
    fn what_passes_the_gate_decodes_as_otlp_records(mut block in block()) {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        use opentelemetry_proto::tonic::logs::v1::ScopeLogs;
        use prost::Message;

        let mut gate = Gate::new(Arc::from("prop"), 4096);
        let fields = SourceFields::new("prop", "host");
        let received = Received::now();
        let mut scratch = otlp::Scratch::default();
        let mut out = Vec::new();
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        gate.check_block(&mut block, |msg| {
            bodies.push(msg.value("MESSAGE").unwrap_or_default().to_vec());
            otlp::record(&mut out, &mut scratch, msg, &fields, &received);
        });
        let scope = ScopeLogs::decode(&out[..]);
        prop_assert!(scope.is_ok(), "{:?}", scope.err());
        let records = scope.map(|s| s.log_records).unwrap_or_default();
        prop_assert_eq!(records.len(), bodies.len());
        for (r, body) in records.iter().zip(&bodies) {
            let got = match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Value::StringValue(s)) => s.as_bytes().to_vec(),
                Some(Value::BytesValue(b)) => b.clone(),
                other => panic!("body {other:?}"),
            };
            prop_assert_eq!(&got, body);
        }
    }
}

/// A config value of any of the kinds operators write, absurd ones
/// included.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        (
            any::<u64>(),
            prop::sample::select(vec![
                "", "B", "KiB", "MiB", "GiB", "PiB", "EiB", "ms", "s", "h", "d", "y"
            ])
        )
            .prop_map(|(n, unit)| format!("\"{n}{unit}\"")),
        "\"[ -~]{0,16}\"",
        prop::collection::vec("\"[0-9.*:\\[\\]a-f/-]{0,16}\"", 0..3)
            .prop_map(|v| format!("[{}]", v.join(", "))),
    ]
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "memory",
        "exit_grace",
        "cpu",
        "dns",
        "max_message_size",
        "max_handles",
        "recycle_above",
        "log_rate",
        "log_burst",
        "max_state_size",
        "max_table_elements",
        "network.listen",
        "network.connect",
        "env",
        "files",
        "base",
        "tls.ca",
        "tls.allow_insecure",
        "tls.identities",
        "name",
        "class",
        "code",
        "script",
        "restart",
        "policy",
        "options",
        "destinations",
        "time_reopen",
        "type",
        "path",
        "address",
        "format",
        "transport",
        "queue",
        "log_iw_size",
        "flags",
        "shutdown_timeout",
        "endpoint",
        "protocol",
        "service_name",
        "resource_attributes",
        "headers",
        "compression",
        "max_records",
        "max_bytes",
        "max_delay",
        "timeout",
        "ca_file",
        "unknown_key",
    ])
}

fn table() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "[policy.default]",
        "[policy.p]",
        "[[source]]",
        "[[destination]]",
        "[identity.i]",
        "",
    ]);
    (header, prop::collection::vec((key(), value()), 0..8)).prop_map(|(h, pairs)| {
        let mut t = format!("{h}\n");
        for (k, v) in pairs {
            t.push_str(&format!("{k} = {v}\n"));
        }
        t
    })
}

fn config_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(table(), 0..6).prop_map(|t| t.concat()),
        1 => any::<String>(),
    ]
}

proptest! {
    /// Whatever an operator writes, loading it is a value or an error:
    /// never a panic, and never memory out of proportion to the text.
    #[test]
    fn the_config_parser_takes_any_text(text in config_text()) {
        let dir = std::env::temp_dir();
        let path = dir.join("sandlog-prop").join("sandlog.toml");
        let (_, peak) = measure(|| {
            let _ = Config::parse(Path::new(&path), &text);
        });
        let bound = 256 * text.len() + 1024 * 1024;
        prop_assert!(peak <= bound, "{} bytes for {} bytes of config", peak, text.len());
    }
}
