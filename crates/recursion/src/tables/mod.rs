//! Recursion tables (design §1), as AIRs the project's prover proves. So far:
//!
//! - [`poseidon2`]: one width-16 Poseidon2 permutation per row (`p3-poseidon2-air`), with the
//!   round constants of the permutation the MMCS and the challenger use.
//! - [`ext_alu`]: one `out = a·b + c` in the degree-4 extension per row.
//!
//! Not yet: their memory-bus interactions (addresses and multiplicities as preprocessed
//! columns) and the other four tables.

pub mod ext_alu;
pub mod poseidon2;

use p3_air::{Air, BaseAir};
use p3_lookup::InteractionBuilder;

use crate::config::Val;
use ext_alu::ExtAluAir;
use poseidon2::Poseidon2Table;

/// One AIR type for a batch of recursion tables (the prover takes a slice of one type).
#[derive(Clone, Debug)]
pub enum RecursionAir {
    /// Boxed: the table carries its round constants.
    Poseidon2(Box<Poseidon2Table>),
    ExtAlu(ExtAluAir),
}

impl BaseAir<Val> for RecursionAir {
    fn width(&self) -> usize {
        match self {
            Self::Poseidon2(t) => BaseAir::<Val>::width(&t.air),
            Self::ExtAlu(a) => BaseAir::<Val>::width(a),
        }
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        // Both tables constrain each row on its own.
        vec![]
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for RecursionAir {
    fn eval(&self, builder: &mut AB) {
        match self {
            Self::Poseidon2(t) => t.air.eval(builder),
            Self::ExtAlu(a) => a.eval(builder),
        }
    }
}
