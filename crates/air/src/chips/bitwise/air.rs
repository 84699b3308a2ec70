use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::columns::{BitwiseCols, NUM_BITWISE_COLS};
use crate::buses;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitwiseAir;

impl<F> BaseAir<F> for BitwiseAir {
    fn width(&self) -> usize {
        NUM_BITWISE_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl BitwiseAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &BitwiseCols<AB::Var> = main.current_slice().borrow();
        let (mut x, mut y, mut z) = (AB::Expr::ZERO, AB::Expr::ZERO, AB::Expr::ZERO);
        for i in 0..8 {
            builder.assert_bool(l.x_bits[i]);
            builder.assert_bool(l.y_bits[i]);
            let w = AB::Expr::from_u32(1 << i);
            x += l.x_bits[i].into() * w.clone();
            y += l.y_bits[i].into() * w.clone();
            z += l.x_bits[i].into() * l.y_bits[i].into() * w;
        }
        buses::AND8.table_entry(builder, [x, y, z], l.mult);
    }
}
