use crate::word::impl_columns;

/// Bytes of the longest immediate (PUSH32).
pub const MAX_IMMEDIATE: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PushImmediateCols<T> {
    pub code_id: T,
    /// pc of the PUSH opcode.
    pub pc: T,
    /// `mask[i] = 1` for `i < n` (the immediate's size), 0 past it; all 0 on padding rows.
    pub mask: [T; MAX_IMMEDIATE],
    /// The immediate, little-endian bytes (0 past `n`).
    pub bytes: [T; MAX_IMMEDIATE],
    /// CPU PUSH steps at this site.
    pub mult: T,
}

impl_columns!(PushImmediateCols, NUM_PUSH_IMMEDIATE_COLS);
