//! The block-context entries: what COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID,
//! BASEFEE, BLOBBASEFEE and BLOCKHASH push, fixed by the shard's public values.
//!
//! **Where they live.** In Plonky3's batch STARK an AIR sees only its own public values, and a
//! row can be tied to a public value only through a selector of that row. The opcode table
//! already has one: its 256 rows are one-hot selectors `sel[k]`, and it already carries the
//! shard binding as public values. So its public values are the shard binding followed by the
//! block context ([`BLOCK_CONTEXT_LEN`] values, [`public_values`]), and row `k` of the table
//! provides on [`crate::buses::BLOCK_CONTEXT`] the tuple `(tag, argument, value)` whose parts
//! are the selectors weighted by those public values: the row of each header opcode its value
//! (argument zero), and [`BLOCKHASH_SLOTS`] rows of bytes that are not opcodes one BLOCKHASH
//! entry each (argument: a 64-bit block number, value: the hash). No column holds a value, so
//! no row can hold another one; the one added column is the lookup count. The CPU looks up
//! `(opcode, consumed item, pushed item)` for every successful step of these opcodes, so a
//! step pushes exactly the public value (BLOCKHASH: for exactly the argument it consumed;
//! an argument of 2^64 or more matches no entry, since the entries' high limbs are zero).
//!
//! **Why per block, not per shard.** Every shard of a block carries the same entries (the
//! block's header values and all its BLOCKHASH reads, unused slots holding `(number, 0)`, a
//! true fact: BLOCKHASH of the current block is zero). So the recursion leaf can hash them into
//! its digest and the verifier, who derives them once from the block claim, recompute that
//! digest; the node values and the block binding do not grow. What the entries say is checked
//! by the verifier outside the proof (`slotproof::context`): the header fields against the
//! header that hashes to the block hash, BLOCKHASH against the ancestor headers.

use p3_field::PrimeField32;
use slotproof_executor::block_context::{BlockContext, HEADER_OPCODES};
use slotproof_executor::trace::{STEP_OK, SubblockTrace};

use crate::TraceError;
use crate::opcodes::BLOCKHASH;
use crate::word::{LIMBS, limbs};

/// BLOCKHASH entries per block. The opcode table's rows of undefined bytes 0xa5.. hold them
/// (a block that reads more distinct block numbers is [`TraceError::TooManyBlockHashReads`]).
pub const BLOCKHASH_SLOTS: usize = 32;
/// First opcode-table row holding a BLOCKHASH entry (0xa5..0xc4 are not opcodes).
pub const FIRST_SLOT_ROW: usize = 0xa5;
/// Limbs of a BLOCKHASH argument in an entry (a 64-bit block number).
pub const ARG_LIMBS: usize = 4;
/// Public values of the block context: a word per header opcode, then per slot the argument's
/// limbs and the hash.
pub const BLOCK_CONTEXT_LEN: usize =
    HEADER_OPCODES.len() * LIMBS + BLOCKHASH_SLOTS * (ARG_LIMBS + LIMBS);

/// Where an opcode-table row's entry reads its public values: `(row, tag, offset of the
/// argument limbs or None, offset of the value limbs)`, offsets into the block context.
pub fn entries() -> Vec<(usize, u8, Option<usize>, usize)> {
    let mut v: Vec<_> = HEADER_OPCODES
        .iter()
        .enumerate()
        .map(|(i, &op)| (op as usize, op, None, i * LIMBS))
        .collect();
    let base = HEADER_OPCODES.len() * LIMBS;
    for s in 0..BLOCKHASH_SLOTS {
        let off = base + s * (ARG_LIMBS + LIMBS);
        v.push((FIRST_SLOT_ROW + s, BLOCKHASH, Some(off), off + ARG_LIMBS));
    }
    v
}

/// The block context as public values ([`BLOCK_CONTEXT_LEN`]): every header word, then the
/// BLOCKHASH reads in order and `(number, 0)` in the unused slots.
pub fn public_values<F: PrimeField32>(ctx: &BlockContext) -> Result<Vec<F>, TraceError> {
    if ctx.block_hashes.len() > BLOCKHASH_SLOTS {
        return Err(TraceError::TooManyBlockHashReads {
            reads: ctx.block_hashes.len(),
            slots: BLOCKHASH_SLOTS,
        });
    }
    let mut v = Vec::with_capacity(BLOCK_CONTEXT_LEN);
    let word = |v: &mut Vec<F>, l: [u16; LIMBS]| v.extend(l.iter().map(|&x| F::from_u16(x)));
    for w in &ctx.header {
        word(&mut v, limbs(w));
    }
    let number = ctx.header[2];
    let number = u64::from(number.0[0]) | u64::from(number.0[1]) << 32;
    let pad = (number, Default::default());
    for (n, h) in ctx
        .block_hashes
        .iter()
        .chain(std::iter::repeat(&pad))
        .take(BLOCKHASH_SLOTS)
    {
        v.extend((0..ARG_LIMBS).map(|i| F::from_u32(((n >> (16 * i)) & 0xffff) as u32)));
        word(&mut v, limbs(h));
    }
    Ok(v)
}

/// Lookup counts of the opcode table's block-context entries for the successful steps in
/// `range` (by row). A step whose entry does not exist (a BLOCKHASH argument the block's reads
/// do not have) is [`TraceError::BlockContextRead`].
pub fn counts(
    trace: &SubblockTrace,
    range: core::ops::Range<usize>,
) -> Result<[u32; 256], TraceError> {
    let ctx = &trace.block_context;
    let mut counts = [0u32; 256];
    for i in range {
        let s = &trace.steps[i];
        if s.status != STEP_OK || !crate::opcodes::reads_block_context(s.opcode) {
            continue;
        }
        let row = if s.opcode == BLOCKHASH {
            let arg = trace.step_words(i)[0];
            let n = (arg.0[2..].iter().all(|&l| l == 0))
                .then(|| u64::from(arg.0[0]) | u64::from(arg.0[1]) << 32);
            let slot = n.and_then(|n| ctx.block_hashes.iter().position(|&(m, _)| m == n));
            match slot {
                Some(s) if s < BLOCKHASH_SLOTS => FIRST_SLOT_ROW + s,
                _ => return Err(TraceError::BlockContextRead { step: i }),
            }
        } else {
            s.opcode as usize
        };
        counts[row] += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot rows are bytes that are not opcodes, and no entry row repeats.
    #[test]
    fn slot_rows_are_undefined_bytes() {
        let e = entries();
        for &(row, _, arg, _) in &e {
            if arg.is_some() {
                assert!(!crate::opcodes::info(row as u8).defined, "{row:#x}");
            }
        }
        let mut rows: Vec<_> = e.iter().map(|x| x.0).collect();
        rows.sort_unstable();
        rows.dedup();
        assert_eq!(rows.len(), e.len());
        assert!(e.iter().all(|x| x.3 + LIMBS <= BLOCK_CONTEXT_LEN));
    }
}
