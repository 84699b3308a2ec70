//! The Poseidon2 table: one width-16 permutation per row, `p3_poseidon2_air::Poseidon2Air`
//! (S-box degree 3 without extra registers, 4 + 4 full and 20 partial rounds: 164 columns)
//! with **the round constants of `default_koalabear_poseidon2_16`**, the permutation of the
//! project's Merkle MMCS and challenger (checked in the tests).

use core::borrow::Borrow;

use p3_koala_bear::{
    GenericPoseidon2LinearLayersKoalaBear, KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL, KOALABEAR_POSEIDON2_RC_16_INTERNAL,
};
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2_air::{Poseidon2Air, Poseidon2Cols, RoundConstants, generate_trace_rows};

use crate::config::Val;

/// State width.
pub const WIDTH: usize = 16;
const SBOX_DEGREE: u64 = 3;
const SBOX_REGISTERS: usize = 0;
const HALF_FULL_ROUNDS: usize = 4;
const PARTIAL_ROUNDS: usize = 20;

/// The permutation AIR.
pub type Poseidon2Air16 = Poseidon2Air<
    Val,
    GenericPoseidon2LinearLayersKoalaBear,
    WIDTH,
    SBOX_DEGREE,
    SBOX_REGISTERS,
    HALF_FULL_ROUNDS,
    PARTIAL_ROUNDS,
>;

type Columns<T> =
    Poseidon2Cols<T, WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>;

fn round_constants() -> RoundConstants<Val, WIDTH, HALF_FULL_ROUNDS, PARTIAL_ROUNDS> {
    RoundConstants::new(
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
        KOALABEAR_POSEIDON2_RC_16_INTERNAL,
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    )
}

/// The Poseidon2 table.
#[derive(Clone)]
pub struct Poseidon2Table {
    pub air: Poseidon2Air16,
}

impl core::fmt::Debug for Poseidon2Table {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Poseidon2Table")
    }
}

impl Default for Poseidon2Table {
    fn default() -> Self {
        Self {
            air: Poseidon2Air16::new(round_constants()),
        }
    }
}

impl Poseidon2Table {
    /// The trace permuting each input, one row each, padded with permutations of the zero
    /// state to a power of two (at least 4 rows, the prover's minimum).
    pub fn trace(&self, inputs: &[[Val; WIDTH]]) -> RowMajorMatrix<Val> {
        let rows = inputs.len().next_power_of_two().max(super::MIN_TABLE_ROWS);
        let mut padded = inputs.to_vec();
        padded.resize(rows, [Val::default(); WIDTH]);
        generate_trace_rows::<
            Val,
            GenericPoseidon2LinearLayersKoalaBear,
            WIDTH,
            SBOX_DEGREE,
            SBOX_REGISTERS,
            HALF_FULL_ROUNDS,
            PARTIAL_ROUNDS,
        >(padded, &round_constants(), 0)
    }

    /// Each row's input and output state.
    pub fn io(trace: &RowMajorMatrix<Val>) -> Vec<([Val; WIDTH], [Val; WIDTH])> {
        trace
            .values
            .chunks_exact(trace.width)
            .map(|row| {
                let cols: &Columns<Val> = row.borrow();
                (
                    cols.inputs,
                    cols.ending_full_rounds[HALF_FULL_ROUNDS - 1].post,
                )
            })
            .collect()
    }
}
