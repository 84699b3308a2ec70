use crate::word::{LIMBS, impl_columns};

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CallContextCols<T> {
    /// 1 on the table's rows, 0 on the padding rows (which come last).
    pub is_real: T,
    /// The context (a u16 value) and the opcode (a byte) read.
    pub ctx: T,
    pub opcode: T,
    /// RETURNDATASIZE: the context's call count at the read (which call's return data it
    /// measures); BLOBHASH: the index (below 2^16); 0 for the other opcodes.
    /// `seq = seq_lo + 2^16 seq_hi` (u16, byte).
    pub seq_lo: T,
    pub seq_hi: T,
    /// The value every read of this (context, opcode, seq) pushes (16-bit limbs).
    pub value: [T; LIMBS],
    /// Reads of it by the CPU.
    pub mult: T,
    /// From the second real row on: 1 if `(ctx, opcode)` is the previous row's (then `seq`
    /// increases), else `key = 256 ctx + opcode` increases.
    pub same: T,
    /// `seq - previous seq - 1` (`same`) or `key - previous key - 1` (otherwise), as
    /// `gap_lo + 2^16 gap_hi` (u16, byte).
    pub gap_lo: T,
    pub gap_hi: T,
}

impl_columns!(CallContextCols, NUM_CALL_CONTEXT_COLS);
