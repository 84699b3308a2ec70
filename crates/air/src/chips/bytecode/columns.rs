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
    /// pc of the PUSH whose data this is (opcode bytes: own pc).
    pub push_pc: T,
    /// Immediate accumulated so far, little-endian bytes (0 on opcode bytes).
    pub acc: [T; 32],
    /// `code_id - previous code_id - 1` on first bytes (range-checked: ids strictly increase).
    pub id_gap: T,
    /// Steps executing this opcode byte.
    pub mult_exec: T,
    /// PUSH steps reading the immediate that ends on this byte.
    pub mult_push: T,
    /// The last byte of a padded code (the next row starts another code, or none follows).
    pub is_last: T,
    /// Bad-jump halts whose target is this byte (it is not a JUMPDEST opcode), or (on the last
    /// byte) at or past it.
    pub mult_dest: T,
}

impl_columns!(BytecodeCols, NUM_BYTECODE_COLS);
