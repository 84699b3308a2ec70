//! Calldata rows of a shard: one load row per successful CALLDATALOAD, and one word row per
//! word of a context's calldata that a load reads. A load's pushed value is the 32 calldata
//! bytes from its offset on (zero past the length), so the loads themselves give the bytes
//! of the words they read; bytes of those words that no load of the shard reads are zero.

use core::borrow::BorrowMut;
use core::ops::Range;
use std::collections::BTreeMap;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_executor::trace::{STEP_OK, SubblockTrace};

use super::columns::{CalldataCols, NUM_CALLDATA_COLS, WORD_BYTES};
use crate::chips::cpu::trace::{SubblockAnalysis, step_words};
use crate::chips::memory::trace::be_bytes;
use crate::chips::range::trace::RangeCounts;
use crate::error::TraceError;
use crate::opcodes;
use crate::word::{LIMBS, limbs};

/// Offsets from which a load is "big" (pushes zero without reading words), and the bound on
/// calldata lengths.
pub const BIG_OFFSET: u64 = 1 << 29;

/// A word of a context's calldata: its bytes (`None`: not read by any load of the shard, zero)
/// and the loads that read it.
#[derive(Clone, Debug)]
pub struct WordRow {
    pub bytes: [Option<u8>; WORD_BYTES],
    pub len: u32,
    pub mult: u32,
}

/// One CALLDATALOAD.
#[derive(Clone, Debug)]
pub struct LoadRow {
    pub ctx: u32,
    pub off: [u16; LIMBS],
    pub value: [u8; WORD_BYTES],
    /// Offset below [`BIG_OFFSET`]: (word, k).
    pub at: Option<(u32, usize)>,
}

/// A shard's calldata rows: words by (context, word), then the loads in step order.
#[derive(Clone, Debug, Default)]
pub struct CalldataRows {
    pub words: BTreeMap<(u32, u32), WordRow>,
    pub loads: Vec<LoadRow>,
}

impl CalldataRows {
    pub fn of(
        trace: &SubblockTrace,
        an: &SubblockAnalysis,
        range: &Range<usize>,
    ) -> Result<Self, TraceError> {
        let mut rows = CalldataRows::default();
        for i in range.clone() {
            let s = &trace.steps[i];
            if s.status != STEP_OK || s.opcode != opcodes::CALLDATALOAD {
                continue;
            }
            let bad = |what| TraceError::Inconsistent { step: i, what };
            let len = trace
                .contexts
                .get(s.context as usize)
                .ok_or(bad("step context without a record"))?
                .calldata_len;
            if len as u64 >= BIG_OFFSET {
                return Err(bad("calldata of 2^29 bytes or more"));
            }
            let (inp, out) = step_words(trace, i);
            let off = limbs(&inp[0]);
            let value = be_bytes(&out);
            let ctx = an.aux[i].ctx;
            let o = off[0] as u64 | (off[1] as u64) << 16;
            let small = off[2..].iter().all(|&x| x == 0) && o < BIG_OFFSET;
            let at = small.then_some(((o / 32) as u32, (o % 32) as usize));
            if !small && value != [0; WORD_BYTES] {
                return Err(bad(
                    "CALLDATALOAD past any calldata pushes a non-zero value",
                ));
            }
            if let Some((word, k)) = at {
                for (j, &v) in value.iter().enumerate() {
                    let a = o + j as u64;
                    if a >= len as u64 && v != 0 {
                        return Err(bad("CALLDATALOAD reads a non-zero byte past the length"));
                    }
                    let w = rows.words.entry((ctx, (a / 32) as u32)).or_insert(WordRow {
                        bytes: [None; WORD_BYTES],
                        len,
                        mult: 0,
                    });
                    let b = &mut w.bytes[(a % 32) as usize];
                    if b.is_some_and(|b| b != v) {
                        return Err(bad(
                            "CALLDATALOAD reads a byte another load read differently",
                        ));
                    }
                    *b = Some(v);
                }
                rows.words.get_mut(&(ctx, word)).expect("word A").mult += 1;
                if k > 0 {
                    rows.words.get_mut(&(ctx, word + 1)).expect("word B").mult += 1;
                }
            }
            rows.loads.push(LoadRow {
                ctx,
                off,
                value,
                at,
            });
        }
        Ok(rows)
    }

    pub fn len(&self) -> usize {
        self.words.len() + self.loads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each word row's context and length (each row looks its context's CALLDATASIZE up in
    /// the call-context table).
    pub fn lengths(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.words.iter().map(|(&(ctx, _), w)| (ctx, w.len))
    }

    fn word_bytes(&self, ctx: u32, word: u32) -> [u8; WORD_BYTES] {
        self.words[&(ctx, word)].bytes.map(|b| b.unwrap_or(0))
    }
}

/// Range-checked split `v = lo + 2^16 hi` (hi scaled by `scale` in its lookup).
fn split<F: PrimeField32>(v: u32, scale: u32, lo: &mut F, hi: &mut F, rc: &mut RangeCounts) {
    *lo = F::from_u32(v & 0xffff);
    *hi = F::from_u32(v >> 16);
    rc.add(v & 0xffff);
    rc.add((v >> 16) * scale);
}

/// The calldata trace, padded with zero rows to `height` (a power of two, at least the rows).
pub fn generate<F: PrimeField32>(
    rows: &CalldataRows,
    height: usize,
    u16_rc: &mut RangeCounts,
) -> RowMajorMatrix<F> {
    debug_assert!(height.is_power_of_two() && height >= rows.len());
    let mut values = F::zero_vec(height * NUM_CALLDATA_COLS);
    let f = F::from_u32;
    let mut chunks = values.chunks_exact_mut(NUM_CALLDATA_COLS);
    let words: Vec<_> = rows.words.iter().collect();
    for (r, &(&(ctx, word), w)) in words.iter().enumerate() {
        let row: &mut CalldataCols<F> = chunks.next().expect("height").borrow_mut();
        row.is_word = F::ONE;
        row.ctx = f(ctx);
        u16_rc.add(ctx);
        row.word = f(word);
        split(word, 256, &mut row.word_lo, &mut row.word_hi, u16_rc);
        let bytes = rows.word_bytes(ctx, word);
        for (d, &b) in row.a.iter_mut().zip(&bytes) {
            *d = F::from_u8(b);
        }
        for m in 0..WORD_BYTES / 2 {
            u16_rc.add_byte_pair(bytes[2 * m], bytes[2 * m + 1]);
        }
        split(w.len, 8, &mut row.len_lo, &mut row.len_hi, u16_rc);
        u16_rc.add(w.len >> 16);
        let base = word as u64 * 32;
        let len = w.len as u64;
        let valid = len.saturating_sub(base).min(32) as usize;
        for v in &mut row.valid[..valid] {
            *v = F::ONE;
        }
        if len >= base + 32 {
            row.full = F::ONE;
            split(
                (len - base - 32) as u32,
                4,
                &mut row.d_lo,
                &mut row.d_hi,
                u16_rc,
            );
        } else if len <= base {
            row.past = F::ONE;
            split((base - len) as u32, 4, &mut row.d_lo, &mut row.d_hi, u16_rc);
        }
        row.mult = f(w.mult);
        if let Some(&(&(nctx, nword), _)) = words.get(r + 1) {
            row.more = F::ONE;
            let same = nctx == ctx;
            row.same_ctx = F::from_bool(same);
            let gap = if same {
                nword - word - 1
            } else {
                nctx - ctx - 1
            };
            split(gap, 4, &mut row.g_lo, &mut row.g_hi, u16_rc);
        }
    }
    for load in &rows.loads {
        let row: &mut CalldataCols<F> = chunks.next().expect("height").borrow_mut();
        row.ctx = f(load.ctx);
        for (d, &x) in row.off.iter_mut().zip(&load.off) {
            *d = F::from_u16(x);
        }
        for (d, &b) in row.value.iter_mut().zip(&load.value) {
            *d = F::from_u8(b);
        }
        match load.at {
            Some((word, k)) => {
                row.is_in = F::ONE;
                row.word = f(word);
                split(word, 256, &mut row.word_lo, &mut row.word_hi, u16_rc);
                row.shift[k] = F::ONE;
                u16_rc.add(load.off[1] as u32 * 8);
                for (d, &b) in row.a.iter_mut().zip(&rows.word_bytes(load.ctx, word)) {
                    *d = F::from_u8(b);
                }
                if k > 0 {
                    for (d, &b) in row.b.iter_mut().zip(&rows.word_bytes(load.ctx, word + 1)) {
                        *d = F::from_u8(b);
                    }
                }
            }
            None => {
                row.is_big = F::ONE;
                let high: u32 = load.off[2..].iter().map(|&x| x as u32).sum();
                if high != 0 {
                    row.hi_nz = F::ONE;
                    row.hi_inv = f(high).inverse();
                } else {
                    u16_rc.add(load.off[1] as u32 - (1 << 13));
                }
                // word_lo/word_hi are zero: their lookups count zeros.
                u16_rc.add(0);
                u16_rc.add(0);
            }
        }
    }
    RowMajorMatrix::new(values, NUM_CALLDATA_COLS)
}
