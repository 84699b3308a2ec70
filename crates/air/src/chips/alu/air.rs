use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::*;
use crate::buses;
use crate::word::LIMBS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AluAir;

impl<F> BaseAir<F> for AluAir {
    fn width(&self) -> usize {
        NUM_ALU_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl AluAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &AluCols<AB::Var> = main.current_slice().borrow();
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let fl = |i: usize| -> AB::Expr { l.flags[i].into() };

        let mut real = AB::Expr::ZERO;
        let mut opcode = AB::Expr::ZERO;
        for (i, &f) in l.flags.iter().enumerate() {
            builder.assert_bool(f);
            real += f.into();
            opcode += f.into() * c(ALU_OPS[i] as u32);
        }
        builder.assert_bool(real.clone());

        // Adder: X + Y + carry_in = Z + 2^16 carry_out, per limb.
        let lt = fl(F_LT) + fl(F_SLT);
        let gt = fl(F_GT) + fl(F_SGT);
        let cmp = lt.clone() + gt.clone();
        for k in 0..LIMBS {
            let (a, b, cc, d): (AB::Expr, AB::Expr, AB::Expr, AB::Expr) =
                (l.a[k].into(), l.b[k].into(), l.c[k].into(), l.d[k].into());
            let x = fl(F_ADD) * a.clone()
                + (fl(F_SUB) + lt.clone()) * b.clone()
                + gt.clone() * a.clone();
            let y = fl(F_ADD) * b.clone() + fl(F_SUB) * cc.clone() + cmp.clone() * d;
            let z = fl(F_ADD) * cc + (fl(F_SUB) + lt.clone()) * a + gt.clone() * b;
            let cin: AB::Expr = if k == 0 {
                AB::Expr::ZERO
            } else {
                l.carry[k - 1].into()
            };
            builder.assert_bool(l.carry[k]);
            builder.assert_zero(x + y + cin - z - l.carry[k].into() * c(1 << 16));
            buses::U16.lookup_key(builder, [l.d[k]], Count::bounded(cmp.clone(), 1));
        }
        // Comparisons: u = [a < b] (LT, SLT) or [a > b] (GT, SGT), unsigned.
        let u: AB::Expr = l.carry[LIMBS - 1].into();
        let signed = fl(F_SLT) + fl(F_SGT);
        builder.assert_bool(l.sa);
        builder.assert_bool(l.sb);
        builder.assert_zero(
            signed.clone() * (l.a[LIMBS - 1].into() - l.sa.into() * c(1 << 15) - l.ra.into()),
        );
        builder.assert_zero(
            signed.clone() * (l.b[LIMBS - 1].into() - l.sb.into() * c(1 << 15) - l.rb.into()),
        );
        buses::U16.lookup_key(
            builder,
            [l.ra.into() * c(2)],
            Count::bounded(signed.clone(), 1),
        );
        buses::U16.lookup_key(builder, [l.rb.into() * c(2)], Count::bounded(signed, 1));
        let (sa, sb): (AB::Expr, AB::Expr) = (l.sa.into(), l.sb.into());
        let same = one.clone() - sa.clone() - sb.clone() + c(2) * sa.clone() * sb.clone();
        let slt = sa.clone() * (one.clone() - sb.clone()) + same.clone() * u.clone();
        let sgt = sb * (one.clone() - sa) + same * u.clone();
        let c0: AB::Expr = l.c[0].into();
        builder.assert_zero((fl(F_LT) + fl(F_GT)) * (c0.clone() - u));
        builder.assert_zero(fl(F_SLT) * (c0.clone() - slt));
        builder.assert_zero(fl(F_SGT) * (c0.clone() - sgt));

        // EQ / ISZERO.
        let eqz = fl(F_EQ) + fl(F_ISZERO);
        builder.assert_zero(eqz.clone() * c0.clone() * (c0.clone() - one.clone()));
        let mut witness = AB::Expr::ZERO;
        for k in 0..LIMBS {
            let diff: AB::Expr = l.a[k].into() - l.b[k].into();
            builder.assert_zero(eqz.clone() * c0.clone() * diff.clone());
            witness += diff * l.d[k].into();
        }
        builder.assert_zero(eqz.clone() * (one.clone() - c0 - witness));
        // Single-bit results.
        for k in 1..LIMBS {
            builder.assert_zero((cmp.clone() + eqz.clone()) * l.c[k].into());
        }
        // Unary operations have no second operand.
        for k in 0..LIMBS {
            builder.assert_zero((fl(F_ISZERO) + fl(F_NOT)) * l.b[k].into());
            builder.assert_zero(fl(F_NOT) * (l.c[k].into() + l.a[k].into() - c(0xffff)));
        }

        // AND / OR / XOR from byte ANDs.
        let bitwise = fl(F_AND) + fl(F_OR) + fl(F_XOR);
        for k in 0..LIMBS {
            let limb = |bytes: &[AB::Var; 32]| -> AB::Expr {
                bytes[2 * k].into() + bytes[2 * k + 1].into() * c(256)
            };
            let (ab, bb, andb) = (limb(&l.a_bytes), limb(&l.b_bytes), limb(&l.and_bytes));
            builder.assert_zero(bitwise.clone() * (l.a[k].into() - ab.clone()));
            builder.assert_zero(bitwise.clone() * (l.b[k].into() - bb.clone()));
            builder.assert_zero(fl(F_AND) * (l.c[k].into() - andb.clone()));
            builder
                .assert_zero(fl(F_OR) * (l.c[k].into() - ab.clone() - bb.clone() + andb.clone()));
            builder.assert_zero(fl(F_XOR) * (l.c[k].into() - ab - bb + andb * c(2)));
        }
        for j in 0..32 {
            buses::AND8.lookup_key(
                builder,
                [l.a_bytes[j], l.b_bytes[j], l.and_bytes[j]],
                Count::bounded(bitwise.clone(), 1),
            );
        }

        let fields = [opcode]
            .into_iter()
            .chain(l.a.iter().map(|&x| x.into()))
            .chain(l.b.iter().map(|&x| x.into()))
            // No third operand (the CPU's unconsumed `inp[2]` is zero).
            .chain((0..LIMBS).map(|_| AB::Expr::ZERO))
            .chain(l.c.iter().map(|&x| x.into()));
        buses::ALU.receive(builder, fields, Count::bounded(real, 1));
    }
}
