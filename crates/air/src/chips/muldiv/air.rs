use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use super::columns::*;
use crate::buses;
use crate::word::LIMBS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MulDivAir;

impl<F> BaseAir<F> for MulDivAir {
    fn width(&self) -> usize {
        NUM_MULDIV_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl MulDivAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &MulDivCols<AB::Var> = main.current_slice().borrow();
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let fl = |i: usize| -> AB::Expr { l.flags[i].into() };

        let mut real = AB::Expr::ZERO;
        let mut opcode = AB::Expr::ZERO;
        for (i, &f) in l.flags.iter().enumerate() {
            builder.assert_bool(f);
            real += f.into();
            if let Some(&op) = MULDIV_OPS.get(i) {
                opcode += f.into() * c(op as u32);
            }
        }
        // MULMOD's three rows: a b = h 2^256 + l; h = q1 n' + r1; r1 2^256 + l = q2 n' + r,
        // with n' = n, or 1 for n = 0 (so that the result is 0). r1 < n' makes q2 fit a word.
        let (mm_a, mm_b, mm_c) = (fl(F_MULMOD), fl(F_MULMOD_B), fl(F_MULMOD_C));
        builder.assert_bool(real.clone());
        let unsigned_dm = fl(F_DIV) + fl(F_MOD);
        let signed = fl(F_SDIV) + fl(F_SMOD);
        // Rows with a modulus that may be zero (then y_zero): DIV, MOD, SDIV, SMOD, ADDMOD.
        let divmod = unsigned_dm.clone() + signed.clone() + fl(F_ADDMOD);
        let shift = fl(F_SHL) + fl(F_SHR) + fl(F_SAR);
        // BYTE and SIGNEXTEND divide b by a power of two too (the byte index picks it).
        let by_index = fl(F_BYTE) + fl(F_SIGNEXTEND);
        let by_pow = shift.clone() + by_index.clone();
        // Rows whose relation is a division: h = 0, l = the dividend (SDIV/SMOD: |a|; SAR: b or
        // NOT b), x = q, z = r.
        // MULMOD's second row divides the product's high word.
        let quotient = unsigned_dm.clone()
            + signed.clone()
            + fl(F_SHR)
            + fl(F_SAR)
            + by_index.clone()
            + mm_b.clone();
        // Rows whose relation is a product: z = 0.
        let product = fl(F_MUL) + fl(F_SHL) + mm_a.clone();

        let word16 = |bytes: &[AB::Var; BYTES], k: usize| -> AB::Expr {
            bytes[2 * k].into() + bytes[2 * k + 1].into() * c(256)
        };

        // ---- x y + z = h 2^256 + l, per 16-bit output limb ----
        let carry = |m: usize| -> AB::Expr { l.carry_lo[m].into() + l.carry_hi[m].into() * c(64) };
        for m in 0..2 * LIMBS {
            let mut prod = AB::Expr::ZERO;
            for (col, weight) in [(2 * m, 1u32), (2 * m + 1, 256)] {
                for i in col.saturating_sub(BYTES - 1)..=col.min(BYTES - 1) {
                    prod += l.x[i].into() * l.y[col - i].into() * c(weight);
                }
            }
            let z: AB::Expr = if m < LIMBS {
                l.z[m].into()
            } else {
                AB::Expr::ZERO
            };
            let out: AB::Expr = if m < LIMBS {
                l.l[m].into()
            } else {
                l.h[m - LIMBS].into()
            };
            let cin: AB::Expr = if m == 0 { AB::Expr::ZERO } else { carry(m - 1) };
            let cout: AB::Expr = if m + 1 < 2 * LIMBS {
                carry(m)
            } else {
                AB::Expr::ZERO
            };
            builder.assert_zero(prod + z + cin - out - cout * c(1 << 16));
        }
        // Carries below 255 + 64 * 255 < 2^14.02 (both parts bytes), so that
        // `out + 2^16 carry` stays below the field (the true carries are below 2^13).
        for m in 0..2 * LIMBS - 1 {
            buses::BYTE_PAIR.lookup_key(
                builder,
                [l.carry_lo[m], l.carry_hi[m]],
                Count::bounded(real.clone(), 1),
            );
        }
        // The bytes of x and y, two per lookup (the bytes of one 16-bit limb).
        for bytes in [&l.x, &l.y] {
            for pair in bytes.chunks_exact(2) {
                buses::BYTE_PAIR.lookup_key(
                    builder,
                    [pair[0], pair[1]],
                    Count::bounded(real.clone(), 1),
                );
            }
        }

        // ---- The opcodes' roles ----
        let not_big = one.clone() - l.big.into();
        for k in 0..LIMBS {
            let (a, b, cc): (AB::Expr, AB::Expr, AB::Expr) =
                (l.a[k].into(), l.b[k].into(), l.c[k].into());
            let (x, y) = (word16(&l.x, k), word16(&l.y, k));
            let (z, h, lo): (AB::Expr, AB::Expr, AB::Expr) =
                (l.z[k].into(), l.h[k].into(), l.l[k].into());
            builder.assert_zero((fl(F_MUL) + mm_a.clone()) * (x.clone() - a.clone()));
            builder.assert_zero(fl(F_SHL) * (x.clone() - b.clone()));
            builder.assert_zero(
                (fl(F_MUL) + unsigned_dm.clone() + mm_a.clone()) * (y.clone() - b.clone()),
            );
            builder.assert_zero(mm_c.clone() * (cc.clone() - z.clone()));
            builder.assert_zero(product.clone() * z.clone());
            builder.assert_zero(quotient.clone() * h);
            builder.assert_zero(unsigned_dm.clone() * (lo.clone() - a));
            builder.assert_zero((fl(F_SHR) + by_index.clone()) * (lo.clone() - b.clone()));
            builder.assert_zero(fl(F_MUL) * (cc.clone() - lo.clone()));
            builder.assert_zero(fl(F_DIV) * (cc.clone() - x.clone()));
            builder.assert_zero(
                fl(F_MOD) * (cc.clone() - z.clone() * (one.clone() - l.y_zero.into())),
            );
            builder.assert_zero(fl(F_SHL) * (cc.clone() - lo * not_big.clone()));
            builder.assert_zero(fl(F_SHR) * (cc - x * not_big.clone()));
        }

        // ---- Signed operations: sign bits, |a| and |b|, the signed result ----
        // `v XOR s` limb by limb (s a bit): v + s (2^16 - 1 - 2 v).
        let xor = |v: AB::Expr, s: AB::Expr| -> AB::Expr { v.clone() + s * (c(0xffff) - v * c(2)) };
        builder.assert_bool(l.sa);
        builder.assert_bool(l.sb);
        builder.assert_bool(l.sc);
        // The top limbs are the CPU's u16 values, so `2 r` in the u16 table pins r below 2^15.
        builder.assert_zero(
            signed.clone() * (l.a[LIMBS - 1].into() - l.sa.into() * c(1 << 15) - l.ra.into()),
        );
        let sign_b = signed.clone() + fl(F_SAR);
        builder.assert_zero(
            sign_b.clone() * (l.b[LIMBS - 1].into() - l.sb.into() * c(1 << 15) - l.rb.into()),
        );
        buses::U16.lookup_key(
            builder,
            [l.ra.into() * c(2)],
            Count::bounded(signed.clone(), 1),
        );
        buses::U16.lookup_key(builder, [l.rb.into() * c(2)], Count::bounded(sign_b, 1));
        // Two's-complement negation where the sign is set: out + 2^16 carry = (v XOR s) + carry in,
        // carry in of limb 0 = s. The outputs are pinned by range: l (looked up here), y (bytes),
        // c (the CPU's range-checked result).
        let negate = |builder: &mut AB,
                      gate: AB::Expr,
                      v: &dyn Fn(usize) -> AB::Expr,
                      s: AB::Expr,
                      out: &dyn Fn(usize) -> AB::Expr,
                      carries: &[AB::Var; LIMBS]| {
            for k in 0..LIMBS {
                let cin: AB::Expr = if k == 0 {
                    s.clone()
                } else {
                    carries[k - 1].into()
                };
                builder.assert_bool(carries[k]);
                builder.assert_zero(
                    gate.clone()
                        * (xor(v(k), s.clone()) + cin - out(k) - carries[k].into() * c(1 << 16)),
                );
            }
        };
        negate(
            builder,
            signed.clone(),
            &|k| l.a[k].into(),
            l.sa.into(),
            &|k| l.l[k].into(),
            &l.neg_a,
        );
        negate(
            builder,
            signed.clone(),
            &|k| l.b[k].into(),
            l.sb.into(),
            &|k| word16(&l.y, k),
            &l.neg_b,
        );
        negate(
            builder,
            signed.clone(),
            &|k| l.w[k].into(),
            l.sc.into(),
            &|k| l.c[k].into(),
            &l.neg_c,
        );
        // The result's sign: SDIV sa XOR sb, SMOD sa (the dividend's).
        let (sa, sb): (AB::Expr, AB::Expr) = (l.sa.into(), l.sb.into());
        builder.assert_zero(
            fl(F_SDIV) * (l.sc.into() - sa.clone() - sb.clone() + sa.clone() * sb.clone() * c(2)),
        );
        builder.assert_zero(fl(F_SMOD) * (l.sc.into() - sa));
        for k in 0..LIMBS {
            let w: AB::Expr = l.w[k].into();
            builder.assert_zero(fl(F_SDIV) * (w.clone() - word16(&l.x, k)));
            builder.assert_zero(
                fl(F_SMOD) * (w.clone() - l.z[k].into() * (one.clone() - l.y_zero.into())),
            );
            // SAR: the quotient of (b XOR sb) by 2^s, XOR sb again (an arithmetic shift is a
            // logical shift of the complement for a negative value).
            builder.assert_zero(fl(F_SAR) * (w.clone() - word16(&l.x, k) * not_big.clone()));
            builder.assert_zero(fl(F_SAR) * (l.l[k].into() - xor(l.b[k].into(), sb.clone())));
            builder.assert_zero(fl(F_SAR) * (l.c[k].into() - xor(w, sb.clone())));
        }

        // ---- Division by zero: y_zero = [y = 0] on DIV/MOD/SDIV/SMOD, and then q = 0 ----
        builder.assert_bool(l.y_zero);
        builder.assert_zero((one.clone() - divmod.clone()) * l.y_zero.into());
        let y_sum: AB::Expr = l.y.iter().map(|&v| v.into()).sum();
        builder.assert_zero(l.y_zero.into() * y_sum.clone());
        builder
            .assert_zero(divmod.clone() * (y_sum * l.y_inv.into() - one.clone() + l.y_zero.into()));
        for &x in &l.x {
            builder.assert_zero(l.y_zero.into() * x.into());
        }

        // ---- ADDMOD: a + b = h_0 2^256 + l (carries `neg_a`), divided by n = y; n = 0 or 1
        // gives 0 (y_zero, n_one), and then the sum is not needed (for n = 1 the quotient of a
        // 257-bit sum may not fit x) ----
        let fa = fl(F_ADDMOD);
        builder.assert_bool(l.n_one);
        builder.assert_zero((one.clone() - fa.clone()) * l.n_one.into());
        let n_dist: AB::Expr = l.y[0].into() - one.clone()
            + l.y[1..].iter().map(|&v| v.into()).sum::<AB::Expr>() * c(256);
        builder.assert_zero(l.n_one.into() * n_dist.clone());
        builder.assert_zero(fa.clone() * (n_dist * l.n_inv.into() - one.clone() + l.n_one.into()));
        let small_n: AB::Expr = l.y_zero.into() + l.n_one.into();
        let sum_used = fa.clone() * (one.clone() - small_n.clone());
        for k in 0..LIMBS {
            let cin: AB::Expr = if k == 0 {
                AB::Expr::ZERO
            } else {
                l.neg_a[k - 1].into()
            };
            builder.assert_zero(
                sum_used.clone()
                    * (l.a[k].into() + l.b[k].into() + cin
                        - l.l[k].into()
                        - l.neg_a[k].into() * c(1 << 16)),
            );
            builder.assert_zero(
                fa.clone() * (l.c[k].into() - l.z[k].into() * (one.clone() - small_n.clone())),
            );
            if k > 0 {
                builder.assert_zero(fa.clone() * l.h[k].into());
            }
        }
        builder.assert_zero(sum_used * (l.h[0].into() - l.neg_a[LIMBS - 1].into()));
        builder.assert_zero(fa.clone() * small_n * l.h[0].into());
        // l is |a| (SDIV/SMOD), the low word of a + b (ADDMOD) or, on MULMOD's first two rows,
        // the low word of a b and the dividend (the first row's high word): range-checked on
        // those rows (the outputs of the negation, the addition and the product are pinned
        // by range).
        let l_checked = signed.clone() + fa.clone() + mm_a.clone() + mm_b.clone();
        for &v in &l.l {
            buses::U16.lookup_key(builder, [v], Count::bounded(l_checked.clone(), 1));
        }

        // ---- Remainder below the divisor: z < y ----
        // y_zero and n_one are only set on rows with a modulus, so this is [DIV/MOD/SDIV/SMOD/
        // ADDMOD with y > 1 (y > 0 for all but ADDMOD), or SHR/SAR/BYTE/SIGNEXTEND]. One
        // `top_diff` picks the highest limb where they differ: the limbs above it are equal and
        // `y_k - z_k - 1` is a u16 value there (z_k and y_k are u16 values, so no wrap).
        let cmp = quotient.clone() + fa + mm_c.clone() - l.y_zero.into() - l.n_one.into();
        let mut above = AB::Expr::ZERO;
        let mut gap = AB::Expr::ZERO;
        for k in (0..LIMBS).rev() {
            let d = l.top_diff[k];
            builder.assert_bool(d);
            above += d.into();
            let y_minus_z = word16(&l.y, k) - l.z[k].into();
            builder.assert_zero((cmp.clone() - above.clone()) * y_minus_z.clone());
            gap += d.into() * (y_minus_z - one.clone());
            buses::U16.lookup_key(builder, [l.z[k]], Count::bounded(cmp.clone(), 1));
        }
        builder.assert_eq(above, cmp.clone());
        // Last on the u16 bus: a degree-2 key fills a fraction column on its own.
        let gap_lookup = (gap, cmp);

        // ---- Shifts: a = 16 k + e + 256 t (+ higher limbs), y = 2^(16 k + e) ----
        let mut sel_sum = AB::Expr::ZERO;
        let mut k_idx = AB::Expr::ZERO;
        for (k, &s) in l.sel.iter().enumerate() {
            builder.assert_bool(s);
            sel_sum += s.into();
            k_idx += s.into() * c(k as u32);
        }
        builder.assert_eq(sel_sum, by_pow.clone());
        let mut e = AB::Expr::ZERO;
        for (i, &bit) in l.e_bits.iter().enumerate() {
            builder.assert_bool(bit);
            e += bit.into() * c(1 << i);
        }
        let eb = |i: usize| -> AB::Expr { l.e_bits[i].into() };
        builder.assert_zero(
            by_pow.clone() * (l.pow1.into() - (one.clone() + eb(0)) * (one.clone() + eb(1) * c(3))),
        );
        builder.assert_zero(
            by_pow.clone() * (l.pow2.into() - l.pow1.into() * (one.clone() + eb(2) * c(15))),
        );
        builder.assert_zero(
            by_pow.clone() * (l.pow.into() - l.pow2.into() * (one.clone() + eb(3) * c(255))),
        );
        // The power's exponent s = 16 k + e: shifts a = s + 256 t (t a byte); BYTE a = i + 32 t,
        // s = 248 - 8 i; SIGNEXTEND a = i + 32 t, s = 8 i + 7 (t < 2^11: t and 32 t are u16
        // values). Every term is below 2^20, so these hold over the integers.
        let s_exp = k_idx * c(16) + e;
        let a0: AB::Expr = l.a[0].into();
        let t: AB::Expr = l.t.into();
        builder.assert_zero(shift.clone() * (a0.clone() - s_exp.clone() - t.clone() * c(256)));
        builder.assert_zero(
            fl(F_BYTE) * (a0.clone() * c(8) + s_exp.clone() - c(248) - t.clone() * c(256)),
        );
        builder.assert_zero(fl(F_SIGNEXTEND) * (a0 * c(8) + c(7) - s_exp - t.clone() * c(256)));
        buses::BYTE.lookup_key(builder, [l.t], Count::bounded(shift.clone(), 1));
        buses::U16.lookup_key(builder, [l.t], Count::bounded(by_index.clone(), 1));
        buses::U16.lookup_key(
            builder,
            [t.clone() * c(32)],
            Count::bounded(by_index.clone(), 1),
        );
        for k in 0..LIMBS {
            builder
                .assert_zero(by_pow.clone() * (word16(&l.y, k) - l.sel[k].into() * l.pow.into()));
        }
        // big = [t + a_1 + ... + a_15 != 0] (at most 2^20: no wrap): a shift of 256 or more, a
        // byte index of 32 or more.
        builder.assert_bool(l.big);
        builder.assert_zero((one.clone() - by_pow.clone()) * l.big.into());
        let high: AB::Expr = t + l.a[1..].iter().map(|&v| v.into()).sum::<AB::Expr>();
        builder.assert_zero(by_pow.clone() * (high.clone() * l.big_inv.into() - l.big.into()));
        builder.assert_zero(by_pow * high * not_big.clone());

        // ---- BYTE: the lowest byte of b >> (248 - 8 i) ----
        builder.assert_zero(fl(F_BYTE) * (l.c[0].into() - l.x[0].into() * not_big.clone()));
        for k in 1..LIMBS {
            builder.assert_zero(fl(F_BYTE) * l.c[k].into());
        }

        // ---- SIGNEXTEND: b = q 2^(8 i + 7) + r, the sign is q's lowest bit, c = r - sign 2^s
        // (mod 2^256): c + sign y = r + sign 2^256, carries in `neg_c`; b itself for i >= 32 ----
        builder.assert_zero(
            fl(F_SIGNEXTEND) * (l.x[0].into() - l.x0_half.into() * c(2) - l.sc.into()),
        );
        buses::BYTE.lookup_key(builder, [l.x0_half], Count::bounded(fl(F_SIGNEXTEND), 1));
        builder.assert_zero(l.se_small.into() - fl(F_SIGNEXTEND) * not_big);
        for k in 0..LIMBS {
            let cin: AB::Expr = if k == 0 {
                AB::Expr::ZERO
            } else {
                l.neg_c[k - 1].into()
            };
            builder.assert_zero(
                l.se_small.into()
                    * (l.c[k].into() + l.sc.into() * word16(&l.y, k) + cin
                        - l.z[k].into()
                        - l.neg_c[k].into() * c(1 << 16)),
            );
            builder.assert_zero(
                (fl(F_SIGNEXTEND) - l.se_small.into()) * (l.c[k].into() - l.b[k].into()),
            );
        }
        builder.assert_zero(l.se_small.into() * (l.neg_c[LIMBS - 1].into() - l.sc.into()));

        buses::U16.lookup_key(builder, [gap_lookup.0], Count::bounded(gap_lookup.1, 1));

        // ---- MULMOD: n' = n + [n = 0] (n in w on the first row), and the rows' links ----
        builder.assert_bool(l.n_zero);
        builder.assert_zero((one.clone() - mm_a.clone()) * l.n_zero.into());
        // The limbs are the CPU's u16 values (the bus), so their sum does not wrap.
        let n_sum: AB::Expr = l.w.iter().map(|&v| v.into()).sum();
        builder.assert_zero(l.n_zero.into() * n_sum.clone());
        builder.assert_zero(
            mm_a.clone() * (n_sum * l.n_zero_inv.into() - one.clone() + l.n_zero.into()),
        );
        let word =
            |v: &[AB::Var; LIMBS]| -> Vec<AB::Expr> { v.iter().map(|&x| x.into()).collect() };
        let y16: Vec<AB::Expr> = (0..LIMBS).map(|k| word16(&l.y, k)).collect();
        let mut n_prime = word(&l.w);
        n_prime[0] += l.n_zero.into();
        let link = |tag: u32, words: [Vec<AB::Expr>; 4]| -> Vec<AB::Expr> {
            core::iter::once(c(tag))
                .chain(words.into_iter().flatten())
                .collect()
        };
        // Row 1 (a b = h:l) hands on h, l, n' and the claimed result (from the bus).
        buses::MULMOD_LINK.send(
            builder,
            link(1, [word(&l.h), word(&l.l), n_prime, word(&l.c)]),
            Count::bounded(mm_a.clone(), 1),
        );
        // Row 2 divides h (its l) by n' (its y), keeps the low word in c and the result in w,
        // and hands on its remainder r1 (z) with them.
        buses::MULMOD_LINK.receive(
            builder,
            link(1, [word(&l.l), word(&l.c), y16.clone(), word(&l.w)]),
            Count::bounded(mm_b.clone(), 1),
        );
        buses::MULMOD_LINK.send(
            builder,
            link(2, [word(&l.z), word(&l.c), y16.clone(), word(&l.w)]),
            Count::bounded(mm_b.clone(), 1),
        );
        // Row 3 divides r1:l by n'; its remainder is the result (c = z above).
        buses::MULMOD_LINK.receive(
            builder,
            link(2, [word(&l.h), word(&l.l), y16, word(&l.c)]),
            Count::bounded(mm_c.clone(), 1),
        );

        // n is ADDMOD's modulus y, MULMOD's the bus value kept in w; zero on the other rows.
        // MULMOD's later rows do not receive.
        let fa = fl(F_ADDMOD);
        let fields = [opcode]
            .into_iter()
            .chain(l.a.iter().map(|&x| x.into()))
            .chain(l.b.iter().map(|&x| x.into()))
            .chain((0..LIMBS).map(|k| fa.clone() * word16(&l.y, k) + mm_a.clone() * l.w[k].into()))
            .chain(l.c.iter().map(|&x| x.into()));
        buses::ALU.receive(builder, fields, Count::bounded(real - mm_b - mm_c, 1));
    }
}
