use crate::chips::opcode_table::OpcodeProps;
use crate::word::{LIMBS, impl_columns};

/// Stack items a step can consume (CALL: 7).
pub const MAX_POPS: usize = 7;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CpuCols<T> {
    /// 1 on steps, 0 on padding rows (which come last).
    pub is_real: T,
    /// The step halted its frame exceptionally: exactly one of the halt kinds below holds.
    pub exc: T,
    /// Halt kinds (see `crate::halts::HaltKind`), each with the condition the chip checks.
    pub halt: HaltCols<T>,
    /// Index of the step in its subblock; also the stack timestamp of the step.
    pub step: T,
    pub pc: T,
    pub code_id: T,
    /// Context (call frame) id, numbered in order of first step within the subblock.
    pub ctx: T,
    /// Context of the previous row.
    pub prev_ctx: T,
    /// On a call step that enters its callee: the callee's context.
    pub callee: T,
    /// Stack height before the step.
    pub sp: T,
    /// Stack height after a successful step: `sp - pops + pushes`.
    pub sp_next: T,
    /// Gas before and after the step; `gas_after = ga_lo + 2^16 ga_hi`, `ga_hi < 2^14`.
    pub gas: T,
    pub gas_after: T,
    pub ga_lo: T,
    pub ga_hi: T,
    /// The next row is the next step of this context.
    pub cont: T,
    /// This row does not continue the previous row's context (first row, or previous `cont = 0`).
    pub start: T,
    /// First step of a context (pc 0, empty stack, id = `nctx`).
    pub fresh: T,
    /// A context resuming after its callee returned (consumes a resume token).
    pub resume: T,
    /// Contexts started before this row.
    pub nctx: T,
    /// A call step whose callee runs next (sends a resume token).
    pub suspend: T,
    /// On a suspending call step: the callee ends by STOP/RETURN/SELFDESTRUCT rather than by
    /// REVERT or an exceptional halt (carried in the resume token).
    pub callee_ok: T,
    /// On a resumption: the same, as the previous row (the callee's last step) shows it.
    pub resumed_ok: T,
    /// Successful call steps of this context before this step (which return data is current).
    pub ncalls: T,
    /// The call-context key's third part: `ncalls` on RETURNDATASIZE, the index's low limb on
    /// BLOBHASH, else 0.
    pub ctx_seq: T,
    /// The opcode and its properties (looked up in the opcode table).
    pub op: OpcodeProps<T>,
    /// pc of the next step of this context.
    pub npc: T,
    /// The step jumps (JUMP, or JUMPI with a non-zero condition).
    pub jump: T,
    /// JUMPI: condition non-zero, and the inverse of its limb sum. BLOBHASH: the index is at or
    /// above 2^16, and the inverse of the sum of its limbs above the lowest.
    pub cond_nz: T,
    pub cond_inv: T,
    /// Stack items consumed: `inp[0]` is the top (DUPn: the n-th item; SWAPn: `inp[1]` is the
    /// (n+1)-th item).
    pub inp: [[T; LIMBS]; MAX_POPS],
    /// The item pushed (DUP: the copy).
    pub out: [T; LIMBS],
    /// `consume[i]`: `inp[i]` is consumed from the stack (a prefix of the items).
    pub consume: [T; MAX_POPS],
    /// Timestamp of the consumed token, and `step - 1 - ts_old = lo + 2^16 hi` (`hi < 2^14`).
    pub ts_old: [T; MAX_POPS],
    pub tsd_lo: [T; MAX_POPS],
    pub tsd_hi: [T; MAX_POPS],
    /// Successful step creating the `out` token / a DUP / a SWAP / an ALU operation.
    pub w_out: T,
    pub w_dup: T,
    pub w_swap: T,
    pub w_alu: T,
    /// A successful step writing memory with trusted bytes (copies, call outputs), and its area
    /// `[wr_start, wr_end)` from its destination and length items when the length is non-zero
    /// (`wr_nz`, `wr_inv` the inverse of the length's limb sum); `wr_mult`: the memory chunk
    /// rows (words) that look the area up.
    pub wr: T,
    pub wr_nz: T,
    pub wr_inv: T,
    pub wr_start: T,
    pub wr_end: T,
    pub wr_mult: T,
    /// The context's memory size in words before and after the step (chained along the
    /// context, 0 where it starts, carried by resume tokens across its calls), and the growth
    /// of a step whose expansion is trusted, `mw_next - mw = lo + 2^16 hi`.
    pub mw: T,
    pub mw_next: T,
    pub mwg_lo: T,
    pub mwg_hi: T,
    /// On the step that ends its context (neither continued nor suspended): the memory bound
    /// rows of the context's words that look its end up (they need not be carried out).
    pub ended: T,
}

impl_columns!(CpuCols, NUM_CPU_COLS);

/// Why an exceptional step halts (one flag per kind, their sum is `exc`), and the witnesses of a
/// bad jump's target.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HaltCols<T> {
    /// Stack height below the opcode's reads.
    pub underflow: T,
    /// Stack height after the step above 1024.
    pub overflow: T,
    /// Gas below the opcode's static cost.
    pub out_of_gas: T,
    /// A halt the chip does not derive, on an opcode that may halt so (`may_halt_other`).
    pub other: T,
    /// Taken jump to a byte whose JUMPDEST flag is 0 (not the padded code's last) / at or past
    /// the padded code's last byte / at 2^16 or more.
    pub dest_not_jumpdest: T,
    pub dest_past_code: T,
    pub dest_far: T,
    /// Inverse of the sum of the target's limbs 1..16 (`dest_far`).
    pub dest_high_inv: T,
    /// The pc of the padded code's last byte (`dest_past_code`).
    pub code_last: T,
}
