use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{BitwiseCols, NUM_BITWISE_COLS};

/// One row per byte pair `(x, y)` that is looked up (`counts[256 x + y] > 0`), in increasing
/// order, with its count; then rows of the pair (0, 0) with multiplicity 0 up to `height` (a
/// power of two, at least one row per pair looked up).
///
/// Only the pairs a shard uses are rows: every row is a correct AND by its bit constraints,
/// whichever pairs the table holds, so the table need not list all 2^16. A shard of a few
/// hundred steps then commits a few hundred rows instead of 65,536.
pub fn generate<F: PrimeField32>(counts: &[u32], height: usize) -> RowMajorMatrix<F> {
    assert_eq!(counts.len(), 1 << 16);
    let used: Vec<(usize, u32)> = counts
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c > 0)
        .map(|(pair, &c)| (pair, c))
        .collect();
    debug_assert!(height.is_power_of_two() && height >= used.len());
    let mut values = F::zero_vec(height * NUM_BITWISE_COLS);
    for (row, &(pair, count)) in values.chunks_exact_mut(NUM_BITWISE_COLS).zip(&used) {
        let cols: &mut BitwiseCols<F> = row.borrow_mut();
        let (x, y) = (pair >> 8, pair & 0xff);
        for i in 0..8 {
            cols.x_bits[i] = F::from_bool((x >> i) & 1 == 1);
            cols.y_bits[i] = F::from_bool((y >> i) & 1 == 1);
        }
        cols.mult = F::from_u32(count);
    }
    RowMajorMatrix::new(values, NUM_BITWISE_COLS)
}

#[cfg(test)]
mod tests {
    use p3_koala_bear::KoalaBear;
    use p3_matrix::Matrix;

    use super::*;
    use crate::chips::{MIN_ROWS, natural_height};

    #[test]
    fn only_used_pairs_are_rows_padded_to_a_power_of_two() {
        let mut counts = vec![0u32; 1 << 16];
        counts[(0xf0 << 8) | 0x3c] = 2;
        counts[(0x01 << 8) | 0xff] = 1;
        counts[(0xff << 8) | 0xff] = 5;
        let t = generate::<KoalaBear>(&counts, natural_height(3));
        assert_eq!(t.height(), 4);
        let row = |r: usize| -> (u32, u32, u32) {
            let v: Vec<u32> = t
                .row_slice(r)
                .unwrap()
                .iter()
                .map(|f| f.as_canonical_u32())
                .collect();
            let bits = |s: &[u32]| s.iter().enumerate().map(|(i, b)| b << i).sum::<u32>();
            (bits(&v[0..8]), bits(&v[8..16]), v[16])
        };
        assert_eq!(row(0), (0x01, 0xff, 1));
        assert_eq!(row(1), (0xf0, 0x3c, 2));
        assert_eq!(row(2), (0xff, 0xff, 5));
        assert_eq!(row(3), (0, 0, 0));
        assert_eq!(
            generate::<KoalaBear>(&vec![0; 1 << 16], natural_height(0)).height(),
            MIN_ROWS
        );
    }
}
