use core::borrow::BorrowMut;
use std::collections::BTreeMap;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{CallContextCols, NUM_CALL_CONTEXT_COLS};
use crate::chips::range::trace::RangeCounts;
use crate::word::LIMBS;

/// The reads of one shard: per (context, opcode, seq), the value its first read pushed and the
/// number of reads. A later read of another value finds no row of its own (its step does not
/// prove). `seq` is RETURNDATASIZE's call count (below 2^24), BLOBHASH's index (below 2^16), 0
/// for the other opcodes.
#[derive(Clone, Debug, Default)]
pub struct CallContextReads {
    pub reads: BTreeMap<(u32, u8, u32), ([u16; LIMBS], u32)>,
}

impl CallContextReads {
    /// Rows the call-context trace needs: one per (context, opcode, seq).
    pub fn rows(&self) -> usize {
        self.reads.len()
    }

    pub fn add(&mut self, ctx: u32, opcode: u8, seq: u32, value: [u16; LIMBS]) {
        self.reads.entry((ctx, opcode, seq)).or_insert((value, 0)).1 += 1;
    }
}

/// One row per (context, opcode) in key order, then zero rows up to `height` (a power of two,
/// at least one row per key). The range lookups go into `u16s` and `bytes`.
pub fn generate<F: PrimeField32>(
    reads: &CallContextReads,
    height: usize,
    u16s: &mut RangeCounts,
    bytes: &mut RangeCounts,
) -> RowMajorMatrix<F> {
    debug_assert!(height.is_power_of_two() && height >= reads.rows());
    let mut values = F::zero_vec(height * NUM_CALL_CONTEXT_COLS);
    let mut prev: Option<(u32, u32)> = None;
    for (row, (&(ctx, opcode, seq), &(value, mult))) in values
        .chunks_exact_mut(NUM_CALL_CONTEXT_COLS)
        .zip(&reads.reads)
    {
        let cols: &mut CallContextCols<F> = row.borrow_mut();
        cols.is_real = F::ONE;
        cols.ctx = F::from_u32(ctx);
        cols.opcode = F::from_u8(opcode);
        for (c, &v) in cols.value.iter_mut().zip(&value) {
            *c = F::from_u16(v);
        }
        cols.mult = F::from_u32(mult);
        cols.seq_lo = F::from_u32(seq & 0xffff);
        cols.seq_hi = F::from_u32(seq >> 16);
        u16s.add(seq & 0xffff);
        bytes.add(seq >> 16);
        let key = ctx * 256 + opcode as u32;
        let same = prev.is_some_and(|(k, _)| k == key);
        let gap = match prev {
            Some((_, s)) if same => seq - s - 1,
            Some((k, _)) => key - k - 1,
            None => 0,
        };
        cols.same = F::from_bool(same);
        prev = Some((key, seq));
        cols.gap_lo = F::from_u32(gap & 0xffff);
        cols.gap_hi = F::from_u32(gap >> 16);
        u16s.add(ctx);
        u16s.add(gap & 0xffff);
        bytes.add(opcode as u32);
        bytes.add(gap >> 16);
    }
    RowMajorMatrix::new(values, NUM_CALL_CONTEXT_COLS)
}
