//! The push-immediate table: one row per `(code id, pc)` of a PUSH1..PUSH32 the shard executes,
//! providing its immediate as sixteen 16-bit limbs on [`crate::buses::PUSH_IMMEDIATE`], where
//! the CPU's PUSH steps look it up (multiplicity: the steps at that site).
//!
//! A row binds its immediate to the code: it looks up `(code id, pc, 0x5f + n)` on
//! [`crate::buses::BYTECODE`], whose table side counts opcode bytes only (so the site is a
//! PUSHn the code can execute, not PUSH data), and reads the `n` immediate bytes two at a time
//! on [`crate::buses::CODE_BYTE`] from the bytecode table (every byte with the next byte of its
//! code). `mask[i] = [i < n]` (monotone, `n = Σ mask`) gates the reads and zeroes the bytes past
//! the immediate. `bytes[i]` is the immediate's little-endian byte `i`, the code byte at
//! `pc + n - i`; read `j` takes the pair at `pc + n - 2j - 1`, i.e. `(bytes[2j + 1], bytes[2j])`,
//! for `2j < n`; for odd `n` the last read's first byte is the PUSH opcode itself (at `pc`), so
//! its key there is the opcode (`bytes[n]` is 0). Every byte is thereby a code byte, which the
//! bytecode table has range-checked (data bytes on the byte bus, opcode bytes in the opcode
//! table). A PUSH running past the end of its code reads the code's zero padding (33 bytes).
//!
//! This replaces 32 accumulator columns on every row of the bytecode table (issue 17): the
//! table grows with the distinct PUSH sites a shard runs, not with the bytes of its codes.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::PushImmediateAir;
