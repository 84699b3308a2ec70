use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{BitwiseCols, NUM_BITWISE_COLS};

/// Row `256 x + y` holds the pair `(x, y)` and `counts[256 x + y]` lookups.
pub fn generate<F: PrimeField32>(counts: &[u32]) -> RowMajorMatrix<F> {
    assert_eq!(counts.len(), 1 << 16);
    let mut values = F::zero_vec((1 << 16) * NUM_BITWISE_COLS);
    for (r, row) in values.chunks_exact_mut(NUM_BITWISE_COLS).enumerate() {
        let cols: &mut BitwiseCols<F> = row.borrow_mut();
        let (x, y) = (r >> 8, r & 0xff);
        for i in 0..8 {
            cols.x_bits[i] = F::from_bool((x >> i) & 1 == 1);
            cols.y_bits[i] = F::from_bool((y >> i) & 1 == 1);
        }
        cols.mult = F::from_u32(counts[r]);
    }
    RowMajorMatrix::new(values, NUM_BITWISE_COLS)
}
