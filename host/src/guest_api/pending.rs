//! What a guest posted but did not hand over. A guest buffers what its
//! script posts and hands it over in blocks; an instance that traps (a
//! stack overflow, a host limit) or is interrupted after its exit grace
//! cannot hand over its buffer any more. So the guest tells the host once
//! where its buffer is (`register-pending`: the addresses of the CPython
//! objects of `_sandlog/runtime.py`), the host stops a guest that overran
//! its grace with a trap at its next epoch tick ([`stop_now`]) rather
//! than by dropping its call, and every trap carries a core dump of the
//! guest's memories (`Config::coredump_on_trap`), from which [`from_dump`]
//! reads the buffer.
//!
//! Everything read here is as untrusted as a block the guest sends: the
//! addresses and every word behind them are checked against the memory,
//! every object against the types that the probe's known contents prove
//! (a forged probe reads nothing), counts and sizes are bounded, and the
//! result is a [`MessageBlock`] that goes through the gate like any other.
//! The only thing this module trusts is CPython's object layout on wasm32,
//! which the probe checks at every read.

use wasmtime::AsContext;
use wasmtime::WasmCoreDump;

use super::GuestApi;
use crate::bindings::{MessageBlock, PendingArea};
use sandlog_guest::shared::{PENDING_PROBE_BYTES, PENDING_PROBE_STR, PENDING_PROBE_WORD};

/// The most messages taken from one buffer (a guest buffers at most
/// `guest_buffer` of them, which is far less).
const MAX_MESSAGES: u32 = 1 << 16;

/// The most bytes of names and values taken from one buffer.
const MAX_BYTES: usize = 64 << 20;

/// Whether the epoch callback should stop the guest now: the supervisor
/// asked for it when the guest overran its exit grace.
pub fn stop_now(api: &GuestApi) -> bool {
    api.interrupt_wanted()
}

/// The messages the guest of a trapped instance had posted and not handed
/// over (those the host already has are left out), from the memories in
/// the trap's core dump; None when there are none, when the trap has no
/// core dump or when the guest registered no buffer. What does not read
/// as a buffer is said and left.
pub fn from_dump<T: 'static>(
    store: impl AsContext<Data = T>,
    trap: &wasmtime::Error,
    api: impl Fn(&T) -> &GuestApi,
) -> Option<MessageBlock> {
    let dump = trap.downcast_ref::<WasmCoreDump>()?;
    let store = store.as_context();
    let api = api(store.data());
    let area = api.pending_area()?;
    let handed = api.handed();
    let mut refused = None;
    // The guest's buffer is in one of its memories (componentize-py's
    // component has a few): the one where the probe reads back.
    for memory in dump.memories() {
        match read(&Heap(memory.data(&store)), area, handed) {
            Ok(block) => return block,
            Err(why) => refused = Some(why),
        }
    }
    if let Some(why) = refused {
        tracing::error!(source = %api.name(), "cannot take the messages the guest had not handed over from its memory: {why}");
    }
    None
}

/// Reads the buffer that `area` describes; the messages past the first
/// `handed`, None when there are none.
fn read(heap: &Heap<'_>, area: &PendingArea, handed: u64) -> Result<Option<MessageBlock>, String> {
    let types = heap
        .probe(area.probe)
        .ok_or("its probe does not read back")?;
    let counts = heap
        .array(area.counts, types.array, 4, MAX_MESSAGES)
        .ok_or("its message counts are not an array('I') in its memory")?;
    let base = heap
        .array(area.handed, types.array, 8, 1)
        .filter(|b| b.len() == 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .ok_or("its count of handed messages is not an array('Q') of one")?;
    let n = counts.len() / 4;
    let skip = usize::try_from(handed.saturating_sub(base))
        .unwrap_or(usize::MAX)
        .min(n);
    if skip == n {
        return Ok(None);
    }
    let names = heap
        .list(area.names, types.list, u32::MAX)
        .ok_or("its names are not a list in its memory")?;
    let values = heap
        .list(area.values, types.list, u32::MAX)
        .ok_or("its values are not a list in its memory")?;
    let mut out = Recovered::default();
    let mut at = 0usize;
    for (i, count) in counts.chunks_exact(4).enumerate() {
        let count = u32::from_le_bytes([count[0], count[1], count[2], count[3]]) as usize;
        let end = at.checked_add(count).ok_or("a message count overflows")?;
        if i >= skip {
            let (Some(names), Some(values)) = (names.get(at..end), values.get(at..end)) else {
                // A count without its pairs: the guest's own code never
                // leaves one; a forged buffer ends here.
                break;
            };
            if !out.message(heap, &types, names, values) {
                break;
            }
        }
        at = end;
    }
    Ok(out.block())
}

/// The messages taken so far, in the block format of the WIT world.
#[derive(Default)]
struct Recovered {
    names: String,
    values: String,
    lengths: Vec<u8>,
    counts: Vec<u8>,
    bytes: usize,
}

impl Recovered {
    /// Adds one message of the given pair objects; false (and nothing
    /// added) when one does not read as a str name and a bytes value, or
    /// when the bound is reached.
    fn message(&mut self, heap: &Heap<'_>, types: &Types, names: &[u32], values: &[u32]) -> bool {
        let mut pairs = Vec::with_capacity(names.len());
        let mut size = 0usize;
        for (&name, &value) in names.iter().zip(values) {
            let (Some(name), Some(value)) =
                (heap.str(name, types.str), heap.bytes(value, types.bytes))
            else {
                return false;
            };
            // NUL separates the names of a block.
            if name.contains('\0') {
                return false;
            }
            size = size.saturating_add(name.len() + value.len());
            pairs.push((name, value));
        }
        if self.bytes.saturating_add(size) > MAX_BYTES {
            return false;
        }
        self.bytes += size;
        for (name, value) in pairs {
            if !(self.names.is_empty() && self.counts.is_empty()) {
                self.names.push('\0');
            }
            self.names.push_str(&name);
            // One character a byte, as the WIT world's `bytes`.
            self.values.extend(value.iter().map(|&b| char::from(b)));
            self.lengths
                .extend_from_slice(&(value.len() as u32).to_le_bytes());
        }
        self.counts
            .extend_from_slice(&(names.len() as u32).to_le_bytes());
        true
    }

    fn block(self) -> Option<MessageBlock> {
        if self.counts.is_empty() {
            return None;
        }
        let latin1 = |b: Vec<u8>| b.into_iter().map(char::from).collect::<String>();
        Some(MessageBlock {
            names: self.names,
            values: self.values,
            value_lengths: latin1(self.lengths),
            counts: latin1(self.counts),
            extras: Vec::new(),
            closes: None,
        })
    }
}

/// The addresses of CPython's type objects, as the probe proved them.
struct Types {
    list: u32,
    str: u32,
    bytes: u32,
    array: u32,
}

/// A guest's linear memory, read as CPython 3.14 on wasm32 lays out its
/// objects: a 4-byte reference count and type pointer, then for a
/// variable-size object its size. Every read is checked; none panics.
struct Heap<'a>(&'a [u8]);

impl Heap<'_> {
    fn slice(&self, addr: u32, len: usize) -> Option<&[u8]> {
        let start = addr as usize;
        self.0.get(start..start.checked_add(len)?)
    }

    fn word(&self, addr: u32) -> Option<u32> {
        let b = self.slice(addr, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The word at `offset` of the object at `obj`.
    fn field(&self, obj: u32, offset: u32) -> Option<u32> {
        self.word(obj.checked_add(offset)?)
    }

    /// The object at `obj` is of type `ty` (exactly: no subclass).
    fn is(&self, obj: u32, ty: u32) -> bool {
        obj != 0 && self.field(obj, 4) == Some(ty)
    }

    /// The types of list, str, bytes and array.array, if `probe` is a list
    /// holding the known str, bytes and array('I').
    fn probe(&self, probe: u32) -> Option<Types> {
        let list = self.field(probe, 4)?;
        let items = self.items(probe, 3)?;
        let [s, b, a] = items[..] else { return None };
        let types = Types {
            list,
            str: self.field(s, 4)?,
            bytes: self.field(b, 4)?,
            array: self.field(a, 4)?,
        };
        let distinct = [types.list, types.str, types.bytes, types.array];
        if distinct
            .iter()
            .enumerate()
            .any(|(i, t)| distinct[..i].contains(t))
        {
            return None;
        }
        let word = self.array(a, types.array, 4, 1)?;
        let ok = self.str(s, types.str)? == PENDING_PROBE_STR
            && self.bytes(b, types.bytes)? == PENDING_PROBE_BYTES
            && word == PENDING_PROBE_WORD.to_le_bytes();
        ok.then_some(types)
    }

    /// The item pointers of a list object (size at 8, items at 12), at
    /// most `max` of them.
    fn items(&self, obj: u32, max: u32) -> Option<Vec<u32>> {
        let size = self.field(obj, 8)?;
        if size > max {
            return None;
        }
        let items = self.field(obj, 12)?;
        let raw = self.slice(items, size as usize * 4)?;
        Some(
            raw.chunks_exact(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect(),
        )
    }

    fn list(&self, obj: u32, list_type: u32, max: u32) -> Option<Vec<u32>> {
        if !self.is(obj, list_type) {
            return None;
        }
        self.items(obj, max)
    }

    /// The contents of a bytes object (size at 8, data at 16).
    fn bytes(&self, obj: u32, bytes_type: u32) -> Option<&[u8]> {
        if !self.is(obj, bytes_type) {
            return None;
        }
        let size = self.field(obj, 8)?;
        self.slice(obj.checked_add(16)?, size as usize)
    }

    /// The contents of an array.array of `itemsize`-byte items (size at 8,
    /// items at 12, its type descriptor at 20 with the item size at 4), at
    /// most `max` items.
    fn array(&self, obj: u32, array_type: u32, itemsize: u32, max: u32) -> Option<&[u8]> {
        if !self.is(obj, array_type) {
            return None;
        }
        let descr = self.field(obj, 20)?;
        if self.field(descr, 4)? != itemsize {
            return None;
        }
        let size = self.field(obj, 8)?;
        if size > max {
            return None;
        }
        let items = self.field(obj, 12)?;
        self.slice(items, size as usize * itemsize as usize)
    }

    /// A compact str object: its length in code points at 8, its state
    /// bits at 16 (kind at bits 2-4, compact at 5, ASCII at 6), and its
    /// code points right after the header: 20 bytes for ASCII, 28 for
    /// the others.
    fn str(&self, obj: u32, str_type: u32) -> Option<String> {
        if !self.is(obj, str_type) {
            return None;
        }
        let length = self.field(obj, 8)? as usize;
        let state = self.field(obj, 16)?;
        let (kind, compact, ascii) = ((state >> 2) & 7, (state >> 5) & 1, (state >> 6) & 1);
        if compact != 1 {
            return None;
        }
        let data = obj.checked_add(if ascii == 1 { 20 } else { 28 })?;
        match kind {
            1 => {
                let raw = self.slice(data, length)?;
                if ascii == 1 && !raw.is_ascii() {
                    return None;
                }
                Some(raw.iter().map(|&b| char::from(b)).collect())
            }
            2 => self
                .slice(data, length.checked_mul(2)?)?
                .chunks_exact(2)
                .map(|c| char::from_u32(u32::from(u16::from_le_bytes([c[0], c[1]]))))
                .collect(),
            4 => self
                .slice(data, length.checked_mul(4)?)?
                .chunks_exact(4)
                .map(|c| char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A memory with objects laid out as CPython lays them out, built by
    /// hand: the layout the probe checks.
    struct Builder {
        mem: Vec<u8>,
    }

    const LIST_T: u32 = 0x100;
    const STR_T: u32 = 0x200;
    const BYTES_T: u32 = 0x300;
    const ARRAY_T: u32 = 0x400;
    const DESCR4: u32 = 0x500;
    const DESCR8: u32 = 0x510;

    impl Builder {
        fn new() -> Self {
            let mut b = Builder {
                mem: vec![0; 0x1000],
            };
            b.put(DESCR4 + 4, 4);
            b.put(DESCR8 + 4, 8);
            b
        }
        fn put(&mut self, at: u32, w: u32) {
            let at = at as usize;
            self.mem[at..at + 4].copy_from_slice(&w.to_le_bytes());
        }
        fn alloc(&mut self, bytes: &[u8]) -> u32 {
            while !self.mem.len().is_multiple_of(8) {
                self.mem.push(0);
            }
            let at = self.mem.len() as u32;
            self.mem.extend_from_slice(bytes);
            at
        }
        fn obj(&mut self, ty: u32, rest: &[u32], tail: &[u8]) -> u32 {
            let mut raw = vec![1u8, 0, 0, 0];
            raw.extend_from_slice(&ty.to_le_bytes());
            for w in rest {
                raw.extend_from_slice(&w.to_le_bytes());
            }
            raw.extend_from_slice(tail);
            self.alloc(&raw)
        }
        fn str(&mut self, s: &str) -> u32 {
            let ascii = s.is_ascii();
            let state = (1 << 2) | (1 << 5) | (u32::from(ascii) << 6);
            let data: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
            let mut rest = vec![s.chars().count() as u32, 0, state];
            if !ascii {
                rest.extend([0, 0]);
            }
            self.obj(STR_T, &rest, &data)
        }
        fn bytes(&mut self, b: &[u8]) -> u32 {
            self.obj(BYTES_T, &[b.len() as u32, 0], b)
        }
        fn list(&mut self, items: &[u32]) -> u32 {
            let raw: Vec<u8> = items.iter().flat_map(|i| i.to_le_bytes()).collect();
            let at = self.alloc(&raw);
            self.obj(LIST_T, &[items.len() as u32, at, items.len() as u32], &[])
        }
        fn array(&mut self, raw: &[u8], itemsize: u32) -> u32 {
            let at = self.alloc(raw);
            let descr = if itemsize == 4 { DESCR4 } else { DESCR8 };
            let n = raw.len() as u32 / itemsize;
            self.obj(ARRAY_T, &[n, at, n, descr], &[])
        }
        fn area(&mut self, msgs: &[&[(&str, &[u8])]], handed: u64) -> PendingArea {
            let (mut names, mut values, mut counts) = (vec![], vec![], vec![]);
            for m in msgs {
                for (k, v) in *m {
                    names.push(self.str(k));
                    values.push(self.bytes(v));
                }
                counts.extend((m.len() as u32).to_le_bytes());
            }
            let s = self.str(PENDING_PROBE_STR);
            let b = self.bytes(&PENDING_PROBE_BYTES);
            let a = self.array(&PENDING_PROBE_WORD.to_le_bytes(), 4);
            PendingArea {
                names: self.list(&names),
                values: self.list(&values),
                counts: self.array(&counts, 4),
                handed: self.array(&handed.to_le_bytes(), 8),
                probe: self.list(&[s, b, a]),
            }
        }
    }

    #[test]
    fn reads_the_messages_past_those_the_host_has() {
        let mut b = Builder::new();
        let one: &[(&str, &[u8])] = &[("MESSAGE", b"one"), ("K", b"\xff")];
        let two: &[(&str, &[u8])] = &[("MESSAGE", b"two")];
        let area = b.area(&[one, two], 10);
        let heap = Heap(&b.mem);
        let all = read(&heap, &area, 10).unwrap().unwrap();
        assert_eq!(all.names, "MESSAGE\0K\0MESSAGE");
        assert_eq!(all.values, "one\u{ff}two");
        assert_eq!(all.counts, "\u{2}\0\0\0\u{1}\0\0\0");
        let last = read(&heap, &area, 11).unwrap().unwrap();
        assert_eq!(last.values, "two");
        assert!(read(&heap, &area, 12).unwrap().is_none());
    }

    #[test]
    fn reads_nothing_without_its_probe() {
        let mut b = Builder::new();
        let one: &[(&str, &[u8])] = &[("MESSAGE", b"one")];
        let mut area = b.area(&[one], 0);
        area.probe = area.names;
        assert!(read(&Heap(&b.mem), &area, 0).is_err());
    }

    #[test]
    fn addresses_out_of_memory_read_nothing() {
        let mut b = Builder::new();
        let one: &[(&str, &[u8])] = &[("MESSAGE", b"one")];
        let area = b.area(&[one], 0);
        for field in 0..5 {
            let mut bad = area;
            let f = match field {
                0 => &mut bad.names,
                1 => &mut bad.values,
                2 => &mut bad.counts,
                3 => &mut bad.handed,
                _ => &mut bad.probe,
            };
            *f = u32::MAX - 3;
            assert!(read(&Heap(&b.mem), &bad, 0).is_err(), "field {field}");
        }
    }

    #[test]
    fn a_count_past_the_pairs_ends_the_block() {
        let mut b = Builder::new();
        let one: &[(&str, &[u8])] = &[("MESSAGE", b"one")];
        let area = b.area(&[one, one], 0);
        // The second count claims a million pairs.
        let counts_items = Heap(&b.mem).field(area.counts, 12).unwrap();
        b.put(counts_items + 4, 1_000_000);
        let block = read(&Heap(&b.mem), &area, 0).unwrap().unwrap();
        assert_eq!(block.values, "one");
    }
}
