//! Memory rows from the trace: the memory of every context is replayed once per subblock, from
//! its start (every recorded write, in step order), and kept at each shard boundary
//! ([`ImageReplay`], part of the subblock's analysis); then every access of a shard's steps
//! becomes a row (reads check the replayed content against the step's value), and every word
//! the shard touches gets a bound row with its content at the shard's start and end.

use core::borrow::BorrowMut;
use core::ops::Range;
use std::collections::{BTreeMap, HashMap};

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_executor::trace::{AccessKind, STEP_OK, SubblockTrace, Word};

use super::columns::{MemoryCols, NUM_MEMORY_COLS, WORD_BYTES};
use crate::chips::carry::CarryToken;
use crate::chips::cpu::trace::{SubblockAnalysis, step_words};
use crate::chips::range::trace::RangeCounts;
use crate::error::TraceError;
use crate::opcodes;
use crate::word::limbs;

/// Memory offsets and areas the AIR represents: below 2^29 bytes (an offset's high limb below
/// 2^13), far more than any block's gas can pay for.
pub const MAX_MEMORY: u64 = 1 << 29;

/// What a memory row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Load,
    Store,
    Store8,
    Chunk,
    Bound,
}

/// One row of the memory table (see [`MemoryCols`]).
#[derive(Clone, Debug)]
pub struct MemRow {
    pub kind: Kind,
    pub ctx: u32,
    pub word: u32,
    pub ts: u32,
    pub k: usize,
    pub old_a: [u8; WORD_BYTES],
    pub new_a: [u8; WORD_BYTES],
    pub ts_a: u32,
    pub old_b: [u8; WORD_BYTES],
    pub new_b: [u8; WORD_BYTES],
    pub ts_b: u32,
    /// Op rows: the value, big-endian.
    pub value: [u8; WORD_BYTES],
    /// Chunk rows: the last byte of word A inside the area, its area, and where the area lies.
    pub last: usize,
    pub start: u32,
    pub end: u32,
    pub start_before: bool,
    pub end_after: bool,
    pub carried: bool,
    /// Bound rows: the final content is carried out / the context ended in the shard.
    pub out: bool,
    pub dead: bool,
    /// Op rows: memory words before and after, and the step's gas.
    pub mw: u32,
    pub mw_next: u32,
    pub cost: u32,
}

impl MemRow {
    fn new(kind: Kind, ctx: u32, word: u32, ts: u32) -> Self {
        MemRow {
            kind,
            ctx,
            word,
            ts,
            k: 0,
            old_a: [0; WORD_BYTES],
            new_a: [0; WORD_BYTES],
            ts_a: 0,
            old_b: [0; WORD_BYTES],
            new_b: [0; WORD_BYTES],
            ts_b: 0,
            value: [0; WORD_BYTES],
            last: 0,
            start: 0,
            end: 0,
            start_before: false,
            end_after: false,
            carried: false,
            out: false,
            dead: false,
            mw: 0,
            mw_next: 0,
            cost: 0,
        }
    }

    fn touches_b(&self) -> bool {
        matches!(self.kind, Kind::Load | Kind::Store) && self.k > 0
    }
}

/// A shard's memory rows: bound rows (sorted by context and word), then the accesses in step
/// order.
#[derive(Clone, Debug, Default)]
pub struct MemoryRows {
    pub rows: Vec<MemRow>,
    /// Chunk rows per step writing trusted bytes (the multiplicity of its area on the CPU row).
    pub chunks: HashMap<usize, u32>,
    /// Bound rows whose initial content is carried in (non-zero).
    pub carried: u32,
    /// Per context ending in the shard, its bound rows (which look its end up on the CPU row).
    pub dead: HashMap<u32, u32>,
    /// The words taken in and handed on (non-zero words of the contexts alive at the shard's
    /// start / end), sorted by (context, word): the bound rows' order.
    pub incoming: Vec<CarryToken>,
    pub outgoing: Vec<CarryToken>,
}

/// Big-endian bytes of a word.
pub fn be_bytes(w: &Word) -> [u8; WORD_BYTES] {
    let mut b = [0u8; WORD_BYTES];
    for (i, l) in w.0.iter().enumerate() {
        let o = WORD_BYTES - 4 * (i + 1);
        b[o..o + 4].copy_from_slice(&l.to_be_bytes());
    }
    b
}

/// A stack word as a memory offset or length the AIR represents (`None`: at least
/// [`MAX_MEMORY`]).
pub fn small_offset(w: &Word) -> Option<u32> {
    let l = limbs(w);
    let v = l[0] as u64 | (l[1] as u64) << 16;
    (l[2..].iter().all(|&x| x == 0) && v < MAX_MEMORY).then_some(v as u32)
}

/// The memory areas `(offset item, length item or a constant)` a successful step of `op` touches
/// (its memory expands over them).
fn areas(op: u8) -> &'static [(usize, Len)] {
    use Len::{Const, Item};
    match op {
        opcodes::MLOAD | opcodes::MSTORE => &[(0, Const(32))],
        opcodes::MSTORE8 => &[(0, Const(1))],
        opcodes::KECCAK256 | opcodes::RETURN | opcodes::REVERT | 0xa0..=0xa4 => &[(0, Item(1))],
        opcodes::CALLDATACOPY | opcodes::CODECOPY | opcodes::RETURNDATACOPY => &[(0, Item(2))],
        opcodes::EXTCODECOPY => &[(1, Item(3))],
        opcodes::MCOPY => &[(0, Item(2)), (1, Item(2))],
        opcodes::CREATE | opcodes::CREATE2 => &[(1, Item(2))],
        opcodes::CALL | opcodes::CALLCODE => &[(3, Item(4)), (5, Item(6))],
        opcodes::DELEGATECALL | opcodes::STATICCALL => &[(2, Item(3)), (4, Item(5))],
        _ => &[],
    }
}

#[derive(Clone, Copy)]
enum Len {
    Const(u32),
    Item(usize),
}

/// A context's memory size in words after a successful step of `op` with popped items `inp`,
/// from `words` before it (the EVM expands memory to cover every non-empty area the step
/// touches); `None` if an area reaches [`MAX_MEMORY`].
pub fn words_after(op: u8, inp: &[Word], words: u32) -> Option<u32> {
    let mut w = words;
    for &(o, len) in areas(op) {
        let len = match len {
            Len::Const(c) => c,
            Len::Item(k) => {
                if limbs(&inp[k]).iter().all(|&x| x == 0) {
                    continue;
                }
                small_offset(&inp[k])?
            }
        };
        let end = small_offset(&inp[o])? as u64 + len as u64;
        if end >= MAX_MEMORY {
            return None;
        }
        w = w.max(end.div_ceil(WORD_BYTES as u64) as u32);
    }
    Some(w)
}

/// Memory words by (context, word index): what replaying the recorded writes gives.
pub type MemoryImage = HashMap<(u32, u32), [u8; WORD_BYTES]>;

/// Every context's memory as the shard sees it: each word's content and timestamp now, and
/// the content it had at the shard's start (for the words it touched).
struct Memory<'a> {
    before: &'a MemoryImage,
    now: HashMap<(u32, u32), ([u8; WORD_BYTES], u32)>,
    touched: BTreeMap<(u32, u32), [u8; WORD_BYTES]>,
}

impl Memory<'_> {
    fn get(&mut self, ctx: u32, word: u32) -> ([u8; WORD_BYTES], u32) {
        if let Some(&v) = self.now.get(&(ctx, word)) {
            return v;
        }
        let init = self
            .before
            .get(&(ctx, word))
            .copied()
            .unwrap_or([0; WORD_BYTES]);
        self.touched.insert((ctx, word), init);
        self.now.insert((ctx, word), (init, 0));
        (init, 0)
    }

    fn set(&mut self, ctx: u32, word: u32, bytes: [u8; WORD_BYTES], ts: u32) {
        self.now.insert((ctx, word), (bytes, ts));
    }
}

/// Writes `bytes` at `offset` into a context's replayed memory.
fn replay(mem: &mut MemoryImage, ctx: u32, offset: u32, bytes: &[u8]) {
    for (j, &b) in bytes.iter().enumerate() {
        let a = offset as u64 + j as u64;
        let w = mem
            .entry((ctx, (a / WORD_BYTES as u64) as u32))
            .or_insert([0; WORD_BYTES]);
        w[(a % WORD_BYTES as u64) as usize] = b;
    }
}

/// Recorded memory writes by step: (offset, bytes), each step's in recording order.
pub(crate) type WritesByStep<'t> = BTreeMap<usize, Vec<(u32, &'t [u8])>>;

/// The recorded memory writes of steps in `steps` (a call's output is recorded with its call
/// step, after its callee's steps).
pub(crate) fn writes_by_step<'t>(
    trace: &'t SubblockTrace,
    steps: &Range<usize>,
) -> Result<WritesByStep<'t>, TraceError> {
    let mut writes = WritesByStep::new();
    for m in &trace.mem_accesses {
        if m.kind == AccessKind::MemoryWrite as u32 && steps.contains(&(m.step as usize)) {
            let d = m.data_start as usize;
            let bytes =
                trace
                    .data_range(d..d + m.len as usize)
                    .ok_or(TraceError::Inconsistent {
                        step: m.step as usize,
                        what: "memory write beyond the recorded data",
                    })?;
            writes
                .entry(m.step as usize)
                .or_default()
                .push((m.offset, bytes));
        }
    }
    Ok(writes)
}

/// The memory writes of a trace's accesses by step, `(offset, bytes)` with the bytes as a range
/// of the trace's `data`, each step's in recording order: it borrows nothing, so the trace may
/// grow between gathers (chunks appended as they are recorded, issue 18).
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteIndex {
    by_step: BTreeMap<usize, Vec<(u32, Range<usize>)>>,
    /// The trace's accesses gathered so far.
    gathered: usize,
}

impl WriteIndex {
    /// Adds the memory writes of the accesses `trace` recorded since the last gather.
    pub(crate) fn gather(&mut self, trace: &SubblockTrace) -> Result<(), TraceError> {
        let new =
            self.gathered
                .checked_sub(trace.mem_accesses_base)
                .ok_or(TraceError::Inconsistent {
                    step: trace.steps.first_held(),
                    what: "memory accesses released before the analysis gathered them",
                })?;
        for m in trace.mem_accesses.get(new..).unwrap_or_default() {
            if m.kind != AccessKind::MemoryWrite as u32 {
                continue;
            }
            let d = m.data_start as usize;
            let bytes = d..d + m.len as usize;
            if trace.data_range(bytes.clone()).is_none() {
                return Err(TraceError::Inconsistent {
                    step: m.step as usize,
                    what: "memory write beyond the recorded data",
                });
            }
            self.by_step
                .entry(m.step as usize)
                .or_default()
                .push((m.offset, bytes));
        }
        self.gathered = trace.mem_access_count();
        Ok(())
    }

    /// Forgets the writes of the steps before `step` (replayed already).
    pub(crate) fn release_before(&mut self, step: usize) {
        self.by_step = self.by_step.split_off(&step);
    }
}

/// The memory of the contexts still running at each shard start, replayed from the subblock's
/// writes one boundary after the other (one replay for all its shards). Words of contexts that
/// never run again are dropped, as no later shard reads them. Cloned at a shard's start so that
/// the analysis can go back there to re-cut the shard.
#[derive(Clone, Debug, Default)]
pub(crate) struct ImageReplay {
    image: MemoryImage,
    /// The writes of the steps before this one are replayed.
    replayed_to: usize,
}

impl ImageReplay {
    /// The memory at boundary `b` (not before an earlier call's): the writes of the steps before
    /// `b`, of the contexts whose last step (`last_step`, by dense context) is at or after `b`.
    pub(crate) fn image_at(
        &mut self,
        writes: &WriteIndex,
        trace: &SubblockTrace,
        b: usize,
        ctx_of_step: impl Fn(usize) -> u32,
        last_step: &[usize],
    ) -> Result<MemoryImage, TraceError> {
        if b > self.replayed_to {
            for (&step, ws) in writes.by_step.range(self.replayed_to..b) {
                for (o, bytes) in ws {
                    let data = trace
                        .data_range(bytes.clone())
                        .ok_or(TraceError::Inconsistent {
                            step,
                            what: "a memory write's bytes released before it was replayed",
                        })?;
                    replay(&mut self.image, ctx_of_step(step), *o, data);
                }
            }
            self.replayed_to = b;
        }
        self.image
            .retain(|(c, _), _| last_step.get(*c as usize).is_some_and(|&l| l >= b));
        Ok(self.image.clone())
    }

    /// The writes of the steps before this one are replayed.
    pub(crate) fn replayed_to(&self) -> usize {
        self.replayed_to
    }
}

impl MemoryRows {
    /// The memory rows of the steps `range`.
    pub fn of(
        trace: &SubblockTrace,
        an: &SubblockAnalysis,
        range: &Range<usize>,
    ) -> Result<Self, TraceError> {
        let writes = writes_by_step(trace, range)?;
        let before = an
            .memory_before
            .get(&range.start)
            .ok_or(TraceError::Inconsistent {
                step: range.start,
                what: "a shard starting where the subblock was not analysed",
            })?;
        let mut mem = Memory {
            before,
            now: HashMap::new(),
            touched: BTreeMap::new(),
        };
        // Every non-zero word carried in gets a bound row, touched or not: it is taken in and,
        // unless its context ends here, handed on (the next shard reads zero where no word is).
        let mut carried_in: Vec<(u32, u32)> = before
            .iter()
            .filter(|(_, b)| **b != [0; WORD_BYTES])
            .map(|(&k, _)| k)
            .collect();
        carried_in.sort_unstable();
        for (ctx, word) in carried_in {
            mem.get(ctx, word);
        }
        // Contexts whose last step is in the shard: a step neither continued nor suspending.
        let ending: std::collections::HashSet<u32> = range
            .clone()
            .filter(|&i| !an.aux[i].cont && !an.aux[i].suspend)
            .map(|i| an.aux[i].ctx)
            .collect();
        let mut access = Vec::new();
        let mut chunks = HashMap::new();
        for i in range.clone() {
            let s = &trace.steps[i];
            if s.status != STEP_OK {
                continue;
            }
            let ctx = an.aux[i].ctx;
            let ts = i as u32 + 1;
            let op = s.opcode;
            let too_large = || TraceError::MemoryTooLarge { step: i };
            if op == opcodes::MLOAD || op == opcodes::MSTORE || op == opcodes::MSTORE8 {
                let (inp, out) = step_words(trace, i);
                let o = small_offset(&inp[0]).ok_or_else(too_large)?;
                let (kind, value) = match op {
                    opcodes::MLOAD => (Kind::Load, be_bytes(&out)),
                    opcodes::MSTORE => (Kind::Store, be_bytes(&inp[1])),
                    _ => (Kind::Store8, be_bytes(&inp[1])),
                };
                let word = o / WORD_BYTES as u32;
                let mut r = MemRow::new(kind, ctx, word, ts);
                r.k = o as usize % WORD_BYTES;
                r.value = value;
                r.mw = an.aux[i].mw;
                r.mw_next = an.aux[i].mw_next;
                r.cost = s.gas_before.saturating_sub(s.gas_after) as u32;
                (r.old_a, r.ts_a) = mem.get(ctx, word);
                if r.touches_b() {
                    (r.old_b, r.ts_b) = mem.get(ctx, word + 1);
                }
                let mut both = [0u8; 2 * WORD_BYTES];
                both[..WORD_BYTES].copy_from_slice(&r.old_a);
                both[WORD_BYTES..].copy_from_slice(&r.old_b);
                match kind {
                    Kind::Load => {
                        if both[r.k..r.k + WORD_BYTES] != value {
                            return Err(TraceError::Inconsistent {
                                step: i,
                                what: "MLOAD value differs from the replayed memory",
                            });
                        }
                    }
                    Kind::Store => both[r.k..r.k + WORD_BYTES].copy_from_slice(&value),
                    _ => both[r.k] = value[WORD_BYTES - 1],
                }
                r.new_a.copy_from_slice(&both[..WORD_BYTES]);
                r.new_b.copy_from_slice(&both[WORD_BYTES..]);
                mem.set(ctx, word, r.new_a, ts);
                if r.touches_b() {
                    mem.set(ctx, word + 1, r.new_b, ts);
                }
                access.push(r);
            } else if let Some((d, l)) = opcodes::trusted_write_area(op) {
                let (inp, _) = step_words(trace, i);
                if limbs(&inp[l]).iter().all(|&x| x == 0) {
                    continue;
                }
                let (start, len) = (
                    small_offset(&inp[d]).ok_or_else(too_large)?,
                    small_offset(&inp[l]).ok_or_else(too_large)?,
                );
                let end = start + len;
                let Some(ws) = writes.get(&i) else { continue };
                // The bytes written, by word of the area.
                let mut by_word: BTreeMap<u32, Vec<(usize, u8)>> = BTreeMap::new();
                for &(o, bytes) in ws {
                    if o < start || o as u64 + bytes.len() as u64 > end as u64 {
                        return Err(TraceError::Inconsistent {
                            step: i,
                            what: "memory write outside the step's area",
                        });
                    }
                    for (j, &b) in bytes.iter().enumerate() {
                        let a = o + j as u32;
                        by_word
                            .entry(a / WORD_BYTES as u32)
                            .or_default()
                            .push((a as usize % WORD_BYTES, b));
                    }
                }
                chunks.insert(i, by_word.len() as u32);
                for (word, bytes) in by_word {
                    let mut r = MemRow::new(Kind::Chunk, ctx, word, ts);
                    let base = word * WORD_BYTES as u32;
                    (r.old_a, r.ts_a) = mem.get(ctx, word);
                    r.new_a = r.old_a;
                    for (j, b) in bytes {
                        r.new_a[j] = b;
                    }
                    r.start = start;
                    r.end = end;
                    r.start_before = start < base;
                    r.k = if r.start_before {
                        0
                    } else {
                        (start - base) as usize
                    };
                    r.end_after = end >= base + WORD_BYTES as u32;
                    r.last = if r.end_after {
                        WORD_BYTES - 1
                    } else {
                        (end - base - 1) as usize
                    };
                    mem.set(ctx, word, r.new_a, ts);
                    access.push(r);
                }
            }
        }
        let mut rows = Vec::with_capacity(mem.touched.len() + access.len());
        let mut carried = 0;
        let (mut dead, mut incoming, mut outgoing) = (HashMap::new(), Vec::new(), Vec::new());
        for (&(ctx, word), init) in &mem.touched {
            let (fin, ts_fin) = mem.now[&(ctx, word)];
            let mut r = MemRow::new(Kind::Bound, ctx, word, 0);
            r.new_a = *init;
            r.old_a = fin;
            r.ts_a = ts_fin;
            r.carried = *init != [0; WORD_BYTES];
            r.dead = ending.contains(&ctx);
            r.out = !r.dead && fin != [0; WORD_BYTES];
            carried += r.carried as u32;
            if r.carried {
                incoming.push(CarryToken::Memory {
                    ctx,
                    word,
                    bytes: *init,
                });
            }
            if r.out {
                outgoing.push(CarryToken::Memory {
                    ctx,
                    word,
                    bytes: fin,
                });
            }
            if r.dead {
                *dead.entry(ctx).or_insert(0) += 1;
            }
            rows.push(r);
        }
        rows.extend(access);
        Ok(MemoryRows {
            rows,
            chunks,
            carried,
            dead,
            incoming,
            outgoing,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Range-checked split `v = lo + 2^16 hi` (hi scaled by `scale` in its lookup).
fn split<F: PrimeField32>(v: u32, scale: u32, lo: &mut F, hi: &mut F, rc: &mut RangeCounts) {
    *lo = F::from_u32(v & 0xffff);
    *hi = F::from_u32(v >> 16);
    rc.add(v & 0xffff);
    rc.add((v >> 16) * scale);
}

/// Counts the byte-pair lookup of bytes `2m + 1` (low) and `2m` (high) of `b`.
fn pair(rc: &mut RangeCounts, b: &[u8; WORD_BYTES], m: usize) {
    rc.add_byte_pair(b[2 * m], b[2 * m + 1]);
}

/// The memory trace, padded with zero rows to `height` (a power of two, at least the rows).
///
/// Carried words take the `carry` bus positions from `pos_base` on (`[in, out]`: after the
/// boundary chip's stack and resume tokens), in row order.
pub fn generate<F: PrimeField32>(
    rows: &MemoryRows,
    height: usize,
    pos_base: [usize; 2],
    u16_rc: &mut RangeCounts,
) -> RowMajorMatrix<F> {
    let chunks = crate::chips::carry::TokenKind::Memory.chunks();
    let (mut pos_in, mut pos_out) = (pos_base[0], pos_base[1]);
    debug_assert!(height.is_power_of_two() && height >= rows.len());
    let mut values = F::zero_vec(height * NUM_MEMORY_COLS);
    let f = F::from_u32;
    let bytes = |dst: &mut [F; WORD_BYTES], src: &[u8; WORD_BYTES]| {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = F::from_u8(s);
        }
    };
    for (r, m) in rows.rows.iter().enumerate() {
        let row: &mut MemoryCols<F> =
            values[r * NUM_MEMORY_COLS..(r + 1) * NUM_MEMORY_COLS].borrow_mut();
        match m.kind {
            Kind::Load => row.is_load = F::ONE,
            Kind::Store => row.is_store = F::ONE,
            Kind::Store8 => row.is_store8 = F::ONE,
            Kind::Chunk => row.is_chunk = F::ONE,
            Kind::Bound => row.is_bound = F::ONE,
        }
        row.ctx = f(m.ctx);
        row.word = f(m.word);
        split(m.word, 256, &mut row.word_lo, &mut row.word_hi, u16_rc);
        row.ts = f(m.ts);
        bytes(&mut row.old_a, &m.old_a);
        bytes(&mut row.new_a, &m.new_a);
        row.ts_a = f(m.ts_a);
        if m.kind == Kind::Bound {
            row.carried = F::from_bool(m.carried);
            row.out = F::from_bool(m.out);
            row.dead = F::from_bool(m.dead);
            if m.carried {
                row.pos_in = F::from_usize(pos_in);
                pos_in += chunks;
            }
            if m.out {
                row.pos_out = F::from_usize(pos_out);
                pos_out += chunks;
            }
            if m.carried {
                for k in 0..WORD_BYTES / 2 {
                    pair(u16_rc, &m.new_a, k);
                }
            }
            if let Some(n) = rows.rows.get(r + 1).filter(|n| n.kind == Kind::Bound) {
                row.more = F::ONE;
                let same = n.ctx == m.ctx;
                row.same_ctx = F::from_bool(same);
                let gap = if same {
                    n.word - m.word - 1
                } else {
                    n.ctx - m.ctx - 1
                };
                split(gap, 4, &mut row.da_lo, &mut row.da_hi, u16_rc);
            }
            u16_rc.add(m.ctx);
            continue;
        }
        row.shift[m.k] = F::ONE;
        split(m.ts - m.ts_a - 1, 4, &mut row.da_lo, &mut row.da_hi, u16_rc);
        if m.kind == Kind::Chunk {
            row.value[m.last] = F::ONE;
            row.start = f(m.start);
            row.end = f(m.end);
            let base = m.word * WORD_BYTES as u32;
            if m.start_before {
                row.start_before = F::ONE;
                split(base - m.start, 4, &mut row.db_lo, &mut row.db_hi, u16_rc);
            }
            if m.end_after {
                row.end_after = F::ONE;
                let d = m.end - base - WORD_BYTES as u32;
                split(d, 4, &mut row.de_lo, &mut row.de_hi, u16_rc);
            }
            for k in 0..WORD_BYTES / 2 {
                pair(u16_rc, &m.new_a, k);
            }
            continue;
        }
        bytes(&mut row.value, &m.value);
        bytes(&mut row.old_b, &m.old_b);
        bytes(&mut row.new_b, &m.new_b);
        row.ts_b = f(m.ts_b);
        if m.touches_b() {
            split(m.ts - m.ts_b - 1, 4, &mut row.db_lo, &mut row.db_hi, u16_rc);
        }
        let offset = m.word * WORD_BYTES as u32 + m.k as u32;
        row.off_hi = f(offset >> 16);
        u16_rc.add((offset >> 16) * 8);
        // Memory expansion and its gas.
        row.mw = f(m.mw);
        row.mw_next = f(m.mw_next);
        row.cost = f(m.cost);
        let end = offset + if m.kind == Kind::Store8 { 1 } else { 32 };
        let expand = m.mw_next > m.mw;
        row.expand = F::from_bool(expand);
        // An inconsistent record gives a wrapped gap, which fails its range check (no panic).
        let gap = if expand {
            (m.mw_next * 32).wrapping_sub(end)
        } else {
            (m.mw * 32).wrapping_sub(end)
        };
        row.gap_lo = f(gap & 0xffff);
        row.gap_hi = f(gap >> 16);
        u16_rc.add(((gap & 0xffff) * if expand { 2048 } else { 1 }).min(0xffff));
        u16_rc.add(((gap >> 16) * 4).min(0xffff));
        if expand {
            let g = end.wrapping_sub(m.mw * 32 + 1);
            split(
                g.min((1 << 30) - 1),
                4,
                &mut row.grow_lo,
                &mut row.grow_hi,
                u16_rc,
            );
        }
        for (t, x) in [m.mw, m.mw_next].into_iter().enumerate() {
            let (lo, hi) = (x & 0x3ff, x >> 10);
            row.sq_lo[t] = f(lo);
            row.sq_hi[t] = f(hi);
            row.sq_s[t] = f(lo * lo / 512);
            row.sq_r[t] = f(lo * lo % 512);
            u16_rc.add(lo * 64);
            u16_rc.add((hi * 64).min(0xffff));
            u16_rc.add(lo * lo % 512 * 128);
        }
        match m.kind {
            Kind::Store => {
                for k in 0..WORD_BYTES / 2 {
                    pair(u16_rc, &m.value, k);
                }
            }
            Kind::Store8 => pair(u16_rc, &m.value, WORD_BYTES / 2 - 1),
            _ => {}
        }
    }
    RowMajorMatrix::new(values, NUM_MEMORY_COLS)
}
