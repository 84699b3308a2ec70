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
        // EXP: a head row (the division e = q 2^j + r: j is the exponent's top bit) and a chain
        // of squaring and multiplying rows (acc^2, acc base: products mod 2^256).
        let (fe, fsq, fmul) = (fl(F_EXP), fl(F_EXP_SQ), fl(F_EXP_MUL));
        let chain = fsq.clone() + fmul.clone();
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
            + mm_b.clone()
            + fe.clone();
        // Rows whose relation is a product: z = 0.
        let product = fl(F_MUL) + fl(F_SHL) + mm_a.clone() + chain.clone();

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
            builder.assert_zero(unsigned_dm.clone() * (lo.clone() - a.clone()));
            builder.assert_zero((fl(F_SHR) + by_index.clone()) * (lo.clone() - b.clone()));
            builder.assert_zero(fl(F_MUL) * (cc.clone() - lo.clone()));
            builder.assert_zero(fl(F_DIV) * (cc.clone() - x.clone()));
            builder.assert_zero(
                fl(F_MOD) * (cc.clone() - z.clone() * (one.clone() - l.y_zero.into())),
            );
            builder.assert_zero(fl(F_SHL) * (cc.clone() - lo.clone() * not_big.clone()));
            builder.assert_zero(fl(F_SHR) * (cc - x.clone() * not_big.clone()));
            // EXP's head divides the exponent b by 2^j with the quotient q = [b != 0] (x = q,
            // so b < 2^(j+1) and, for b != 0, b >= 2^j); the chain squares (y = x = acc) and
            // multiplies by the base (y = a).
            builder.assert_zero(fe.clone() * (lo - b));
            let q: AB::Expr = if k == 0 {
                one.clone() - l.n_zero.into()
            } else {
                AB::Expr::ZERO
            };
            builder.assert_zero(fe.clone() * (x.clone() - q));
            builder.assert_zero(fsq.clone() * (y.clone() - x));
            builder.assert_zero(fmul.clone() * (y - a));
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
        // EXP rows use `16 k + e` as the exponent's bit position (the head's j; the chain's i).
        builder.assert_eq(sel_sum, by_pow.clone() + fe.clone() + chain.clone());
        let mut e = AB::Expr::ZERO;
        for (i, &bit) in l.e_bits.iter().enumerate() {
            builder.assert_bool(bit);
            e += bit.into() * c(1 << i);
        }
        let eb = |i: usize| -> AB::Expr { l.e_bits[i].into() };
        let pow_rows = by_pow.clone() + fe.clone() + fsq.clone();
        builder.assert_zero(
            pow_rows.clone()
                * (l.pow1.into() - (one.clone() + eb(0)) * (one.clone() + eb(1) * c(3))),
        );
        builder.assert_zero(
            pow_rows.clone() * (l.pow2.into() - l.pow1.into() * (one.clone() + eb(2) * c(15))),
        );
        builder.assert_zero(
            pow_rows * (l.pow.into() - l.pow2.into() * (one.clone() + eb(3) * c(255))),
        );
        // The power's exponent s = 16 k + e: shifts a = s + 256 t (t a byte); BYTE a = i + 32 t,
        // s = 248 - 8 i; SIGNEXTEND a = i + 32 t, s = 8 i + 7 (t < 2^11: t and 32 t are u16
        // values). Every term is below 2^20, so these hold over the integers.
        let s_exp = k_idx.clone() * c(16) + e;
        let a0: AB::Expr = l.a[0].into();
        let t: AB::Expr = l.t.into();
        builder.assert_zero(shift.clone() * (a0.clone() - s_exp.clone() - t.clone() * c(256)));
        builder.assert_zero(
            fl(F_BYTE) * (a0.clone() * c(8) + s_exp.clone() - c(248) - t.clone() * c(256)),
        );
        builder.assert_zero(
            fl(F_SIGNEXTEND) * (a0 * c(8) + c(7) - s_exp.clone() - t.clone() * c(256)),
        );
        buses::BYTE.lookup_key(builder, [l.t], Count::bounded(shift.clone(), 1));
        buses::U16.lookup_key(builder, [l.t], Count::bounded(by_index.clone(), 1));
        buses::U16.lookup_key(
            builder,
            [t.clone() * c(32)],
            Count::bounded(by_index.clone(), 1),
        );
        for k in 0..LIMBS {
            builder.assert_zero(
                (by_pow.clone() + fe.clone()) * (word16(&l.y, k) - l.sel[k].into() * l.pow.into()),
            );
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

        self.eval_exp(builder, l, k_idx, s_exp);

        buses::U16.lookup_key(builder, [gap_lookup.0], Count::bounded(gap_lookup.1, 1));

        // ---- MULMOD: n' = n + [n = 0] (n in w on the first row), and the rows' links ----
        // On EXP's head n_zero = [b = 0] (the exponent).
        builder.assert_bool(l.n_zero);
        builder.assert_zero((one.clone() - mm_a.clone() - fe.clone()) * l.n_zero.into());
        // The limbs are the CPU's u16 values (the bus), so their sums do not wrap.
        let n_sum: AB::Expr = l.w.iter().map(|&v| v.into()).sum();
        let e_sum: AB::Expr = l.b.iter().map(|&v| v.into()).sum();
        for (gate, sum) in [(mm_a.clone(), n_sum), (fe.clone(), e_sum)] {
            builder.assert_zero(gate.clone() * l.n_zero.into() * sum.clone());
            builder.assert_zero(gate * (sum * l.n_zero_inv.into() - one.clone() + l.n_zero.into()));
        }
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

        // n is ADDMOD's modulus y, MULMOD's the bus value kept in w, EXP's gas (t, limb 0);
        // zero on the other rows. MULMOD's and EXP's later rows do not receive.
        let fa = fl(F_ADDMOD);
        let n_field = |k: usize| -> AB::Expr {
            let n = fa.clone() * word16(&l.y, k) + mm_a.clone() * l.w[k].into();
            if k == 0 {
                n + fe.clone() * l.t.into()
            } else {
                n
            }
        };
        let fields = [opcode]
            .into_iter()
            .chain(l.a.iter().map(|&x| x.into()))
            .chain(l.b.iter().map(|&x| x.into()))
            .chain((0..LIMBS).map(n_field))
            .chain(l.c.iter().map(|&x| x.into()));
        buses::ALU.receive(
            builder,
            fields,
            Count::bounded(real - mm_b - mm_c - chain, 1),
        );
    }

    /// EXP (left-to-right square-and-multiply). The head row receives `(EXP, a, b, gas, c)`,
    /// splits the exponent `b = q 2^j + r` (`q = [b != 0]`, so j is b's top bit and `r < 2^j`),
    /// and starts the chain with `acc = a^q` and the bits of r below j. A squaring row at
    /// position i takes bit i of the rest (`rest = bit 2^i + rest'`, `rest' < 2^i`) and hands
    /// `acc^2` on to the multiplying row at i (bit 1) or the squaring row at i - 1; a
    /// multiplying row hands `acc a` on to i - 1. The last row hands its acc on at position -1,
    /// which only the head receives, as its claimed result c: so c = a^b mod 2^256. The gas is
    /// `10 + 50 q (2 k + 1 + e_3)` for `j = 16 k + e` (b's bytes).
    fn eval_exp<AB: InteractionBuilder>(
        &self,
        builder: &mut AB,
        l: &MulDivCols<AB::Var>,
        k_idx: AB::Expr,
        pos: AB::Expr,
    ) {
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let fl = |i: usize| -> AB::Expr { l.flags[i].into() };
        let (fe, fsq, fmul) = (fl(F_EXP), fl(F_EXP_SQ), fl(F_EXP_MUL));
        let chain = fsq.clone() + fmul.clone();
        let word16 = |bytes: &[AB::Var; BYTES], k: usize| -> AB::Expr {
            bytes[2 * k].into() + bytes[2 * k + 1].into() * c(256)
        };
        let n_zero: AB::Expr = l.n_zero.into();

        // ---- Head: acc = a^q in w, the gas in t ----
        for k in 0..LIMBS {
            let unit = if k == 0 {
                n_zero.clone()
            } else {
                AB::Expr::ZERO
            };
            builder.assert_zero(
                fe.clone()
                    * (l.w[k].into() - l.a[k].into() * (one.clone() - n_zero.clone()) - unit),
            );
        }
        // Bytes of b: 2k + 1, or 2k + 2 when bit j is in the limb's high byte (e >= 8).
        let bytes = k_idx * c(2) + one.clone() + l.e_bits[3].into();
        builder.assert_zero(
            fe.clone() * (l.t.into() - c(10) - (one.clone() - n_zero) * bytes * c(50)),
        );

        // ---- Squaring rows: bit i of the rest (b) leaves rest' (w) ----
        // `sc` is the bit, `big_inv` is `bit 2^e`, `y_inv` is limb k of rest'.
        let (bit, bit_pow, rest_k): (AB::Expr, AB::Expr, AB::Expr) =
            (l.sc.into(), l.big_inv.into(), l.y_inv.into());
        builder.assert_zero(fsq.clone() * (bit_pow.clone() - bit.clone() * l.pow.into()));
        let mut selected = AB::Expr::ZERO;
        for k in 0..LIMBS {
            builder.assert_zero(
                fsq.clone() * (l.w[k].into() - l.b[k].into() + l.sel[k].into() * bit_pow.clone()),
            );
            selected += l.sel[k].into() * l.w[k].into();
        }
        builder.assert_zero(fsq.clone() * (rest_k.clone() - selected));
        // 0 <= rest'_k < 2^e: rest'_k and 2^e - 1 - rest'_k are both u16 values. The other
        // limbs are unchanged; by induction the rest is below 2^(i+1) on every row (the head's
        // r < 2^j), so the bit is the rest's bit i.
        buses::U16.lookup_key(builder, [rest_k.clone()], Count::bounded(fsq.clone(), 1));
        buses::U16.lookup_key(
            builder,
            [l.pow.into() - one.clone() - rest_k],
            Count::bounded(fsq.clone(), 1),
        );

        // ---- The links: (tag, base, acc, rest, position, result) ----
        const SQUARE: u32 = 1;
        const MULTIPLY: u32 = 2;
        let rows = fe.clone() + chain.clone();
        let word = |f: &dyn Fn(usize) -> AB::Expr| -> Vec<AB::Expr> { (0..LIMBS).map(f).collect() };
        let link = |tag: AB::Expr, acc: Vec<AB::Expr>, rest: Vec<AB::Expr>, position: AB::Expr| {
            core::iter::once(tag)
                .chain(l.a.iter().map(|&v| v.into()))
                .chain(acc)
                .chain(rest)
                .chain([position])
                .chain(l.c.iter().map(|&v| v.into()))
                .collect::<Vec<AB::Expr>>()
        };
        // Received: the head receives the chain's end (acc = its result, nothing left, at
        // position -1); chain rows their acc (x), rest (b) and position.
        buses::EXP_LINK.receive(
            builder,
            link(
                (fe.clone() + fsq.clone()) * c(SQUARE) + fmul.clone() * c(MULTIPLY),
                word(&|k| fe.clone() * l.c[k].into() + chain.clone() * word16(&l.x, k)),
                word(&|k| chain.clone() * l.b[k].into()),
                chain.clone() * pos.clone() - fe.clone(),
            ),
            Count::bounded(rows.clone(), 1),
        );
        // Sent: the head its acc (w) and r (z) below j; a squaring row acc^2 (l) and rest' (w),
        // to the multiplying row at i when the bit is set; a multiplying row acc a (l) and the
        // rest it received.
        buses::EXP_LINK.send(
            builder,
            link(
                rows.clone() * c(SQUARE) + fsq.clone() * bit.clone() * c(MULTIPLY - SQUARE),
                word(&|k| fe.clone() * l.w[k].into() + chain.clone() * l.l[k].into()),
                word(&|k| {
                    fe.clone() * l.z[k].into()
                        + fsq.clone() * l.w[k].into()
                        + fmul.clone() * l.b[k].into()
                }),
                pos - rows.clone() + fsq * bit,
            ),
            Count::bounded(rows, 1),
        );
    }
}
