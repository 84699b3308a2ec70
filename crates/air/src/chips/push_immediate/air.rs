use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::{MAX_IMMEDIATE, NUM_PUSH_IMMEDIATE_COLS, PushImmediateCols};
use crate::buses;
use crate::word::LIMBS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushImmediateAir;

impl<F> BaseAir<F> for PushImmediateAir {
    fn width(&self) -> usize {
        NUM_PUSH_IMMEDIATE_COLS
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl PushImmediateAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &PushImmediateCols<AB::Var> = main.current_slice().borrow();
        let one = AB::Expr::ONE;
        let m = |i: usize| -> AB::Expr { l.mask[i].into() };

        // mask = 1^n 0^(32 - n): boolean and non-increasing, so n = Σ mask.
        for i in 0..MAX_IMMEDIATE {
            builder.assert_bool(l.mask[i]);
            // Bytes past the immediate are zero (they are its high bytes).
            builder.assert_zero(l.bytes[i].into() * (one.clone() - m(i)));
        }
        for i in 1..MAX_IMMEDIATE {
            builder.assert_zero(m(i) * (one.clone() - m(i - 1)));
        }
        // A padding row (mask[0] = 0) provides nothing: its immediate is bound to no code.
        builder.assert_zero(l.mult.into() * (one.clone() - m(0)));

        let n: AB::Expr = (0..MAX_IMMEDIATE).map(m).sum();
        let opcode = n.clone() + AB::Expr::from_u8(crate::opcodes::PUSH0);
        // The site is a PUSHn opcode byte of the code (the bytecode bus holds no data byte).
        buses::BYTECODE.lookup_key(
            builder,
            [l.code_id.into(), l.pc.into(), opcode.clone()],
            Count::bounded(m(0), 1),
        );
        // Read j: the code bytes at pc + n - 2j - 1 and the next one, LE bytes 2j + 1 and 2j.
        // Where n = 2j + 1 the first is the opcode at pc (mask[2j] - mask[2j+1] flags it).
        for j in 0..MAX_IMMEDIATE / 2 {
            let (hi, lo) = (2 * j + 1, 2 * j);
            let addr = l.pc.into() + n.clone() - AB::Expr::from_usize(hi);
            let first = l.bytes[hi].into() + (m(lo) - m(hi)) * opcode.clone();
            buses::CODE_BYTE.lookup_key(
                builder,
                [l.code_id.into(), addr, first, l.bytes[lo].into()],
                Count::bounded(m(lo), 1),
            );
        }

        let limbs = (0..LIMBS)
            .map(|j| l.bytes[2 * j].into() + l.bytes[2 * j + 1].into() * AB::Expr::from_u32(256));
        let entry = [l.code_id.into(), l.pc.into()].into_iter().chain(limbs);
        buses::PUSH_IMMEDIATE.table_entry::<AB, AB::Expr>(builder, entry, l.mult);
    }
}
