use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{NUM_BYTE_PAIR_COLS, NUM_RANGE_COLS};

/// Lookup counts for a range table, filled by the chips that look values up.
#[derive(Clone, Debug)]
pub struct RangeCounts {
    pub counts: Vec<u32>,
    /// Byte-pair lookups `(lo, hi)` at index `lo + 256 hi` (u16 table only; empty otherwise).
    pub pairs: Vec<u32>,
}

impl RangeCounts {
    pub fn new(bits: u32) -> Self {
        Self {
            counts: vec![0; 1 << bits],
            pairs: if bits == 16 {
                vec![0; 1 << 16]
            } else {
                Vec::new()
            },
        }
    }

    /// Count one lookup of `v` (which must be in range).
    #[inline]
    pub fn add(&mut self, v: u32) {
        self.counts[v as usize] += 1;
    }

    /// Count one lookup of the byte pair `(high, low)` (the u16 table's pairs only).
    #[inline]
    pub fn add_byte_pair(&mut self, high: u8, low: u8) {
        self.pairs[low as usize + 256 * high as usize] += 1;
    }

    pub fn merge(&mut self, other: &RangeCounts) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += *b;
        }
        for (a, b) in self.pairs.iter_mut().zip(&other.pairs) {
            *a += *b;
        }
    }
}

/// The range table trace: row `v` is `[v, count(v)]`, and on the u16 table also
/// `[v / 256, [v mod 256 = 255], pair count(v)]`.
pub fn generate<F: PrimeField32>(counts: &RangeCounts) -> RowMajorMatrix<F> {
    let pairs = !counts.pairs.is_empty();
    let width = NUM_RANGE_COLS + if pairs { NUM_BYTE_PAIR_COLS } else { 0 };
    let mut values = Vec::with_capacity(counts.counts.len() * width);
    for (v, &c) in counts.counts.iter().enumerate() {
        values.extend([F::from_u32(v as u32), F::from_u32(c)]);
        if pairs {
            values.extend([
                F::from_u32((v >> 8) as u32),
                F::from_bool(v & 0xff == 0xff),
                F::from_u32(counts.pairs[v]),
            ]);
        }
    }
    RowMajorMatrix::new(values, width)
}
