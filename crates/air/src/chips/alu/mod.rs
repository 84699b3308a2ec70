//! The ALU chip: one row per ADD, SUB, LT, GT, SLT, SGT, EQ, ISZERO, AND, OR, XOR, NOT step,
//! received from the CPU on [`crate::buses::ALU`] as `(opcode, a, b, 0, c)` (a = top of stack,
//! c = result; 16-bit limbs). Operands and result are range-checked where the CPU made them
//! (stack tokens, pushed values), so the ALU only relates them:
//!
//! - ADD `a + b = c + k 2^256`, SUB `b + c = a + k 2^256`: a 16-limb adder with boolean carries;
//! - LT `b + d = a + u 2^256` (so `u = [a < b]`), GT the same with a and b exchanged, `d`
//!   range-checked; SLT/SGT correct `u` by the sign bits of a and b (top limb split, range-checked);
//! - EQ/ISZERO: `c = 1` forces all limb differences to zero, `c = 0` needs a witness
//!   `sum(diff_k w_k) = 1`; ISZERO and NOT require `b = 0`;
//! - NOT: `c_k = 2^16 - 1 - a_k`;
//! - AND, OR, XOR: the result is derived from byte-wise AND lookups (see `columns.rs`).

pub mod air;
pub mod columns;
pub mod trace;

pub use air::AluAir;
