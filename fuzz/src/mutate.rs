//! Structure-aware mutators (libFuzzer custom mutators). Each keeps its target's corpus in the
//! plain wire or file format, so `tests/fuzz_corpora.rs` replays it on stable, and mutates
//! at the level of the format's items: it splits an input into frames / packets / records,
//! inserts, replaces, duplicates, reorders or drops whole items (new ones generated from
//! `arbitrary` shapes and encoded by zkserver's own encoders), edits inside multis and txns,
//! byte-mutates one item's payload and fixes its length so the change lands behind the
//! framing, or sets a length to a boundary value. A third of the time, and after a structural
//! change now and then, libFuzzer's own byte mutation runs: requests are encoded, then mutated.

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzzer_mutate;

use crate::shapes::{generate, ConnectShape, MultiShape, RequestShape, TxnShape};
use zkserver::proto::jute::{Jute, Reader};
use zkserver::proto::records::RequestHeader;
use zkserver::proto::request::Request;
use zkserver::proto::txn::Txn;

/// A small deterministic generator seeded by libFuzzer.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u32) -> Self {
        Rng((u64::from(seed) << 1 | 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// A shape built from fresh random bytes.
    pub fn shape<T: for<'a> arbitrary::Arbitrary<'a>>(&mut self) -> Option<T> {
        let n = 8 + self.below(400);
        generate(&self.bytes(n))
    }
}

/// libFuzzer's byte mutation of `v` (grown to room for `extra` more bytes).
pub fn byte_mutate(v: &mut Vec<u8>, extra: usize) {
    let len = v.len();
    v.resize(len + extra, 0);
    let n = fuzzer_mutate(v, len, len + extra);
    v.truncate(n);
}

/// Writes `out` into libFuzzer's buffer if it fits; the new size, or `None`.
pub fn emit(data: &mut [u8], max_size: usize, out: &[u8]) -> Option<usize> {
    if out.len() > max_size || out.len() > data.len() {
        return None;
    }
    data[..out.len()].copy_from_slice(out);
    Some(out.len())
}

/// Edits on a list of items; `gen` makes a new item. The first `keep` items are only
/// byte-mutated, never dropped or moved (a handshake, a side byte).
pub fn edit_items(
    rng: &mut Rng,
    items: &mut Vec<Vec<u8>>,
    keep: usize,
    gen: &mut dyn FnMut(&mut Rng) -> Option<Vec<u8>>,
) {
    let movable = items.len().saturating_sub(keep);
    let at = keep + rng.below(movable + 1);
    match rng.below(6) {
        0 | 1 => {
            if let Some(item) = gen(rng) {
                items.insert(at.min(items.len()), item);
            }
        }
        2 if movable > 0 => {
            if let Some(item) = gen(rng) {
                let i = keep + rng.below(movable);
                items[i] = item;
            }
        }
        3 if movable > 0 => {
            items.remove(keep + rng.below(movable));
        }
        4 if movable > 0 => {
            let i = keep + rng.below(movable);
            let copy = items[i].clone();
            items.insert(keep + rng.below(movable + 1), copy);
        }
        5 if movable > 1 => {
            let (i, j) = (keep + rng.below(movable), keep + rng.below(movable));
            items.swap(i, j);
        }
        _ => {
            if let Some(item) = gen(rng) {
                items.push(item);
            }
        }
    }
}

/// Splits `int length`-prefixed frames; the unframed rest is returned apart.
fn split_frames(data: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut frames = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let n = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if n < 0 || n as usize > rest.len() - 4 {
            break;
        }
        frames.push(rest[..4 + n as usize].to_vec());
        rest = &rest[4 + n as usize..];
    }
    (frames, rest.to_vec())
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Byte-mutates a frame's payload and re-frames it.
fn mutate_inside(rng: &mut Rng, f: &mut Vec<u8>) {
    let mut payload = f.get(4..).unwrap_or_default().to_vec();
    byte_mutate(&mut payload, 16 + rng.below(64));
    *f = frame(&payload);
}

/// Sets a frame's length prefix to a boundary value.
fn break_length(rng: &mut Rng, f: &mut [u8], cap: i32) {
    if f.len() < 4 {
        return;
    }
    let n = f.len() as i32 - 4;
    let v = [
        0,
        -1,
        -2,
        n - 1,
        n + 1,
        cap,
        cap + 1,
        i32::MAX,
        i32::MIN,
        1 << 20,
    ][rng.below(10)];
    f[..4].copy_from_slice(&v.to_be_bytes());
}

/// Edits the ops of a multi / multiRead request frame; `None` if it is not one.
fn edit_multi(rng: &mut Rng, f: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(Bytes::copy_from_slice(f.get(4..)?));
    let header = RequestHeader::read(&mut r).ok()?;
    let mut ops = match Request::decode(header.op, r.rest()).ok()? {
        Request::Multi(ops) | Request::MultiRead(ops) => ops,
        _ => return None,
    };
    let read = header.op == 22;
    let gen = |rng: &mut Rng| rng.shape::<MultiShape>().map(|s| s.render());
    match rng.below(4) {
        0 => {
            let op = gen(rng)?;
            ops.insert(rng.below(ops.len() + 1), op);
        }
        1 if !ops.is_empty() => {
            let i = rng.below(ops.len());
            ops[i] = gen(rng)?;
        }
        2 if !ops.is_empty() => {
            ops.remove(rng.below(ops.len()));
        }
        _ if !ops.is_empty() => {
            let i = rng.below(ops.len());
            ops.insert(rng.below(ops.len() + 1), ops[i].clone());
        }
        _ => ops.push(gen(rng)?),
    }
    let req = if read {
        Request::MultiRead(ops)
    } else {
        Request::Multi(ops)
    };
    let mut out = BytesMut::new();
    header.write(&mut out);
    req.write_body(&mut out);
    Some(frame(&out))
}

/// A client connection: a handshake frame, then request frames (`handshake`: the input starts
/// with one; the whole-server target sends its own unless asked not to).
pub fn client(data: &mut [u8], size: usize, max_size: usize, seed: u32, handshake: bool) -> usize {
    let mut rng = Rng::new(seed);
    let input = data[..size].to_vec();
    if rng.chance(3)
        || input
            .get(..4)
            .is_some_and(|b| b.iter().all(u8::is_ascii_lowercase))
    {
        return fuzzer_mutate(data, size, max_size);
    }
    let (mut frames, tail) = split_frames(&input);
    let keep = usize::from(handshake);
    if handshake && frames.is_empty() {
        frames.push(
            rng.shape::<ConnectShape>()
                .map_or_else(Vec::new, |c| c.frame()),
        );
    }
    let mut gen = |rng: &mut Rng| {
        let xid = 1 + rng.below(1000) as i32;
        rng.shape::<RequestShape>().map(|r| r.frame(xid))
    };
    match rng.below(10) {
        0..=4 => edit_items(&mut rng, &mut frames, keep, &mut gen),
        5 => {
            let multis: Vec<usize> = (keep..frames.len())
                .filter(|&i| edit_multi(&mut rng, &frames[i]).is_some())
                .collect();
            match multis.get(rng.below(multis.len().max(1))) {
                Some(&i) => {
                    if let Some(f) = edit_multi(&mut rng, &frames[i]) {
                        frames[i] = f;
                    }
                }
                None => edit_items(&mut rng, &mut frames, keep, &mut gen),
            }
        }
        6 if handshake && !frames.is_empty() => {
            if let Some(c) = rng.shape::<ConnectShape>() {
                frames[0] = c.frame();
            }
        }
        7 | 8 if !frames.is_empty() => {
            let i = rng.below(frames.len());
            mutate_inside(&mut rng, &mut frames[i]);
        }
        9 if !frames.is_empty() => {
            let i = rng.below(frames.len());
            break_length(&mut rng, &mut frames[i], 64 * 1024);
        }
        _ => edit_items(&mut rng, &mut frames, keep, &mut gen),
    }
    let mut out: Vec<u8> = frames.concat();
    if rng.chance(4) {
        out.extend_from_slice(&tail);
    }
    if rng.chance(5) {
        byte_mutate(&mut out, 32);
    }
    emit(data, max_size, &out).unwrap_or_else(|| fuzzer_mutate(data, size, max_size))
}

/// `int length + txn` records (the txn target, `txns.bin` layout).
pub fn txns(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    if rng.chance(3) {
        return fuzzer_mutate(data, size, max_size);
    }
    let (mut records, _) = split_frames(&data[..size]);
    let mut gen = |rng: &mut Rng| rng.shape::<TxnShape>().map(|t| frame(&t.encode()));
    match rng.below(8) {
        0..=4 => edit_items(&mut rng, &mut records, 0, &mut gen),
        5 if !records.is_empty() => {
            // Edit the entries of a multi txn, keeping its header and digest.
            let i = rng.below(records.len());
            if let Some(r) = edit_multi_txn(&mut rng, &records[i][4..]) {
                records[i] = frame(&r);
            }
        }
        6 | 7 if !records.is_empty() => {
            let i = rng.below(records.len());
            mutate_inside(&mut rng, &mut records[i]);
        }
        _ => edit_items(&mut rng, &mut records, 0, &mut gen),
    }
    let out = records.concat();
    emit(data, max_size, &out).unwrap_or_else(|| fuzzer_mutate(data, size, max_size))
}

fn edit_multi_txn(rng: &mut Rng, bytes: &[u8]) -> Option<Vec<u8>> {
    let (mut txn, digest) = Txn::decode_with_digest(Bytes::copy_from_slice(bytes)).ok()?;
    let zkserver::proto::txn::TxnBody::Multi(ops) = &mut txn.body else {
        return None;
    };
    let shape = rng.shape::<crate::shapes::TxnBodyShape>()?;
    if let (t, Some(body), _) = shape.render(1) {
        if let Some(op) = zkserver::proto::OpCode::from_i32(t) {
            match rng.below(3) {
                0 if !ops.is_empty() => {
                    ops.remove(rng.below(ops.len()));
                }
                1 if !ops.is_empty() => {
                    let i = rng.below(ops.len());
                    ops[i] = (op, body);
                }
                _ => ops.insert(rng.below(ops.len() + 1), (op, body)),
            }
        }
    }
    Some(match digest {
        Some(d) => txn.encode_with_digest(&d).to_vec(),
        None => txn.encode().to_vec(),
    })
}
