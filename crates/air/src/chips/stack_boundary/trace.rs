use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{BoundaryCols, NUM_BOUNDARY_COLS};
use crate::chips::carry::{CarryToken, TokenKind};
use crate::chips::range::trace::RangeCounts;
use crate::word::LIMBS;

/// A stack token: `(ctx, slot, value limbs, timestamp)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackToken {
    pub ctx: u32,
    pub slot: u32,
    pub value: [u16; LIMBS],
    pub ts: u32,
}

/// A resume token: `(ctx, callee, pc, sp, code id, callee succeeded, the caller's call count
/// after the call, the caller's memory size in words after the call)`.
pub type ResumeToken = [u32; 8];

/// Rows the boundary trace needs: stack and resume tokens share rows.
pub fn rows(
    stack_init: &[StackToken],
    stack_fin: &[StackToken],
    resume_init: &[ResumeToken],
    resume_fin: &[ResumeToken],
    mem_carried: u32,
) -> usize {
    let n_stack = stack_init.len() + stack_fin.len();
    let n_resume = resume_init.len() + resume_fin.len();
    n_stack.max(n_resume).max((mem_carried > 0) as usize)
}

/// The boundary trace: stack tokens provided / taken, resume tokens provided / taken, then
/// zero rows up to `height` (a power of two, at least [`rows`]). The last `stack_out` tokens of
/// `stack_fin` are alive at the shard's end and carried out; every carried token gets its
/// position on the `carry` bus as [`carried`] orders them.
#[allow(clippy::too_many_arguments)]
pub fn generate<F: PrimeField32>(
    stack_init: &[StackToken],
    stack_fin: &[StackToken],
    stack_out: usize,
    resume_init: &[ResumeToken],
    resume_fin: &[ResumeToken],
    mem_carried: u32,
    height: usize,
    u16_rc: &mut RangeCounts,
) -> RowMajorMatrix<F> {
    debug_assert!(
        height.is_power_of_two()
            && height >= rows(stack_init, stack_fin, resume_init, resume_fin, mem_carried)
            && stack_out <= stack_fin.len()
    );
    let mut values = F::zero_vec(height * NUM_BOUNDARY_COLS);
    let mut rows = values.chunks_exact_mut(NUM_BOUNDARY_COLS);
    let first_out = stack_fin.len() - stack_out;
    let stack_chunks = TokenKind::Stack.chunks();
    let resume_chunks = TokenKind::Resume.chunks();
    // (token, init, carried out, position)
    let stack = stack_init
        .iter()
        .enumerate()
        .map(|(i, t)| (t, true, false, i * stack_chunks))
        .chain(stack_fin.iter().enumerate().map(|(i, t)| {
            let out = i >= first_out;
            let pos = if out {
                (i - first_out) * stack_chunks
            } else {
                0
            };
            (t, false, out, pos)
        }));
    let resume = resume_init
        .iter()
        .enumerate()
        .map(|(i, t)| (t, true, stack_init.len() * stack_chunks + i * resume_chunks))
        .chain(
            resume_fin
                .iter()
                .enumerate()
                .map(|(i, t)| (t, false, stack_out * stack_chunks + i * resume_chunks)),
        );
    let mut stack = stack.fuse();
    let mut resume = resume.fuse();
    for row in &mut rows {
        let cols: &mut BoundaryCols<F> = row.borrow_mut();
        if let Some((t, init, out, pos)) = stack.next() {
            cols.ctx = F::from_u32(t.ctx);
            cols.slot = F::from_u32(t.slot);
            for (c, &v) in cols.value.iter_mut().zip(&t.value) {
                *c = F::from_u16(v);
                if init {
                    u16_rc.add(v as u32);
                }
            }
            cols.ts = F::from_u32(t.ts);
            if init {
                cols.init = F::ONE;
            } else {
                cols.fin = F::ONE;
            }
            cols.carry_out = F::from_bool(out);
            cols.pos = F::from_usize(pos);
        }
        if let Some((r, init, pos)) = resume.next() {
            cols.r_ctx = F::from_u32(r[0]);
            cols.r_callee = F::from_u32(r[1]);
            cols.r_pc = F::from_u32(r[2]);
            cols.r_sp = F::from_u32(r[3]);
            cols.r_code = F::from_u32(r[4]);
            cols.r_ok = F::from_u32(r[5]);
            cols.r_ncalls = F::from_u32(r[6]);
            cols.r_mw = F::from_u32(r[7]);
            if init {
                cols.r_init = F::ONE;
            } else {
                cols.r_fin = F::ONE;
            }
            cols.r_pos = F::from_usize(pos);
        }
    }
    if mem_carried > 0 {
        let cols: &mut BoundaryCols<F> = values[..NUM_BOUNDARY_COLS].borrow_mut();
        cols.mem_carry = F::from_u32(mem_carried);
    }
    RowMajorMatrix::new(values, NUM_BOUNDARY_COLS)
}

/// The tokens a shard carries, in the order the boundary rows give them positions: stack
/// items, then suspended calls, each in the order of the analysis's snapshot at the cut (one
/// snapshot serves the earlier shard's out side and the later shard's in side, so the two
/// sequences, and their commitments, are equal for an honest pair).
pub fn carried(stack: &[StackToken], resume: &[ResumeToken]) -> Vec<CarryToken> {
    stack
        .iter()
        .map(|&t| CarryToken::Stack(t))
        .chain(resume.iter().map(|&r| CarryToken::Resume(r)))
        .collect()
}
