//! Permutation rows: the exported permutations first, then zero-state permutations up to the
//! table's height.

use core::borrow::{Borrow, BorrowMut};

use p3_field::PrimeField64;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{KeccakCols, NUM_KECCAK_COLS, NUM_ROUNDS, STATE_LIMBS, output_limbs};

/// Rows of `perms` permutations.
pub fn rows_for(perms: usize) -> usize {
    perms * NUM_ROUNDS
}

/// The permutation table of `inputs` (states as 25 lanes, lane `x + 5 y`), each exported, padded
/// with zero-state permutations (not exported) to `height` rows (a power of two holding them all).
pub fn generate<F: PrimeField64>(inputs: &[[u64; 25]], height: usize) -> RowMajorMatrix<F> {
    debug_assert!(height.is_power_of_two() && height >= rows_for(inputs.len()));
    // `generate_trace_rows` pads to the next power of two of 24 x its inputs: give it as many
    // permutations as fit `height` whole (more than half of it), the rest zero states.
    let fill = (height / NUM_ROUNDS).max(inputs.len());
    let mut all = inputs.to_vec();
    all.resize(fill, [0; 25]);
    let mut t: RowMajorMatrix<F> = p3_keccak_air::generate_trace_rows(all, 0);
    if t.values.len() < height * NUM_KECCAK_COLS {
        // Tables under 24 rows: one partial (never exported) permutation.
        t.values.resize(height * NUM_KECCAK_COLS, F::ZERO);
        let zero: RowMajorMatrix<F> = p3_keccak_air::generate_trace_rows(vec![[0; 25]], 0);
        let n = t.values.len().min(zero.values.len());
        t.values[..n].copy_from_slice(&zero.values[..n]);
    }
    debug_assert_eq!(t.values.len(), height * NUM_KECCAK_COLS);
    for p in 0..inputs.len() {
        let r = rows_for(p) + NUM_ROUNDS - 1;
        let row: &mut KeccakCols<F> =
            t.values[r * NUM_KECCAK_COLS..(r + 1) * NUM_KECCAK_COLS].borrow_mut();
        row.export = F::ONE;
    }
    t
}

/// The output state the table's `p`-th permutation exports, as 25 lanes.
pub fn output_of<F: PrimeField64>(t: &RowMajorMatrix<F>, p: usize) -> [u64; 25] {
    let r = rows_for(p) + NUM_ROUNDS - 1;
    let row: &KeccakCols<F> = t.values[r * NUM_KECCAK_COLS..(r + 1) * NUM_KECCAK_COLS].borrow();
    let limbs: [F; STATE_LIMBS] = output_limbs(row);
    core::array::from_fn(|lane| {
        (0..4).fold(0u64, |acc, k| {
            acc | (limbs[4 * lane + k].as_canonical_u64() << (16 * k))
        })
    })
}
