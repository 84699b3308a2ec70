use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::{BoundaryCols, NUM_BOUNDARY_COLS};
use crate::buses;
use crate::chips::carry::{TokenKind, send_token};

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
        for f in [l.init, l.fin, l.r_init, l.r_fin, l.carry_out] {
            builder.assert_bool(f);
        }
        builder.assert_bool(allow_init.clone());
        builder.assert_bool(allow_suspended.clone());
        builder.assert_zero(l.init.into() * (one.clone() - allow_init.clone()));
        builder.assert_zero(l.r_init.into() * (one.clone() - allow_init.clone()));
        builder.assert_zero(l.mem_carry.into() * (one.clone() - allow_init));
        builder.assert_zero(l.r_fin.into() * (one.clone() - allow_suspended));
        // Only a taken (`fin`) item is carried out: otherwise an item could be handed on that
        // the shard never had. (A shard ending its subblock carries nothing out: the verifiers
        // require its out commitment to be empty.)
        builder.assert_zero(l.carry_out.into() * (one - l.fin.into()));

        let token: Vec<AB::Expr> = [l.ctx.into(), l.slot.into()]
            .into_iter()
            .chain(l.value.iter().map(|&x| x.into()))
            .chain([l.ts.into()])
            .collect();
        buses::STACK.send(builder, token.clone(), Count::bounded(l.init.into(), 1));
        buses::STACK.receive(builder, token.clone(), Count::bounded(l.fin.into(), 1));
        for &v in &l.value {
            buses::U16.lookup_key(builder, [v], Count::bounded(l.init.into(), 1));
        }
        let resume = [
            l.r_ctx, l.r_callee, l.r_pc, l.r_sp, l.r_code, l.r_ok, l.r_ncalls, l.r_mw,
        ];
        buses::RESUME.send(builder, resume, Count::bounded(l.r_init.into(), 1));
        buses::RESUME.receive(builder, resume, Count::bounded(l.r_fin.into(), 1));
        // Carried tokens go to the carry table's commitments: what comes in (init rows) and
        // what goes on (carried-out items, suspended calls), at the row's positions; the out flag
        // is the direction. A row both in and out would send its chunks twice at one position,
        // which the table (each position received once) cannot balance.
        send_token(
            builder,
            l.carry_out.into(),
            l.pos.into(),
            TokenKind::Stack,
            &token,
            l.init.into() + l.carry_out.into(),
        );
        let resume_data: Vec<AB::Expr> = resume.iter().map(|&x| x.into()).collect();
        send_token(
            builder,
            l.r_fin.into(),
            l.r_pos.into(),
            TokenKind::Resume,
            &resume_data,
            l.r_init.into() + l.r_fin.into(),
        );
        buses::MEMORY_CARRY.table_entry(builder, [AB::Expr::ONE], l.mem_carry);
    }
}
