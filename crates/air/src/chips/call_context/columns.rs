use crate::word::{LIMBS, impl_columns};

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CallContextCols<T> {
    /// 1 on the table's rows, 0 on the padding rows (which come last).
    pub is_real: T,
    /// The context (a u16 value) and the opcode (a byte) read.
    pub ctx: T,
    pub opcode: T,
    /// The value every read of this (context, opcode) pushes (16-bit limbs).
    pub value: [T; LIMBS],
    /// Reads of it by the CPU.
    pub mult: T,
    /// From the second real row on: `key - previous key - 1 = gap_lo + 2^16 gap_hi` (u16,
    /// byte), with `key = 256 ctx + opcode`.
    pub gap_lo: T,
    pub gap_hi: T,
}

impl_columns!(CallContextCols, NUM_CALL_CONTEXT_COLS);
