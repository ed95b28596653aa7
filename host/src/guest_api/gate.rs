//! The gate: what a guest sends becomes checked values here, and nowhere
//! else. Everything in a message block comes from an untrusted guest,
//! whatever the `syslogng` package inside it promises: a block whose parts
//! do not add up is refused (and said so), never read out of bounds; a
//! message over `max_message_size` is refused even from a guest that
//! skipped its own check; a pair named like a field only the host sets
//! ([`HOST_OWNED`]) is dropped, so that no source can pass itself off as
//! another; a log line is cut at [`MAX_LOG_LINE`]. What leaves the gate is
//! a [`MessageView`] the formatters only format.

use std::borrow::Cow;
use std::sync::Arc;

use crate::bindings::{Extras, MessageBlock, TypedValue};
use crate::pipeline::message::{MessageView, Pair, Verdict};

/// Names whose value the host computes for every message. The guest's
/// `syslogng` package refuses to set them (it has the same list, generated
/// from the same source); a pair with one of these names can only come
/// from a tampered guest and is never written.
pub const HOST_OWNED: [&str; 8] = sandlog_guest::shared::HOST_OWNED_NAMES;

/// The longest transport name, in bytes.
pub const MAX_TRANSPORT_NAME: usize = sandlog_guest::shared::MAX_TRANSPORT_NAME as usize;

/// Names the formatters write in a place of their own; a typed value
/// under one of them has nowhere to go.
const WRITTEN_APART: [&str; 2] = ["MESSAGE", "HOST"];

/// One source's gate.
pub struct Gate {
    name: Arc<str>,
    max_message_size: u64,
    /// The script set a transport name: a TRANSPORT pair of its own is
    /// overridden by it.
    transport_set: bool,
}

impl Gate {
    pub fn new(name: Arc<str>, max_message_size: u64) -> Self {
        Self {
            name,
            max_message_size,
            transport_set: false,
        }
    }

    /// Whether `name` may be the source's transport name: at most
    /// [`MAX_TRANSPORT_NAME`] bytes, since it is written into every message
    /// after it (a refused name is said, and the old one stays).
    pub fn transport(&mut self, name: &str) -> bool {
        if name.len() > MAX_TRANSPORT_NAME || name.contains('\0') {
            tracing::warn!(source = %self.name, bytes = name.len(), "refused a transport name over {MAX_TRANSPORT_NAME} bytes (or with a NUL); the previous one stays");
            return false;
        }
        self.transport_set = true;
        true
    }

    /// Checks a block and hands each message that passes to `accept`, in
    /// order.
    pub fn check_block(
        &mut self,
        block: &mut MessageBlock,
        mut accept: impl FnMut(MessageView<'_>),
    ) -> Verdict {
        let refused_typed = self.drop_host_owned_typed(block);
        let block = &*block;
        let decoded = (
            latin1(&block.values),
            latin1(&block.value_lengths).map(|b| packed_u32s(&b)),
            latin1(&block.counts).map(|b| packed_u32s(&b)),
        );
        let (Some(values), Some(value_lengths), Some(counts)) = decoded else {
            tracing::error!(source = %self.name, "malformed message block from the guest (not bytes); refused");
            return Verdict {
                posted: block_len(block),
                accepted: 0,
            };
        };
        let posted = counts.len() as u64;
        let mut pairs = Vec::new();
        let split = split_pairs(&block.names, &values, &value_lengths, &mut pairs);
        let mut extras = block.extras.iter().peekable();
        let mut at = 0usize;
        let mut accepted = 0u64;
        let mut refused_pairs = refused_typed;
        let mut kept: Vec<Pair<'_>> = Vec::new();
        for (index, &count) in counts.iter().enumerate() {
            let end = at.saturating_add(count as usize);
            let (Some(()), Some(msg_pairs)) = (split, pairs.get(at..end)) else {
                tracing::error!(source = %self.name, refused = counts.len() - index, "malformed message block from the guest; refused");
                break;
            };
            let extra = match extras.peek() {
                Some((i, _)) if *i as usize == index => extras.next().map(|(_, e)| e),
                _ => None,
            };
            at = end;
            let size = message_size(msg_pairs, extra);
            if size > self.max_message_size {
                tracing::error!(source = %self.name, size, "refused a message over max_message_size");
                continue;
            }
            let owned = msg_pairs
                .iter()
                .filter(|(k, _)| HOST_OWNED.contains(k))
                .count();
            let pairs = if owned == 0 {
                msg_pairs
            } else {
                refused_pairs += owned;
                kept.clear();
                kept.extend(msg_pairs.iter().filter(|(k, _)| !HOST_OWNED.contains(k)));
                &kept[..]
            };
            accept(MessageView {
                pairs,
                extras: extra,
            });
            accepted += 1;
        }
        if refused_pairs > 0 {
            tracing::warn!(source = %self.name, refused_pairs, "refused pairs named like fields sandlog computes (SOURCE, PRI, ...)");
        }
        Verdict { posted, accepted }
    }

    /// Drops the typed pairs that may not be written under their name;
    /// returns how many.
    fn drop_host_owned_typed(&self, block: &mut MessageBlock) -> usize {
        let mut refused = 0;
        for (_, extras) in &mut block.extras {
            let before = extras.typed.len();
            extras.typed.retain(|(k, _)| {
                let k = k.as_str();
                !(HOST_OWNED.contains(&k)
                    || WRITTEN_APART.contains(&k)
                    || (k == "TRANSPORT" && self.transport_set))
            });
            refused += before - extras.typed.len();
        }
        refused
    }
}

/// Longest line a guest may send to the host log; longer ones are cut and
/// marked, so a guest cannot make the host buffer without bound.
pub const MAX_LOG_LINE: usize = 16 * 1024;

/// `text` cut to [`MAX_LOG_LINE`] bytes (on a character boundary), marked
/// with how much was cut.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_LOG_LINE {
        return text.into();
    }
    let mut end = MAX_LOG_LINE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... [{} bytes cut]", &text[..end], text.len() - end).into()
}

/// What a source may put into the host log: `rate` lines a second, in
/// bursts of up to `burst` (a token bucket), shared by its log calls and
/// its raw stdout and stderr. Lines past it are counted, and the count is
/// said (at most once a second, and when the source ends) so that the
/// operator knows what a flooding source lost.
pub struct LogBudget {
    source: Arc<str>,
    rate: f64,
    burst: f64,
    state: std::sync::Mutex<Bucket>,
    metrics: Arc<crate::metrics::SourceMetrics>,
}

struct Bucket {
    tokens: f64,
    last: std::time::Instant,
    suppressed: u64,
    reported: std::time::Instant,
}

impl LogBudget {
    pub fn new(
        source: Arc<str>,
        rate: u32,
        burst: u32,
        metrics: Arc<crate::metrics::SourceMetrics>,
    ) -> Self {
        let now = std::time::Instant::now();
        Self {
            source,
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            state: std::sync::Mutex::new(Bucket {
                tokens: f64::from(burst.max(1)),
                last: now,
                suppressed: 0,
                reported: now,
            }),
            metrics,
        }
    }

    /// Whether one more line may go to the host log now.
    pub fn admit(&self) -> bool {
        let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.last = now;
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        let admitted = b.tokens >= 1.0;
        if admitted {
            b.tokens -= 1.0;
        } else {
            b.suppressed += 1;
            self.metrics
                .log_suppressed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if b.suppressed > 0 && now.duration_since(b.reported) >= std::time::Duration::from_secs(1) {
            let n = std::mem::take(&mut b.suppressed);
            b.reported = now;
            drop(b);
            self.report(n);
        }
        admitted
    }

    /// Says what is still suppressed (when the source ends).
    pub fn finish(&self) {
        let n = {
            let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut b.suppressed)
        };
        if n > 0 {
            self.report(n);
        }
    }

    fn report(&self, n: u64) {
        tracing::warn!(source = %self.source, suppressed = n, "{n} lines from source {} suppressed: it logs faster than its policy's log_rate allows", self.source);
    }
}

/// How many messages a block holds, as its counts say.
pub fn block_len(block: &MessageBlock) -> u64 {
    latin1(&block.counts).map_or(0, |b| (b.len() / 4) as u64)
}

/// The bytes of a WIT `bytes` string (one character per byte, see the WIT
/// world): borrowed when ASCII, the common case; None when a character is
/// beyond one byte, which only a tampered guest sends.
pub fn latin1(s: &str) -> Option<Cow<'_, [u8]>> {
    if s.is_ascii() {
        return Some(Cow::Borrowed(s.as_bytes()));
    }
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
        .map(Cow::Owned)
}

/// Appends the bytes of a WIT `bytes` string to `out`, decoding its UTF-8
/// by hand (a character is one byte, so a lead byte is 0xC2 or 0xC3): the
/// TLS path sends mostly non-ASCII. False, with `out` unspecified, when a
/// character is beyond one byte.
pub fn latin1_into(s: &str, out: &mut Vec<u8>) -> bool {
    let b = s.as_bytes();
    out.reserve(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            // A run of ASCII at once.
            let run = b[i..].iter().take_while(|&&x| x < 0x80).count();
            out.extend_from_slice(&b[i..i + run]);
            i += run;
        } else if (c == 0xC2 || c == 0xC3) && i + 1 < b.len() {
            out.push(((c & 0x03) << 6) | (b[i + 1] & 0x3F));
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// The bytes of a WIT `hex` string (two lower- or upper-case hex digits a
/// byte), appended to `out`; false when it is not hex. A table lookup a
/// digit: this runs for every TLS record a guest receives.
pub fn hex_into(s: &str, out: &mut Vec<u8>) -> bool {
    const BAD: u8 = 0xFF;
    const TABLE: [u8; 256] = {
        let mut t = [BAD; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return false;
    }
    let start = out.len();
    out.resize(start + b.len() / 2, 0);
    let mut bad = 0u8;
    for (o, p) in out[start..].iter_mut().zip(b.chunks_exact(2)) {
        let (hi, lo) = (TABLE[p[0] as usize], TABLE[p[1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | lo;
    }
    bad & 0xF0 == 0
}

/// Reads packed little-endian u32s (a trailing partial one is ignored and
/// makes the block's lengths fail to add up).
pub fn packed_u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The size of a message as `max_message_size` counts it, the same way
/// the guest does: characters of names and bytes of values, plus for typed
/// pairs their name and the bytes of a list's items (8 for other types).
pub fn message_size(pairs: &[Pair<'_>], extras: Option<&Extras>) -> u64 {
    let names: u64 = pairs.iter().map(|(n, _)| n.chars().count() as u64).sum();
    let values: u64 = pairs.iter().map(|(_, v)| v.len() as u64).sum();
    let typed: u64 = extras.map_or(0, |e| {
        e.typed
            .iter()
            .map(|(k, v)| {
                k.chars().count() as u64
                    + match v {
                        TypedValue::List(items) => {
                            items.iter().map(|i| i.chars().count() as u64).sum()
                        }
                        _ => 8,
                    }
            })
            .sum()
    });
    names + values + typed
}

/// Splits the pairs of a message block into `out`: names joined by NUL;
/// values joined by NUL when `value_lengths` is empty, else joined and
/// counted in bytes. None when the parts do not add up, which only a
/// tampered guest can cause.
pub fn split_pairs<'a>(
    names: &'a str,
    values: &'a [u8],
    value_lengths: &[u32],
    out: &mut Vec<Pair<'a>>,
) -> Option<()> {
    if names.is_empty() {
        return (values.is_empty() && value_lengths.is_empty()).then_some(());
    }
    let mut names = names.split('\0');
    if value_lengths.is_empty() {
        for value in values.split(|&b| b == 0) {
            out.push((names.next()?, value));
        }
    } else {
        out.reserve(value_lengths.len());
        let mut v_at = 0usize;
        for &vl in value_lengths {
            let v_end = v_at.checked_add(vl as usize)?;
            out.push((names.next()?, values.get(v_at..v_end)?));
            v_at = v_end;
        }
        if v_at != values.len() {
            return None;
        }
    }
    names.next().is_none().then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(v: &[u32]) -> String {
        v.iter()
            .flat_map(|n| n.to_le_bytes())
            .map(char::from)
            .collect()
    }

    fn block(
        names: &str,
        values: &str,
        counts: &[u32],
        extras: Vec<(u32, Extras)>,
    ) -> MessageBlock {
        MessageBlock {
            names: names.into(),
            values: values.into(),
            value_lengths: String::new(),
            counts: packed(counts),
            extras,
            closes: None,
        }
    }

    /// The pairs of each message a gate let through, owned.
    type Seen = Vec<Vec<(String, Vec<u8>)>>;

    fn accepted(gate: &mut Gate, b: &mut MessageBlock) -> (Verdict, Seen) {
        let mut seen = Vec::new();
        let v = gate.check_block(b, |m| {
            seen.push(
                m.pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
                    .collect(),
            )
        });
        (v, seen)
    }

    #[test]
    fn splits_joined_pairs_by_nul_and_bytes() {
        let mut nul = Vec::new();
        split_pairs("MESSAGE\0caf\u{e9}\0x", b"hi\0\xff\0abc", &[], &mut nul);
        let mut out = Vec::new();
        split_pairs("MESSAGE\0caf\u{e9}\0x", b"hi\xffabc", &[2, 1, 3], &mut out);
        assert_eq!(nul, out);
        assert_eq!(
            out,
            vec![
                ("MESSAGE", &b"hi"[..]),
                ("caf\u{e9}", &b"\xff"[..]),
                ("x", &b"abc"[..])
            ]
        );
        let mut bad = Vec::new();
        // Fewer names than values, more names than values, values too short.
        assert!(split_pairs("a", b"", &[0, 0], &mut bad).is_none());
        assert!(split_pairs("a\0b", b"", &[0], &mut bad).is_none());
        assert!(split_pairs("a\0b", b"x", &[0, 5], &mut bad).is_none());
        // More values than names, more names than values, joined by NUL.
        assert!(split_pairs("a", b"x\0y", &[], &mut bad).is_none());
        assert!(split_pairs("a\0b", b"x", &[], &mut bad).is_none());
        // An empty block has no names and no values at all.
        assert!(split_pairs("", b"", &[], &mut bad).is_some());
        assert!(split_pairs("", b"x", &[], &mut bad).is_none());
        assert!(split_pairs("", b"", &[0], &mut bad).is_none());
    }

    #[test]
    fn latin1_into_decodes_every_byte() {
        let all: String = (0u8..=255).map(char::from).collect();
        let mut out = Vec::new();
        assert!(latin1_into(&all, &mut out));
        assert_eq!(out, (0u8..=255).collect::<Vec<_>>());
        assert!(!latin1_into("\u{100}", &mut Vec::new()));
        assert!(!latin1_into("\u{20ac}", &mut Vec::new()));
    }

    #[test]
    fn hex_into_decodes_and_refuses() {
        let mut out = Vec::new();
        assert!(hex_into("00ff7Fa0", &mut out));
        assert_eq!(out, [0x00, 0xff, 0x7f, 0xa0]);
        assert!(!hex_into("0", &mut Vec::new()));
        assert!(!hex_into("0g", &mut Vec::new()));
        assert!(!hex_into("\u{e9}0", &mut Vec::new()));
    }

    #[test]
    fn latin1_bytes_round_trip() {
        assert_eq!(latin1("abc").as_deref(), Some(&b"abc"[..]));
        assert_eq!(latin1("\u{ff}\u{0}x").as_deref(), Some(&b"\xff\x00x"[..]));
        assert!(latin1("\u{100}").is_none());
        assert_eq!(packed_u32s(&[1, 0, 0, 0, 0, 1, 0, 0, 9]), vec![1, 256]);
    }

    #[test]
    fn host_owned_names_never_pass() {
        let mut gate = Gate::new("mine".into(), 1 << 16);
        let typed = Extras {
            typed: vec![
                ("SOURCE".into(), TypedValue::Integer(1)),
                ("HOST".into(), TypedValue::Integer(2)),
                ("n".into(), TypedValue::Integer(3)),
            ],
            pri: None,
            timestamp: None,
            source_address: None,
            raw_size: None,
        };
        let mut b = block("SOURCE\0PRI\0x", "other\x000\x001", &[3], vec![(0, typed)]);
        let (v, seen) = accepted(&mut gate, &mut b);
        assert_eq!(
            v,
            Verdict {
                posted: 1,
                accepted: 1
            }
        );
        assert_eq!(seen, vec![vec![("x".to_owned(), b"1".to_vec())]]);
        let kept: Vec<&str> = b.extras[0]
            .1
            .typed
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(kept, ["n"]);
    }

    #[test]
    fn oversized_and_malformed_messages_are_refused() {
        let mut gate = Gate::new("s".into(), 4);
        // The second message is 1 + 5 bytes; the third's pair is missing.
        let mut b = block("a\0b", "1\x0012345", &[1, 1, 1], vec![]);
        let (v, seen) = accepted(&mut gate, &mut b);
        assert_eq!(
            v,
            Verdict {
                posted: 3,
                accepted: 1
            }
        );
        assert_eq!(seen, vec![vec![("a".to_owned(), b"1".to_vec())]]);
        let mut b = block("a\0b", "1\x00234", &[1, 1], vec![]);
        assert_eq!(accepted(&mut gate, &mut b).0.accepted, 2);
        let mut b = block("a", "\u{100}", &[1], vec![]);
        assert_eq!(
            accepted(&mut gate, &mut b).0,
            Verdict {
                posted: 1,
                accepted: 0
            }
        );
    }
}
