use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;
use revm::primitives::U256;
use revm::primitives::ruint::aliases::U512;
use slotproof_executor::trace::Word;

use super::columns::*;
use crate::chips::alu::trace::AluOp;
use crate::word::{LIMBS, limbs};

/// Lookups the rows make: u16 values, bytes and byte pairs (at `lo + 256 hi`).
#[derive(Clone, Debug, Default)]
pub struct MulDivCounts {
    pub u16: Vec<u32>,
    pub byte: Vec<u32>,
    pub pair: Vec<u32>,
}

/// Two's-complement absolute value and sign of a word.
fn abs(v: U256) -> (U256, bool) {
    if v.bit(255) {
        (v.wrapping_neg(), true)
    } else {
        (v, false)
    }
}

/// The relation's operands `x y + z` of one operation, from its inputs alone (the claimed
/// result only goes into the `c` columns, so a wrong claim fails the constraints).
fn operands(flag: usize, a: U256, b: U256, n: U256) -> (U256, U256, U256) {
    let shift = exponent(flag, a.as_limbs()[0] as u16).0 as usize;
    let divide = |n: U256, d: U256| {
        if d.is_zero() {
            (U256::ZERO, U256::ZERO, n)
        } else {
            (n / d, d, n % d)
        }
    };
    let shift_right = |v: U256| {
        let pow = U256::from(1u8) << shift;
        (v >> shift, pow, v & (pow - U256::from(1u8)))
    };
    match flag {
        F_MUL => (a, b, U256::ZERO),
        F_DIV | F_MOD => divide(a, b),
        F_SDIV | F_SMOD => divide(abs(a).0, abs(b).0),
        F_SHL => (b, U256::from(1u8) << shift, U256::ZERO),
        F_SHR | F_BYTE | F_SIGNEXTEND => shift_right(b),
        // ADDMOD: the 257-bit sum divided by n (n > 1, so the quotient fits 256 bits); for
        // n = 0 or 1 the relation just holds the sum's low word.
        F_ADDMOD if n <= U256::from(1u8) => {
            let low = a.wrapping_add(b);
            if n.is_zero() {
                (U256::ZERO, U256::ZERO, low)
            } else {
                (low, n, U256::ZERO)
            }
        }
        F_ADDMOD => {
            let wide = |v: U256| {
                let mut l = [0u64; 8];
                l[..4].copy_from_slice(v.as_limbs());
                U512::from_limbs(l)
            };
            let sum = wide(a) + wide(b);
            let narrow = |v: U512| U256::from_limbs(v.as_limbs()[..4].try_into().expect("4 limbs"));
            (narrow(sum / wide(n)), n, narrow(sum % wide(n)))
        }
        F_MULMOD => (a, b, U256::ZERO),
        // EXP's head: b = q 2^j + r with q = [b != 0] and j its top bit.
        F_EXP => {
            let j = exp_top_bit(b);
            if b.is_zero() {
                (U256::ZERO, U256::from(1u8) << j, U256::ZERO)
            } else {
                let pow = U256::from(1u8) << j;
                (U256::from(1u8), pow, b - pow)
            }
        }
        F_MULMOD_B | F_MULMOD_C => {
            let m = mulmod_parts(a, b, n);
            if flag == F_MULMOD_B {
                (m.q1, m.n_prime, m.r1)
            } else {
                (m.q2, m.n_prime, m.r)
            }
        }
        // SAR: a logical shift of b, complemented when negative.
        _ => shift_right(if b.bit(255) { !b } else { b }),
    }
}

/// MULMOD's intermediate values: `a b = h 2^256 + l`, `h = q1 n' + r1`,
/// `r1 2^256 + l = q2 n' + r` with `n' = n` or 1 for `n = 0`.
struct MulmodParts {
    n_prime: U256,
    l: U256,
    q1: U256,
    r1: U256,
    q2: U256,
    r: U256,
}

fn mulmod_parts(a: U256, b: U256, n: U256) -> MulmodParts {
    let n_prime = if n.is_zero() { U256::from(1u8) } else { n };
    let product: U512 = a.widening_mul(b);
    let words = product.as_limbs();
    let word = |i: usize| U256::from_limbs(words[4 * i..4 * i + 4].try_into().expect("4 limbs"));
    let (l, h) = (word(0), word(1));
    let (q1, r1) = (h / n_prime, h % n_prime);
    let mut wide = [0u64; 8];
    wide[..4].copy_from_slice(l.as_limbs());
    wide[4..].copy_from_slice(r1.as_limbs());
    let dividend = U512::from_limbs(wide);
    let mut np = [0u64; 8];
    np[..4].copy_from_slice(n_prime.as_limbs());
    let np = U512::from_limbs(np);
    let narrow = |v: U512| U256::from_limbs(v.as_limbs()[..4].try_into().expect("4 limbs"));
    MulmodParts {
        n_prime,
        l,
        q1,
        r1,
        q2: narrow(dividend / np),
        r: narrow(dividend % np),
    }
}

/// The position of the exponent's top bit (0 for a zero exponent).
fn exp_top_bit(e: U256) -> usize {
    e.bit_len().saturating_sub(1)
}

/// One row of an EXP chain: its bit position and the acc and rest of the exponent it receives.
#[derive(Clone, Copy, Debug)]
struct ExpStep {
    pos: usize,
    acc: U256,
    rest: U256,
}

/// The chain rows of `base^e` after its head (left to right: a squaring row per bit below the
/// top one, then a multiplying row where the bit is set).
fn exp_chain(base: U256, e: U256) -> Vec<(usize, ExpStep)> {
    let mut rows = Vec::new();
    if e.is_zero() {
        return rows;
    }
    let top = exp_top_bit(e);
    let mut acc = base;
    let mut rest = e;
    rest.set_bit(top, false);
    for pos in (0..top).rev() {
        rows.push((F_EXP_SQ, ExpStep { pos, acc, rest }));
        acc = acc.wrapping_mul(acc);
        if rest.bit(pos) {
            rest.set_bit(pos, false);
            rows.push((F_EXP_MUL, ExpStep { pos, acc, rest }));
            acc = acc.wrapping_mul(base);
        }
    }
    rows
}

/// `y = 2^s` through the one-hot limb `sel` and the bits of `e = s mod 16`.
fn set_power<F: PrimeField32>(row: &mut MulDivCols<F>, s: usize) {
    row.sel[s >> 4] = F::ONE;
    let e = s & 15;
    for (i, bit) in row.e_bits.iter_mut().enumerate() {
        *bit = F::from_bool(e >> i & 1 == 1);
    }
    row.pow1 = F::from_u32(1 << (e & 3));
    row.pow2 = F::from_u32(1 << (e & 7));
    row.pow = F::from_u32(1 << e);
}

/// The exponent `s` of the power `y = 2^s` and the rest `t` of the low limb of `a` (shifts:
/// `a_0 = s + 256 t`; BYTE, SIGNEXTEND: `a_0 = i + 32 t` with `s = 248 - 8 i`, `8 i + 7`).
fn exponent(flag: usize, a0: u16) -> (u32, u32) {
    let (i, t) = ((a0 & 31) as u32, (a0 >> 5) as u32);
    match flag {
        F_BYTE => (248 - 8 * i, t),
        F_SIGNEXTEND => (8 * i + 7, t),
        _ => ((a0 & 0xff) as u32, (a0 >> 8) as u32),
    }
}

/// Carries of `out = (v XOR s) + s` limb by limb (two's-complement negation where s is set).
fn negation_carries<F: PrimeField32>(v: &[u16; LIMBS], s: bool, carries: &mut [F; LIMBS]) {
    let mut carry = s as u32;
    for k in 0..LIMBS {
        let u = if s { 0xffff - v[k] as u32 } else { v[k] as u32 };
        carry = (u + carry) >> 16;
        carries[k] = F::from_u32(carry);
    }
}

/// A row to fill: its operation, flag and, on EXP's chain rows, the chain step.
type Job<'a> = (&'a AluOp, usize, Option<ExpStep>);

/// The rows an operation takes (MULMOD three, EXP its head and chain, the others one).
fn rows_of(op: &AluOp) -> Vec<Job<'_>> {
    let flag = MULDIV_OPS
        .iter()
        .position(|&o| o == op.opcode)
        .expect("multiplication-chip opcode");
    match flag {
        F_MULMOD => vec![
            (op, F_MULMOD, None),
            (op, F_MULMOD_B, None),
            (op, F_MULMOD_C, None),
        ],
        F_EXP => {
            let chain = exp_chain(op.a.into(), op.b.into());
            let mut rows = Vec::with_capacity(1 + chain.len());
            rows.push((op, F_EXP, None));
            rows.extend(chain.into_iter().map(|(f, st)| (op, f, Some(st))));
            rows
        }
        _ => vec![(op, flag, None)],
    }
}

fn fill<F: PrimeField32>(
    row: &mut MulDivCols<F>,
    op: &AluOp,
    flag: usize,
    step: Option<ExpStep>,
    u16s: &mut Vec<u32>,
    bytes: &mut Vec<u32>,
    pairs: &mut Vec<u32>,
) {
    row.flags[flag] = F::ONE;
    let (a, b, c) = (limbs(&op.a), limbs(&op.b), limbs(&op.c));
    for k in 0..LIMBS {
        row.a[k] = F::from_u16(a[k]);
        row.b[k] = F::from_u16(b[k]);
        row.c[k] = F::from_u16(c[k]);
    }
    let (ua, ub) = (
        <U256 as From<Word>>::from(op.a),
        <U256 as From<Word>>::from(op.b),
    );
    let un = <U256 as From<Word>>::from(op.n);
    let (x, y, z) = match (flag, step) {
        (F_EXP_SQ, Some(st)) => (st.acc, st.acc, U256::ZERO),
        (F_EXP_MUL, Some(st)) => (st.acc, ua, U256::ZERO),
        _ => operands(flag, ua, ub, un),
    };
    let (xb, yb) = (x.to_le_bytes::<32>(), y.to_le_bytes::<32>());
    let zl = limbs(&z.into());
    for (col, &v) in row.z.iter_mut().zip(&zl) {
        *col = F::from_u16(v);
    }
    for i in 0..BYTES {
        row.x[i] = F::from_u8(xb[i]);
        row.y[i] = F::from_u8(yb[i]);
    }
    for k in 0..LIMBS {
        pairs.push(xb[2 * k] as u32 | (xb[2 * k + 1] as u32) << 8);
        pairs.push(yb[2 * k] as u32 | (yb[2 * k + 1] as u32) << 8);
    }
    // The relation's limbs and carries, as the constraints walk them.
    let mut carry = 0u64;
    for m in 0..2 * LIMBS {
        let mut acc = carry + zl.get(m).map_or(0, |&v| v as u64);
        for (col, weight) in [(2 * m, 1u64), (2 * m + 1, 256)] {
            for i in col.saturating_sub(BYTES - 1)..=col.min(BYTES - 1) {
                acc += xb[i] as u64 * yb[col - i] as u64 * weight;
            }
        }
        let (out, next) = if m + 1 < 2 * LIMBS {
            (acc & 0xffff, acc >> 16)
        } else {
            (acc, 0)
        };
        if m < LIMBS {
            row.l[m] = F::from_u64(out);
        } else {
            row.h[m - LIMBS] = F::from_u64(out);
        }
        if m + 1 < 2 * LIMBS {
            let (lo, hi) = (next & 63, next >> 6);
            row.carry_lo[m] = F::from_u64(lo);
            row.carry_hi[m] = F::from_u64(hi);
            pairs.push((lo | hi << 8) as u32);
        }
        carry = next;
    }
    let divmod = matches!(flag, F_DIV | F_MOD | F_SDIV | F_SMOD | F_ADDMOD);
    let n_one = flag == F_ADDMOD && un == U256::from(1u8);
    if divmod {
        let sum: u32 = yb.iter().map(|&v| v as u32).sum();
        if sum == 0 {
            row.y_zero = F::ONE;
        } else {
            row.y_inv = F::from_u32(sum).inverse();
        }
    }
    // The remainder check: z + 1 + diff = y.
    if flag == F_ADDMOD {
        let dist = yb[0] as i64 - 1 + 256 * yb[1..].iter().map(|&v| v as i64).sum::<i64>();
        if n_one {
            row.n_one = F::ONE;
        } else {
            row.n_inv = (F::from_u32(dist.unsigned_abs() as u32)
                * if dist < 0 { -F::ONE } else { F::ONE })
            .inverse();
        }
        // l is range-checked on every ADDMOD row; the sum's carries where it is used.
        u16s.extend(limbs(&ua.wrapping_add(ub).into()).map(u32::from));
        if !y.is_zero() && !n_one {
            let mut carry = 0u32;
            for k in 0..LIMBS {
                carry = (a[k] as u32 + b[k] as u32 + carry) >> 16;
                row.neg_a[k] = F::from_u32(carry);
            }
        }
    }
    if (divmod && !y.is_zero() && !n_one)
        || matches!(
            flag,
            F_SHR | F_SAR | F_BYTE | F_SIGNEXTEND | F_MULMOD_B | F_MULMOD_C | F_EXP
        )
    {
        // z < y: the highest limb where they differ.
        let yl = limbs(&y.into());
        let top = (0..LIMBS)
            .rev()
            .find(|&k| yl[k] != zl[k])
            .expect("the remainder is below the divisor");
        row.top_diff[top] = F::ONE;
        u16s.extend(zl.iter().map(|&v| v as u32));
        u16s.push((yl[top] - zl[top] - 1) as u32);
    }
    let shift = matches!(flag, F_SHL | F_SHR | F_SAR);
    let by_pow = shift || matches!(flag, F_BYTE | F_SIGNEXTEND);
    let (s, t) = exponent(flag, a[0]);
    let high: u32 = t + a[1..].iter().map(|&v| v as u32).sum::<u32>();
    let big = by_pow && high != 0;
    if by_pow {
        let s = s as usize;
        row.t = F::from_u32(t);
        if shift {
            bytes.push(t);
        } else {
            u16s.push(t);
            u16s.push(32 * t);
        }
        set_power(row, s);
        if big {
            row.big = F::ONE;
            row.big_inv = F::from_u32(high).inverse();
        }
    }
    if flag == F_SIGNEXTEND {
        let sign = xb[0] & 1 == 1;
        row.sc = F::from_bool(sign);
        row.x0_half = F::from_u8(xb[0] >> 1);
        bytes.push((xb[0] >> 1) as u32);
        if !big {
            row.se_small = F::ONE;
            // c + sign y = r + sign 2^256, with c = r - sign y (mod 2^256).
            let res = limbs(&z.wrapping_sub(if sign { y } else { U256::ZERO }).into());
            let yl = limbs(&y.into());
            let mut carry = 0u32;
            for k in 0..LIMBS {
                carry = (res[k] as u32 + sign as u32 * yl[k] as u32 + carry - zl[k] as u32) >> 16;
                row.neg_c[k] = F::from_u32(carry);
            }
        }
    }
    match (flag, step) {
        (F_EXP, _) => {
            // n_zero = [b = 0]; w = a^q; t = the gas (10 + 50 per byte of b).
            let j = exp_top_bit(ub);
            set_power(row, j);
            let sum: u32 = b.iter().map(|&v| v as u32).sum();
            if sum == 0 {
                row.n_zero = F::ONE;
                row.w[0] = F::ONE;
            } else {
                row.n_zero_inv = F::from_u32(sum).inverse();
                for (col, &v) in row.w.iter_mut().zip(&a) {
                    *col = F::from_u16(v);
                }
            }
            row.t = F::from_u32(10 + 50 * ub.bit_len().div_ceil(8) as u32);
        }
        (F_EXP_SQ, Some(st)) => {
            // b: the rest received; w: the rest without bit pos; sc: the bit.
            set_power(row, st.pos);
            let bit = st.rest.bit(st.pos);
            let mut rest = st.rest;
            rest.set_bit(st.pos, false);
            let (rl, wl) = (limbs(&st.rest.into()), limbs(&rest.into()));
            for k in 0..LIMBS {
                row.b[k] = F::from_u16(rl[k]);
                row.w[k] = F::from_u16(wl[k]);
            }
            let e = st.pos & 15;
            row.sc = F::from_bool(bit);
            row.big_inv = F::from_u32((bit as u32) << e);
            let rest_k = wl[st.pos >> 4] as u32;
            row.y_inv = F::from_u32(rest_k);
            u16s.push(rest_k);
            u16s.push((1 << e) - 1 - rest_k);
        }
        (F_EXP_MUL, Some(st)) => {
            set_power(row, st.pos);
            for (col, v) in row.b.iter_mut().zip(limbs(&st.rest.into())) {
                *col = F::from_u16(v);
            }
        }
        (F_MULMOD, _) => {
            // w holds the bus's modulus; l (the product's low word) is range-checked here.
            let n = limbs(&op.n);
            for (col, &v) in row.w.iter_mut().zip(&n) {
                *col = F::from_u16(v);
            }
            let sum: u32 = n.iter().map(|&v| v as u32).sum();
            if sum == 0 {
                row.n_zero = F::ONE;
            } else {
                row.n_zero_inv = F::from_u32(sum).inverse();
            }
            u16s.extend(limbs(&mulmod_parts(ua, ub, un).l.into()).map(u32::from));
        }
        (F_MULMOD_B, _) => {
            // The dividend l (the product's high word) is range-checked here; c keeps the
            // product's low word and w the result for the third row.
            let m = mulmod_parts(ua, ub, un);
            let product: U512 = ua.widening_mul(ub);
            let high = U256::from_limbs(product.as_limbs()[4..].try_into().expect("4 limbs"));
            u16s.extend(limbs(&high.into()).map(u32::from));
            let low = limbs(&m.l.into());
            for k in 0..LIMBS {
                row.c[k] = F::from_u16(low[k]);
                row.w[k] = F::from_u16(c[k]);
            }
        }
        _ => {}
    }
    let (sa, sb) = (a[LIMBS - 1] >> 15 == 1, b[LIMBS - 1] >> 15 == 1);
    if matches!(flag, F_SDIV | F_SMOD | F_SAR) {
        row.sb = F::from_bool(sb);
        row.rb = F::from_u16(b[LIMBS - 1] & 0x7fff);
        u16s.push(2 * (b[LIMBS - 1] & 0x7fff) as u32);
    }
    if flag == F_SDIV || flag == F_SMOD {
        row.sa = F::from_bool(sa);
        row.ra = F::from_u16(a[LIMBS - 1] & 0x7fff);
        u16s.push(2 * (a[LIMBS - 1] & 0x7fff) as u32);
        negation_carries(&a, sa, &mut row.neg_a);
        negation_carries(&b, sb, &mut row.neg_b);
        // |a| is the relation's l (already filled); it is range-checked here.
        u16s.extend(limbs(&abs(ua).0.into()).map(u32::from));
    }
    if matches!(flag, F_SDIV | F_SMOD | F_SAR) {
        let w = match flag {
            F_SDIV => x,
            F_SMOD if y.is_zero() => U256::ZERO,
            F_SMOD => z,
            _ if big => U256::ZERO,
            _ => x,
        };
        let wl = limbs(&w.into());
        for (col, &v) in row.w.iter_mut().zip(&wl) {
            *col = F::from_u16(v);
        }
        if flag != F_SAR {
            let sc = if flag == F_SDIV { sa != sb } else { sa };
            row.sc = F::from_bool(sc);
            negation_carries(&wl, sc, &mut row.neg_c);
        }
    }
}

/// The rows of the multiplication chip for `ops`, in order (MULMOD three, EXP a head and its
/// chain, the others one).
pub struct MulDivRows<'a>(Vec<Job<'a>>);

impl<'a> MulDivRows<'a> {
    pub fn of(ops: &'a [AluOp]) -> Self {
        Self(ops.iter().flat_map(rows_of).collect())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The multiplication chip's trace of `ops` at its natural height, and its lookup counts.
pub fn generate<F: PrimeField32>(ops: &[AluOp]) -> (RowMajorMatrix<F>, MulDivCounts) {
    let rows = MulDivRows::of(ops);
    generate_rows(&rows, crate::chips::natural_height(rows.len()))
}

/// The multiplication chip's trace of `rows` (padded with zero rows to `height`, a power of
/// two, at least `rows.len()`) and its lookup counts.
pub fn generate_rows<F: PrimeField32>(
    rows: &MulDivRows<'_>,
    height: usize,
) -> (RowMajorMatrix<F>, MulDivCounts) {
    let jobs = &rows.0;
    debug_assert!(height.is_power_of_two() && height >= jobs.len());
    let mut values = F::zero_vec(height * NUM_MULDIV_COLS);
    let chunk = 1024;
    let parts: Vec<(Vec<u32>, Vec<u32>, Vec<u32>)> = values
        .par_chunks_mut(chunk * NUM_MULDIV_COLS)
        .enumerate()
        .map(|(ci, rows)| {
            let (mut u16s, mut bytes, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
            for (r, row) in rows.chunks_exact_mut(NUM_MULDIV_COLS).enumerate() {
                if let Some(&(op, flag, step)) = jobs.get(ci * chunk + r) {
                    fill(
                        row.borrow_mut(),
                        op,
                        flag,
                        step,
                        &mut u16s,
                        &mut bytes,
                        &mut pairs,
                    );
                }
            }
            (u16s, bytes, pairs)
        })
        .collect();
    let mut counts = MulDivCounts {
        u16: vec![0; 1 << 16],
        byte: vec![0; 1 << 8],
        pair: vec![0; 1 << 16],
    };
    for (u, b, p) in parts {
        for v in u {
            counts.u16[v as usize] += 1;
        }
        for v in b {
            counts.byte[v as usize] += 1;
        }
        for v in p {
            counts.pair[v as usize] += 1;
        }
    }
    (RowMajorMatrix::new(values, NUM_MULDIV_COLS), counts)
}
