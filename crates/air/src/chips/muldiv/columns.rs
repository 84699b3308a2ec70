use crate::word::{LIMBS, impl_columns};

/// The opcodes in flag order.
pub const MULDIV_OPS: [u8; 13] = crate::opcodes::MULDIV_OPCODES;

/// Flags: one per opcode of [`MULDIV_OPS`] (MULMOD's and EXP's is their first row), then
/// MULMOD's second and third rows and EXP's squaring and multiplying rows (which do not receive
/// on the ALU bus).
pub const NUM_FLAGS: usize = MULDIV_OPS.len() + 4;

/// Bytes of a word.
pub const BYTES: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MulDivCols<T> {
    /// One flag per opcode of [`MULDIV_OPS`], then [`F_MULMOD_B`], [`F_MULMOD_C`], [`F_EXP_SQ`]
    /// and [`F_EXP_MUL`] (all zero on padding rows).
    pub flags: [T; NUM_FLAGS],
    /// The bus operands and result (16-bit limbs).
    pub a: [T; LIMBS],
    pub b: [T; LIMBS],
    pub c: [T; LIMBS],
    /// `x y + z = h 2^256 + l`: x and y as little-endian bytes (looked up in pairs, one pair
    /// per 16-bit limb), z, h, l as 16-bit limbs.
    pub x: [T; BYTES],
    pub y: [T; BYTES],
    pub z: [T; LIMBS],
    pub h: [T; LIMBS],
    pub l: [T; LIMBS],
    /// Carry out of output limb m (`m < 31`) as `carry_lo + 64 carry_hi`, two bytes looked up
    /// as one pair: below 2^14.02, so no limb equation wraps the field (true carries are below
    /// 2^13).
    pub carry_lo: [T; 2 * LIMBS - 1],
    pub carry_hi: [T; 2 * LIMBS - 1],
    /// Remainder check `z < y` (rows with a remainder): `top_diff[k] = 1` at the highest limb
    /// where z and y differ; above it they are equal, at it `y - z - 1` is a u16 value.
    pub top_diff: [T; LIMBS],
    /// DIV/MOD: the divisor is zero; `y_inv` inverts the byte sum of y otherwise. EXP's squaring
    /// rows: `y_inv` is limb k of the remaining exponent after this row's bit.
    pub y_zero: T,
    pub y_inv: T,
    /// Shifts: `a_0 = 16 k + e + 256 t` (BYTE, SIGNEXTEND: `a_0 = i + 32 t`, `16 k + e` = 248 - 8 i,
    /// 8 i + 7), `sel[k] = 1`, `e` in bits; `pow = 2^e` through
    /// `pow1 = 2^(e mod 4)` and `pow2 = 2^(e mod 8)`.
    pub sel: [T; LIMBS],
    pub e_bits: [T; 4],
    pub pow1: T,
    pub pow2: T,
    pub pow: T,
    pub t: T,
    /// Shifts: `a >= 256`, and the inverse of `t + a_1 + ... + a_15` when it is.
    /// EXP's head row: `t` is the step's gas; squaring rows: `big_inv` is `bit 2^e`.
    pub big: T,
    pub big_inv: T,
    /// SDIV/SMOD (a and b) and SAR (b): sign bits and the other 15 bits of the top limbs.
    pub sa: T,
    pub sb: T,
    pub ra: T,
    pub rb: T,
    /// SDIV/SMOD: carries of `l = |a|` and `y = |b|` (`v XOR s + s`, limb by limb).
    pub neg_a: [T; LIMBS],
    pub neg_b: [T; LIMBS],
    /// SDIV/SMOD/SAR: the unsigned result `w` (SDIV: q; SMOD: r, 0 for b = 0; SAR: q, 0 for a
    /// shift of 256 or more), the sign it gets (`sc`; SAR: `sb`) and, SDIV/SMOD, the carries of
    /// `c = w XOR sc + sc`.
    pub w: [T; LIMBS],
    /// SIGNEXTEND also uses `sc` (the sign: the quotient's lowest bit) and `neg_c` (the carries
    /// of `c + sc y = r + sc 2^256`). EXP's squaring rows: `sc` is the exponent's bit.
    pub sc: T,
    pub neg_c: [T; LIMBS],
    /// SIGNEXTEND: the quotient's lowest byte is `2 x0_half + sc`; `se_small` = index below 32.
    pub x0_half: T,
    pub se_small: T,
    /// ADDMOD: the modulus (the bus's third operand) is y; `n_one = [n = 1]` and the inverse
    /// of `(y_0 - 1) + 256 (y_1 + ... + y_31)` otherwise. The carries of `a + b = h_0 2^256 + l`
    /// are `neg_a`.
    pub n_one: T,
    pub n_inv: T,
    /// MULMOD's first row: the modulus (in `w`, from the bus) is zero, and the inverse of its
    /// limb sum otherwise. The later rows divide by `n + n_zero` (so by 1 for n = 0: result 0).
    /// EXP's head row: the exponent (b) is zero.
    pub n_zero: T,
    pub n_zero_inv: T,
}

impl_columns!(MulDivCols, NUM_MULDIV_COLS);

/// Flag positions.
pub const F_MUL: usize = 0;
pub const F_DIV: usize = 1;
pub const F_MOD: usize = 2;
pub const F_SHL: usize = 3;
pub const F_SHR: usize = 4;
pub const F_SDIV: usize = 5;
pub const F_SMOD: usize = 6;
pub const F_SAR: usize = 7;
pub const F_BYTE: usize = 8;
pub const F_SIGNEXTEND: usize = 9;
pub const F_ADDMOD: usize = 10;
pub const F_MULMOD: usize = 11;
pub const F_EXP: usize = 12;
pub const F_MULMOD_B: usize = 13;
pub const F_MULMOD_C: usize = 14;
pub const F_EXP_SQ: usize = 15;
pub const F_EXP_MUL: usize = 16;
