use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::NUM_RANGE_COLS;

/// Lookup counts for a range table, filled by the chips that look values up.
#[derive(Clone, Debug)]
pub struct RangeCounts {
    pub counts: Vec<u32>,
}

impl RangeCounts {
    pub fn new(bits: u32) -> Self {
        Self {
            counts: vec![0; 1 << bits],
        }
    }

    /// Count one lookup of `v` (which must be in range).
    #[inline]
    pub fn add(&mut self, v: u32) {
        self.counts[v as usize] += 1;
    }

    pub fn merge(&mut self, other: &RangeCounts) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += *b;
        }
    }
}

/// The range table trace: row `v` is `[v, count(v)]`.
pub fn generate<F: PrimeField32>(counts: &RangeCounts) -> RowMajorMatrix<F> {
    let values = counts
        .counts
        .iter()
        .enumerate()
        .flat_map(|(v, &c)| [F::from_u32(v as u32), F::from_u32(c)])
        .collect();
    RowMajorMatrix::new(values, NUM_RANGE_COLS)
}
