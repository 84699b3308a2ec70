//! The base-hint table: prover-supplied **base** words (opened trace values, commitment and
//! public-value elements, coefficients, bits), four per row. Each lane writes the word
//! `(v, 0, 0, 0)` on the memory bus, so a base hint is a base element by construction, and a
//! row carries four of them in 8 main columns where the extension `Hint` table would take four
//! rows of 5.
//!
//! Preprocessed `[addr₀..addr₃]`, main `[v₀..v₃, m₀..m₃]` (`m` the number of reads). Unused
//! lanes carry address 0, which no program reads.

use super::padded_rows;
use std::sync::Arc;

use p3_air::{Air, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use super::program::MEMORY_BUS;
use crate::config::Val;

/// Base words per row.
pub const BASE_HINT_LANES: usize = 4;
pub const BASE_HINT_WIDTH: usize = 2 * BASE_HINT_LANES;

/// The base-hint table, with the hinted addresses as preprocessed columns.
#[derive(Clone, Debug)]
pub struct BaseHintAir {
    preprocessed: Arc<RowMajorMatrix<Val>>,
}

/// Rows for `n` base hints.
pub fn base_hint_rows(n: usize) -> usize {
    n.div_ceil(BASE_HINT_LANES)
}

impl BaseHintAir {
    /// The table of these addresses, `rows` tall (at least their rows, a power of two).
    pub fn new(addresses: &[u32], rows: usize) -> Self {
        debug_assert!(rows >= padded_rows(base_hint_rows(addresses.len())));
        let mut values = vec![Val::ZERO; rows * BASE_HINT_LANES];
        for (slot, &addr) in values.iter_mut().zip(addresses) {
            *slot = Val::from_u32(addr);
        }
        Self {
            preprocessed: Arc::new(RowMajorMatrix::new(values, BASE_HINT_LANES)),
        }
    }

    /// The main trace: the values and their read counts, lane by lane.
    pub fn trace(values: &[Val], reads: &[u64], rows: usize) -> RowMajorMatrix<Val> {
        let mut trace = vec![Val::ZERO; rows * BASE_HINT_WIDTH];
        for (i, (&v, &m)) in values.iter().zip(reads).enumerate() {
            let (row, lane) = (i / BASE_HINT_LANES, i % BASE_HINT_LANES);
            trace[row * BASE_HINT_WIDTH + lane] = v;
            trace[row * BASE_HINT_WIDTH + BASE_HINT_LANES + lane] = Val::from_u64(m);
        }
        RowMajorMatrix::new(trace, BASE_HINT_WIDTH)
    }
}

row_local_program_table!(BaseHintAir, BASE_HINT_WIDTH, BASE_HINT_LANES);

impl<AB: InteractionBuilder<F = Val>> Air<AB> for BaseHintAir {
    fn eval(&self, builder: &mut AB) {
        let addrs: Vec<AB::Var> = builder.preprocessed().current_slice().to_vec();
        let row: Vec<AB::Var> = builder.main().current_slice().to_vec();
        for lane in 0..BASE_HINT_LANES {
            let key: [AB::Expr; 5] = [
                addrs[lane].into(),
                row[lane].into(),
                AB::Expr::ZERO,
                AB::Expr::ZERO,
                AB::Expr::ZERO,
            ];
            MEMORY_BUS.table_entry(builder, key, row[BASE_HINT_LANES + lane]);
        }
    }
}
