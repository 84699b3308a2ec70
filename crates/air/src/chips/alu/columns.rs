use crate::word::{LIMBS, impl_columns};

/// The ALU opcodes in flag order.
pub const ALU_OPS: [u8; 12] = crate::opcodes::ALU_OPCODES;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AluCols<T> {
    /// One flag per opcode of [`ALU_OPS`] (all zero on padding rows).
    pub flags: [T; 12],
    pub a: [T; LIMBS],
    pub b: [T; LIMBS],
    pub c: [T; LIMBS],
    /// Comparisons: the difference `d`; EQ/ISZERO: the inverse witness.
    pub d: [T; LIMBS],
    /// Adder carries (carry out of limb k).
    pub carry: [T; LIMBS],
    /// Signed comparisons: sign bits of a and b, and the rest of their top limbs.
    pub sa: T,
    pub sb: T,
    pub ra: T,
    pub rb: T,
    /// AND/OR/XOR: bytes of a and b and their AND (little-endian bytes).
    pub a_bytes: [T; 32],
    pub b_bytes: [T; 32],
    pub and_bytes: [T; 32],
}

impl_columns!(AluCols, NUM_ALU_COLS);

/// Flag positions.
pub const F_ADD: usize = 0;
pub const F_SUB: usize = 1;
pub const F_LT: usize = 2;
pub const F_GT: usize = 3;
pub const F_SLT: usize = 4;
pub const F_SGT: usize = 5;
pub const F_EQ: usize = 6;
pub const F_ISZERO: usize = 7;
pub const F_AND: usize = 8;
pub const F_OR: usize = 9;
pub const F_XOR: usize = 10;
pub const F_NOT: usize = 11;
