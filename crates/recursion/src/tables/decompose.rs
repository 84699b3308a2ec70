//! The decompose table: an extension word split into its four base coordinates, one row per
//! word. The row reads `mem(word, v₀, v₁, v₂, v₃)` and writes `mem(coordinate_k, v_k, 0, 0, 0)`
//! for each `k`, so the coordinates are base words (what the transcript absorbs and Merkle
//! leaves hash) and equal the word's by the bus alone: no constraint of its own.
//!
//! Without it a coordinate split is four hinted base words and four `Alu` rows recomposing
//! them (`Σ c_k·X^k`, the last an assertion); the verifier splits every opened value it
//! observes and both values of every FRI fold's leaf.
//!
//! Preprocessed `[word, coordinate₀..coordinate₃, is_real]`, main `[v₀..v₃, m₀..m₃]` (`m` the
//! reads of each coordinate). Interactions: one read and four writes.

use super::padded_rows;
use std::sync::Arc;

use p3_air::{Air, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::program::MEMORY_BUS;
use crate::config::Val;

/// Coordinates of an extension word.
const D: usize = 4;

/// Split the word at `word` into base words at `coordinates`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecomposeOp {
    pub word: u32,
    pub coordinates: [u32; D],
}

pub const DECOMPOSE_PREPROCESSED_WIDTH: usize = 2 + D;
pub const DECOMPOSE_WIDTH: usize = 2 * D;
const PREP_IS_REAL: usize = 1 + D;

/// The decompose table, with its operations as preprocessed columns.
#[derive(Clone, Debug)]
pub struct DecomposeAir {
    preprocessed: Arc<RowMajorMatrix<Val>>,
}

impl DecomposeAir {
    /// The table of these splits, `rows` tall (at least their rows, a power of two).
    pub fn new(ops: &[DecomposeOp], rows: usize) -> Self {
        let w = DECOMPOSE_PREPROCESSED_WIDTH;
        debug_assert!(rows >= padded_rows(ops.len()));
        let mut values = vec![Val::ZERO; rows * w];
        for (row, op) in values.chunks_exact_mut(w).zip(ops) {
            row[0] = Val::from_u32(op.word);
            for (slot, &addr) in row[1..=D].iter_mut().zip(&op.coordinates) {
                *slot = Val::from_u32(addr);
            }
            row[PREP_IS_REAL] = Val::ONE;
        }
        Self {
            preprocessed: Arc::new(RowMajorMatrix::new(values, w)),
        }
    }

    /// The main trace: each word's coordinates and how often each is read.
    pub fn trace(rows: &[([Val; D], [Val; D])], height: usize) -> RowMajorMatrix<Val> {
        let mut values = vec![Val::ZERO; height * DECOMPOSE_WIDTH];
        for (out, (coordinates, reads)) in values.chunks_exact_mut(DECOMPOSE_WIDTH).zip(rows) {
            out[..D].copy_from_slice(coordinates);
            out[D..].copy_from_slice(reads);
        }
        RowMajorMatrix::new(values, DECOMPOSE_WIDTH)
    }
}

row_local_program_table!(DecomposeAir, DECOMPOSE_WIDTH, DECOMPOSE_PREPROCESSED_WIDTH);

impl<AB: InteractionBuilder<F = Val>> Air<AB> for DecomposeAir {
    fn eval(&self, builder: &mut AB) {
        let prep: Vec<AB::Var> = builder.preprocessed().current_slice().to_vec();
        let row: Vec<AB::Var> = builder.main().current_slice().to_vec();
        let (values, reads) = (&row[..D], &row[D..]);
        let is_real = prep[PREP_IS_REAL];
        let word = core::iter::once(prep[0]).chain(values.iter().copied());
        MEMORY_BUS.lookup_key(builder, word, Count::bounded(is_real.into(), 1));
        // A padding row (address 0 everywhere) must not write: nothing reads address 0, so a
        // write there could never balance, but the constraint says so directly.
        let zero = || AB::Expr::ZERO;
        for k in 0..D {
            builder.assert_zero((AB::Expr::ONE - is_real.into()) * reads[k].into());
            MEMORY_BUS.table_entry(
                builder,
                [prep[1 + k].into(), values[k].into(), zero(), zero(), zero()],
                reads[k],
            );
        }
    }
}
