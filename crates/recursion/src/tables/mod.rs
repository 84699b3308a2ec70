//! Recursion tables (design §1), as AIRs the project's prover proves. So far:
//!
//! - [`poseidon2`]: one width-16 Poseidon2 permutation per row (`p3-poseidon2-air`), with the
//!   round constants of the permutation the MMCS and the challenger use.
//! - [`ext_alu`]: one `out = a·b + c` in the degree-4 extension per row.
//! - [`bits`]: canonical 31-bit decompositions (query indices), non-canonical ones rejected.
//! - [`sponge_table`]: the Poseidon2 table in sponge mode: rows chained as one duplex sponge,
//!   the chaining (which rate positions are kept, zeroed or absorbed) preprocessed.
//! - [`horner`]: α-reduction of packed words of opened values, `acc' = acc·α⁴ + Σ αʲ·pⱼ`.
//! - [`program`]: a straight-line program on a write-once memory bus, its addresses and
//!   constants as **preprocessed** columns: `Const`, `Hint`, `Public` and `Alu` tables.
//! - [`poseidon2_bus`]: Poseidon2 rows on that bus (lanes read and written as base words; a
//!   Merkle mode whose direction bit swaps the halves); sponge and Merkle chaining are memory
//!   addresses of the program.
//!
//! - [`decompose`]: an extension word split into its base coordinates on the bus.

/// `BaseAir` for a program table whose constraints read one row (no next-row columns) and whose
/// preprocessed trace is its `preprocessed` field.
macro_rules! row_local_program_table {
    ($table:ty, $width:expr, $preprocessed_width:expr) => {
        impl p3_air::BaseAir<crate::config::Val> for $table {
            fn width(&self) -> usize {
                $width
            }
            fn preprocessed_width(&self) -> usize {
                $preprocessed_width
            }
            fn preprocessed_trace(
                &self,
            ) -> Option<p3_matrix::dense::RowMajorMatrix<crate::config::Val>> {
                Some((*self.preprocessed).clone())
            }
            fn main_next_row_columns(&self) -> Vec<usize> {
                vec![]
            }
            fn preprocessed_next_row_columns(&self) -> Vec<usize> {
                vec![]
            }
        }
    };
}

/// The fewest rows a program table is padded to. Plonky3's FRI refuses a committed table that is
/// not taller than the final polynomial it folds to: 128 rows cover every recursion layer's
/// settings (the root's final polynomial has 64 coefficients; `root`'s test
/// `min_rows_cover_every_layer`). Leaves and internal nodes are padded far above it anyway.
pub const MIN_TABLE_ROWS: usize = 128;

/// Rows of a program table with `n` used rows: a power of two, at least [`MIN_TABLE_ROWS`].
pub fn padded_rows(n: usize) -> usize {
    n.next_power_of_two().max(MIN_TABLE_ROWS)
}

pub mod base_hint;
pub mod bits;
pub mod decompose;
pub mod ext_alu;
pub mod horner;
pub mod horner_bus;
pub mod poseidon2;
pub mod poseidon2_bus;
pub mod program;
pub mod sponge_table;

use p3_air::{Air, BaseAir};
use p3_lookup::InteractionBuilder;

use crate::config::Val;
use base_hint::BaseHintAir;
use bits::BitsAir;
use decompose::DecomposeAir;
use ext_alu::ExtAluAir;
use horner::HornerAir;
use horner_bus::HornerBusAir;
use p3_matrix::dense::RowMajorMatrix;
use poseidon2::Poseidon2Table;
use poseidon2_bus::Poseidon2BusAir;
use program::{AluAir, ConstAir, HintAir, PublicAir};
use sponge_table::Poseidon2SpongeAir;

/// One AIR type for a batch of recursion tables (the prover takes a slice of one type).
#[derive(Clone, Debug)]
pub enum RecursionAir {
    /// Boxed: the table carries its round constants.
    Poseidon2(Box<Poseidon2Table>),
    ExtAlu(ExtAluAir),
    Const(ConstAir),
    Hint(HintAir),
    Public(PublicAir),
    Alu(AluAir),
    Bits(BitsAir),
    Poseidon2Sponge(Box<Poseidon2SpongeAir>),
    Horner(Box<HornerAir>),
    /// Boxed: the table carries its round constants and program.
    Poseidon2Bus(Box<Poseidon2BusAir>),
    HornerBus(Box<HornerBusAir>),
    BaseHint(BaseHintAir),
    Decompose(DecomposeAir),
}

impl BaseAir<Val> for RecursionAir {
    fn width(&self) -> usize {
        match self {
            Self::Poseidon2(t) => BaseAir::<Val>::width(&t.air),
            Self::ExtAlu(a) => BaseAir::<Val>::width(a),
            Self::Const(a) => a.width(),
            Self::Hint(a) => a.width(),
            Self::Public(a) => a.width(),
            Self::Alu(a) => a.width(),
            Self::Bits(a) => BaseAir::<Val>::width(a),
            Self::Poseidon2Sponge(a) => a.width(),
            Self::Horner(a) => BaseAir::<Val>::width(a.as_ref()),
            Self::Poseidon2Bus(a) => a.width(),
            Self::HornerBus(a) => BaseAir::<Val>::width(a.as_ref()),
            Self::BaseHint(a) => a.width(),
            Self::Decompose(a) => a.width(),
        }
    }

    fn preprocessed_width(&self) -> usize {
        match self {
            Self::Const(a) => a.preprocessed_width(),
            Self::Hint(a) => a.preprocessed_width(),
            Self::Public(a) => a.preprocessed_width(),
            Self::Alu(a) => a.preprocessed_width(),
            Self::Poseidon2Sponge(a) => a.preprocessed_width(),
            Self::Horner(a) => a.preprocessed_width(),
            Self::Poseidon2Bus(a) => a.preprocessed_width(),
            Self::HornerBus(a) => a.preprocessed_width(),
            Self::BaseHint(a) => a.preprocessed_width(),
            Self::Decompose(a) => a.preprocessed_width(),
            Self::Poseidon2(_) | Self::ExtAlu(_) | Self::Bits(_) => 0,
        }
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        match self {
            Self::Const(a) => a.preprocessed_trace(),
            Self::Hint(a) => a.preprocessed_trace(),
            Self::Public(a) => a.preprocessed_trace(),
            Self::Alu(a) => a.preprocessed_trace(),
            Self::Poseidon2Sponge(a) => a.preprocessed_trace(),
            Self::Horner(a) => a.preprocessed_trace(),
            Self::Poseidon2Bus(a) => a.preprocessed_trace(),
            Self::HornerBus(a) => a.preprocessed_trace(),
            Self::BaseHint(a) => a.preprocessed_trace(),
            Self::Decompose(a) => a.preprocessed_trace(),
            Self::Poseidon2(_) | Self::ExtAlu(_) | Self::Bits(_) => None,
        }
    }

    fn num_public_values(&self) -> usize {
        match self {
            Self::Public(a) => a.num_public_values(),
            _ => 0,
        }
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        match self {
            Self::Poseidon2Sponge(a) => a.main_next_row_columns(),
            Self::Horner(a) => a.main_next_row_columns(),
            Self::HornerBus(a) => a.main_next_row_columns(),
            // The other tables constrain each row on its own.
            _ => vec![],
        }
    }

    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        match self {
            Self::Poseidon2Sponge(a) => a.preprocessed_next_row_columns(),
            Self::Horner(a) => a.preprocessed_next_row_columns(),
            Self::HornerBus(a) => a.preprocessed_next_row_columns(),
            _ => vec![],
        }
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for RecursionAir {
    fn eval(&self, builder: &mut AB) {
        match self {
            Self::Poseidon2(t) => t.air.eval(builder),
            Self::ExtAlu(a) => a.eval(builder),
            Self::Const(a) => a.eval(builder),
            Self::Hint(a) => a.eval(builder),
            Self::Public(a) => a.eval(builder),
            Self::Alu(a) => a.eval(builder),
            Self::Bits(a) => a.eval(builder),
            Self::Poseidon2Sponge(a) => a.eval(builder),
            Self::Horner(a) => a.eval(builder),
            Self::Poseidon2Bus(a) => a.eval(builder),
            Self::HornerBus(a) => a.eval(builder),
            Self::BaseHint(a) => a.eval(builder),
            Self::Decompose(a) => a.eval(builder),
        }
    }
}
