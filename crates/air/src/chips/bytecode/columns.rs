use crate::word::impl_columns;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BytecodeCols<T> {
    pub code_id: T,
    pub pc: T,
    pub byte: T,
    /// First byte of a code.
    pub is_first: T,
    /// PUSH data bytes still to come, this one included (0 on opcode bytes).
    pub rem: T,
    pub rem_inv: T,
    /// `rem != 0`: the byte is PUSH data.
    pub is_data: T,
    /// On opcode bytes: the opcode's immediate size; 0 on data bytes.
    pub imm_size: T,
    /// Opcode byte equal to JUMPDEST.
    pub is_jumpdest: T,
    /// The code's next byte (0 on its last padded byte, which is padding): one
    /// [`crate::buses::CODE_BYTE`] read gives two consecutive bytes.
    pub next_byte: T,
    /// `code_id - previous code_id - 1` on first bytes (range-checked: ids strictly increase).
    pub id_gap: T,
    /// Steps executing this opcode byte.
    pub mult_exec: T,
    /// Reads of `(byte, next_byte)` at this pc on [`crate::buses::CODE_BYTE`] (the
    /// push-immediate table's).
    pub mult_read: T,
    /// The last byte of a padded code (the next row starts another code, or none follows).
    pub is_last: T,
    /// Bad-jump halts whose target is this byte (it is not a JUMPDEST opcode), or (on the last
    /// byte) at or past it.
    pub mult_dest: T,
}

impl_columns!(BytecodeCols, NUM_BYTECODE_COLS);
