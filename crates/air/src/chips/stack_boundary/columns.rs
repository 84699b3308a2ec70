use crate::word::{LIMBS, impl_columns};

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BoundaryCols<T> {
    pub ctx: T,
    pub slot: T,
    pub value: [T; LIMBS],
    pub ts: T,
    /// Stack token provided at the shard's start / taken at its end.
    pub init: T,
    pub fin: T,
    /// Resume token `(ctx, callee, pc, sp, code, callee succeeded, the caller's call count)`.
    pub r_ctx: T,
    pub r_callee: T,
    pub r_pc: T,
    pub r_sp: T,
    pub r_code: T,
    pub r_ok: T,
    pub r_ncalls: T,
    /// The caller's memory size in words after the call.
    pub r_mw: T,
    pub r_init: T,
    pub r_fin: T,
    /// Memory words carried in with non-zero content (row 0 only; needs `allow_init`): the
    /// multiplicity of the memory-carry permission.
    pub mem_carry: T,
    /// A `fin` stack token alive at the shard's end, carried out to the next shard (sent to the
    /// carry table's out chain); a `fin` row without it is an item of a finished context.
    pub carry_out: T,
    /// Positions on the `carry` bus of this row's stack token (`init`: in, `carry_out`: out)
    /// and of its resume token (`r_init`: in, `r_fin`: out).
    pub pos: T,
    pub r_pos: T,
}

impl_columns!(BoundaryCols, NUM_BOUNDARY_COLS);
