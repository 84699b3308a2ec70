use core::borrow::BorrowMut;
use std::collections::BTreeMap;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{CallContextCols, NUM_CALL_CONTEXT_COLS};
use crate::chips::range::trace::RangeCounts;
use crate::word::LIMBS;

/// The reads of one shard: per (context, opcode), the value its first read pushed and the
/// number of reads. A later read of another value finds no row of its own (its step does not
/// prove).
#[derive(Clone, Debug, Default)]
pub struct CallContextReads {
    pub reads: BTreeMap<(u32, u8), ([u16; LIMBS], u32)>,
}

impl CallContextReads {
    /// Rows the call-context trace needs: one per (context, opcode).
    pub fn rows(&self) -> usize {
        self.reads.len()
    }

    pub fn add(&mut self, ctx: u32, opcode: u8, value: [u16; LIMBS]) {
        self.reads.entry((ctx, opcode)).or_insert((value, 0)).1 += 1;
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
    let mut prev: Option<u32> = None;
    for (row, (&(ctx, opcode), &(value, mult))) in values
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
        let key = ctx * 256 + opcode as u32;
        let gap = prev.map_or(0, |p| key - p - 1);
        prev = Some(key);
        cols.gap_lo = F::from_u32(gap & 0xffff);
        cols.gap_hi = F::from_u32(gap >> 16);
        u16s.add(ctx);
        u16s.add(gap & 0xffff);
        bytes.add(opcode as u32);
        bytes.add(gap >> 16);
    }
    RowMajorMatrix::new(values, NUM_CALL_CONTEXT_COLS)
}
