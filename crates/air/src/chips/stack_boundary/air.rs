use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::{BoundaryCols, NUM_BOUNDARY_COLS};
use crate::buses;

/// Public values: `[allow_init, allow_suspended]`.
pub const NUM_BOUNDARY_PUBLIC: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundaryAir;

impl<F> BaseAir<F> for BoundaryAir {
    fn width(&self) -> usize {
        NUM_BOUNDARY_COLS
    }
    fn num_public_values(&self) -> usize {
        NUM_BOUNDARY_PUBLIC
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl BoundaryAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &BoundaryCols<AB::Var> = main.current_slice().borrow();
        let pv = builder.public_values();
        let (allow_init, allow_suspended): (AB::Expr, AB::Expr) = (pv[0].into(), pv[1].into());
        let one = AB::Expr::ONE;
        for f in [l.init, l.fin, l.r_init, l.r_fin] {
            builder.assert_bool(f);
        }
        builder.assert_bool(allow_init.clone());
        builder.assert_bool(allow_suspended.clone());
        builder.assert_zero(l.init.into() * (one.clone() - allow_init.clone()));
        builder.assert_zero(l.r_init.into() * (one.clone() - allow_init.clone()));
        builder.assert_zero(l.mem_carry.into() * (one.clone() - allow_init));
        builder.assert_zero(l.r_fin.into() * (one - allow_suspended));

        let token: Vec<AB::Expr> = [l.ctx.into(), l.slot.into()]
            .into_iter()
            .chain(l.value.iter().map(|&x| x.into()))
            .chain([l.ts.into()])
            .collect();
        buses::STACK.send(builder, token.clone(), Count::bounded(l.init.into(), 1));
        buses::STACK.receive(builder, token, Count::bounded(l.fin.into(), 1));
        for &v in &l.value {
            buses::U16.lookup_key(builder, [v], Count::bounded(l.init.into(), 1));
        }
        let resume = [
            l.r_ctx, l.r_callee, l.r_pc, l.r_sp, l.r_code, l.r_ok, l.r_ncalls, l.r_mw,
        ];
        buses::RESUME.send(builder, resume, Count::bounded(l.r_init.into(), 1));
        buses::RESUME.receive(builder, resume, Count::bounded(l.r_fin.into(), 1));
        buses::MEMORY_CARRY.table_entry(builder, [AB::Expr::ONE], l.mem_carry);
    }
}
