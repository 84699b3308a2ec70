use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::{CallContextCols, NUM_CALL_CONTEXT_COLS};
use crate::buses;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallContextAir;

impl<F> BaseAir<F> for CallContextAir {
    fn width(&self) -> usize {
        NUM_CALL_CONTEXT_COLS
    }
}

impl CallContextAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &CallContextCols<AB::Var> = main.current_slice().borrow();
        let n: &CallContextCols<AB::Var> = main.next_slice().borrow();
        let c = |v: u32| AB::Expr::from_u32(v);
        let one = AB::Expr::ONE;

        builder.assert_bool(l.is_real);
        builder
            .when_transition()
            .assert_zero(n.is_real.into() * (one.clone() - l.is_real.into()));
        // Padding rows provide nothing (else they would be second rows of a key).
        builder.assert_zero((one.clone() - l.is_real.into()) * l.mult.into());

        // (key, seq) strictly increase: keys and seqs are below 2^24 (ctx a u16 value, the
        // opcode and seq_hi bytes) and the gap minus one is below 2^24, so no difference wraps.
        let key =
            |r: &CallContextCols<AB::Var>| -> AB::Expr { r.ctx.into() * c(256) + r.opcode.into() };
        let seq = |r: &CallContextCols<AB::Var>| -> AB::Expr {
            r.seq_lo.into() + r.seq_hi.into() * c(1 << 16)
        };
        let gap: AB::Expr = n.gap_lo.into() + n.gap_hi.into() * c(1 << 16);
        builder.assert_bool(l.same);
        let mut t = builder.when_transition();
        t.assert_zero(n.is_real.into() * n.same.into() * (key(n) - key(l)));
        t.assert_zero(
            n.is_real.into() * n.same.into() * (seq(n) - seq(l) - one.clone() - gap.clone()),
        );
        t.assert_zero(
            n.is_real.into()
                * (one.clone() - n.same.into())
                * (key(n) - key(l) - one.clone() - gap),
        );
        let real = Count::bounded(l.is_real.into(), 1);
        buses::U16.lookup_key(builder, [l.ctx], real.clone());
        buses::BYTE.lookup_key(builder, [l.opcode], real.clone());
        buses::U16.lookup_key(builder, [l.seq_lo], real.clone());
        buses::BYTE.lookup_key(builder, [l.seq_hi], real.clone());
        buses::U16.lookup_key(builder, [l.gap_lo], real.clone());
        buses::BYTE.lookup_key(builder, [l.gap_hi], real);

        let entry = [l.ctx.into(), l.opcode.into(), seq(l)]
            .into_iter()
            .chain(l.value.iter().map(|&v| v.into()));
        buses::CALL_CONTEXT.table_entry::<AB, AB::Expr>(builder, entry, l.mult);
    }
}
