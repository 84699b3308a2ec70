//! The Poseidon2 table in **sponge mode** (design §1: "next input = previous output with the
//! rate overwritten"): consecutive rows are consecutive permutation calls of one duplex sponge.
//! Per row, the program (preprocessed) says which of the 8 rate positions are kept from the
//! previous output (a squeeze), zeroed (the tail of a short absorb) or free (absorbed values),
//! and how many values were absorbed, which `DuplexChallenger` adds to the first capacity
//! element. The capacity is always carried over. The first row starts from the zero state.
//!
//! The absorbed values themselves are free here; tying them to the proof's words is the memory
//! bus's job (next step).

use core::borrow::Borrow;
use std::sync::Arc;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2_air::Poseidon2Cols;

use super::poseidon2::{Poseidon2Table, WIDTH};
use crate::config::Val;

const RATE: usize = 8;
type Columns<T> = Poseidon2Cols<T, WIDTH, 3, 0, 4, 20>;

/// Preprocessed columns: `real`, `absorbed`, `keep[0..8]`, `zero[0..8]`.
pub const SPONGE_PREPROCESSED_WIDTH: usize = 2 + 2 * RATE;

/// The sponge-mode Poseidon2 table: the permutation rows plus the chaining program.
#[derive(Clone, Debug)]
pub struct Poseidon2SpongeAir {
    pub table: Poseidon2Table,
    program: Arc<RowMajorMatrix<Val>>,
}

impl Poseidon2SpongeAir {
    /// The program for calls that absorbed `absorbed[j]` values each (0 for a squeeze),
    /// padded to `rows` rows (padding rows are not real and not chained).
    pub fn new(absorbed: &[usize], rows: usize) -> Self {
        let mut values = vec![Val::ZERO; rows * SPONGE_PREPROCESSED_WIDTH];
        for (row, &k) in absorbed.iter().enumerate() {
            let r = &mut values[row * SPONGE_PREPROCESSED_WIDTH..][..SPONGE_PREPROCESSED_WIDTH];
            r[0] = Val::ONE;
            r[1] = Val::from_usize(k);
            for i in 0..RATE {
                // A squeeze keeps the rate; an absorb of k values zeroes positions k..8.
                r[2 + i] = Val::from_bool(k == 0);
                r[2 + RATE + i] = Val::from_bool(k > 0 && i >= k);
            }
        }
        Self {
            table: Poseidon2Table::default(),
            program: Arc::new(RowMajorMatrix::new(values, SPONGE_PREPROCESSED_WIDTH)),
        }
    }
}

impl BaseAir<Val> for Poseidon2SpongeAir {
    fn width(&self) -> usize {
        BaseAir::<Val>::width(&self.table.air)
    }
    fn preprocessed_width(&self) -> usize {
        SPONGE_PREPROCESSED_WIDTH
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some((*self.program).clone())
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        // The next row's input state.
        (0..WIDTH).collect()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        (0..SPONGE_PREPROCESSED_WIDTH).collect()
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for Poseidon2SpongeAir {
    fn eval(&self, builder: &mut AB) {
        // Each row is a permutation.
        self.table.air.eval(builder);

        let main = builder.main();
        let local: &Columns<AB::Var> = main.current_slice().borrow();
        let next: &Columns<AB::Var> = main.next_slice().borrow();
        let output = local.ending_full_rounds[3].post;
        let (local_in, next_in) = (local.inputs, next.inputs);
        let prep = builder.preprocessed();
        let (here, there) = (prep.current_slice().to_vec(), prep.next_slice().to_vec());

        // First row: the zero state, with the absorbed count in the first capacity element.
        let mut first = builder.when_first_row();
        for i in 0..RATE {
            first.assert_zero(here[2 + i] * local_in[i]);
            first.assert_zero(here[2 + RATE + i] * local_in[i]);
        }
        first.assert_eq(local_in[RATE], here[1]);
        for &x in &local_in[RATE + 1..] {
            first.assert_zero(x);
        }

        // Each real next row continues this row's output.
        let mut chain = builder.when_transition();
        let next_real: AB::Expr = there[0].into();
        for i in 0..RATE {
            chain.assert_zero(there[2 + i] * (next_in[i].into() - output[i].into()));
            chain.assert_zero(there[2 + RATE + i] * next_in[i]);
        }
        chain.assert_zero(
            next_real.clone() * (next_in[RATE].into() - output[RATE].into() - there[1].into()),
        );
        for i in RATE + 1..WIDTH {
            chain.assert_zero(next_real.clone() * (next_in[i].into() - output[i].into()));
        }
    }
}
