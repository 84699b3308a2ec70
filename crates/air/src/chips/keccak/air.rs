use core::borrow::Borrow;

use p3_air::{Air, BaseAir, WindowAccess};
use p3_keccak_air::KeccakAir;
use p3_lookup::InteractionBuilder;

use super::columns::{KeccakCols, NUM_KECCAK_COLS, col_map, input_limbs, output_limbs};
use crate::buses;
use crate::chips::bool1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeccakPermAir;

impl<F> BaseAir<F> for KeccakPermAir {
    fn width(&self) -> usize {
        NUM_KECCAK_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        // KeccakAir reads the next row's round flags, preimage and round input only.
        let m = col_map();
        let mut cols: Vec<usize> = m.step_flags.to_vec();
        cols.extend(m.preimage.iter().flatten().flatten());
        cols.extend(m.a.iter().flatten().flatten());
        cols.sort_unstable();
        cols
    }
}

impl KeccakPermAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        KeccakAir {}.eval(builder);
        let main = builder.main();
        let l: &KeccakCols<AB::Var> = main.current_slice().borrow();
        let fields: Vec<AB::Expr> = input_limbs(l)
            .into_iter()
            .chain(output_limbs(l))
            .map(Into::into)
            .collect();
        buses::KECCAK_PERM.send(builder, fields, bool1(l.export.into()));
    }
}
