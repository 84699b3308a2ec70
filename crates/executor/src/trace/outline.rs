//! What an untraced run tells about a subblock (issue 18, the streaming executor's first pass).
//!
//! Shard generation needs a few facts about the whole subblock before it can generate a shard:
//! the subblock's claim (its steps; gas and state boundary come from the execution), each
//! context's last step and how it ends (the analysis' look-ahead), and the word each CALL*/CREATE*
//! pushes, which the recorder writes back into the caller's step when the callee returns. A run
//! with the recorder in outline mode ([`crate::block::outline_block`]) gathers just these, at
//! about the cost of plain execution, so that a second, recording run can hand its trace over in
//! order, chunk by chunk, without writing back into steps already handed over.
//! [`SubblockOutline::of_trace`] reads the same facts from a recorded trace; the two agree.

use std::collections::HashMap;

use alloy_primitives::Bytes;

use super::records::{
    AccessKind, ContextKind, STEP_EXCEPTIONAL, STEP_OK, SegmentRecord, SubblockTrace, Word,
};

/// The facts about a subblock that shard generation needs from beyond a shard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubblockOutline {
    /// Steps the subblock runs (its claim's, and the length of its trace).
    pub steps: usize,
    /// Its segments, as its trace records them.
    pub segments: Vec<SegmentRecord>,
    /// Every context that runs at least one step, in order of its first step (the analysis'
    /// dense context ids).
    pub contexts: Vec<ContextOutline>,
    /// The word each CALL*/CREATE* step pushes when its callee returns, by step.
    pub call_results: Vec<CallResult>,
    /// How every context ends, by its index in [`SubblockTrace::contexts`] (those that run no
    /// step too).
    pub ends: Vec<ContextEnd>,
    /// What its BLOCKHASH steps read ([`crate::block_context::block_hash_reads`] of its trace).
    pub block_hash_reads: Vec<(u64, Word)>,
}

/// What the recorder writes into a context's record when it ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextEnd {
    /// Its record's `success`.
    pub success: bool,
    /// A CREATE*'s created address (its record's `address` and `code_address`; zero if none).
    pub created: [u8; 20],
}

/// One context that runs steps: where its steps end and how.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextOutline {
    /// Its index in the subblock's [`SubblockTrace::contexts`].
    pub context: u32,
    pub first_step: u32,
    pub last_step: u32,
    /// The opcode and status ([`STEP_OK`] or [`STEP_EXCEPTIONAL`]) of its last step.
    pub last_opcode: u8,
    pub last_status: u8,
    /// Whether the frame ended successfully (its record's `success`).
    pub success: bool,
}

/// The word a CALL*/CREATE* step pushes once its callee returns (the success flag, or the
/// created address), and the output it copies into the caller's memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallResult {
    pub step: u32,
    pub result: Word,
    /// The callee's output written at `return_offset` (the recorded memory write of the call
    /// step; empty if none).
    pub return_offset: u32,
    pub return_data: Bytes,
}

impl SubblockOutline {
    /// The outline of a recorded trace.
    pub fn of_trace(trace: &SubblockTrace) -> Self {
        let mut builder = OutlineBuilder::default();
        for s in &trace.steps {
            builder.step(s.context, s.opcode);
            if s.status == STEP_EXCEPTIONAL {
                builder.halted();
            }
        }
        // A call step's only recorded memory write is its callee's output.
        let mut outputs = HashMap::new();
        for m in &trace.mem_accesses {
            if m.kind == AccessKind::MemoryWrite as u32 {
                let call = trace.steps.get(m.step as usize).map(|s| s.opcode);
                if call.is_some_and(super::recorder::is_call_or_create) {
                    outputs.entry(m.step).or_insert(m);
                }
            }
        }
        for rec in &trace.contexts {
            let create = [ContextKind::Create as u32, ContextKind::Create2 as u32];
            let created = if create.contains(&rec.kind) {
                rec.address
            } else {
                [0; 20]
            };
            builder.closed(rec.success != 0, created);
            if rec.call_step != u32::MAX {
                let s = &trace.steps[rec.call_step as usize];
                let word = s.stack_words as usize + s.reads as usize;
                let output = outputs.get(&rec.call_step);
                let (return_offset, return_data) = output.map_or((0, Bytes::new()), |m| {
                    let d = m.data_start as usize;
                    let bytes = &trace.data[d..d + m.len as usize];
                    (m.offset, Bytes::copy_from_slice(bytes))
                });
                builder.call_results.push(CallResult {
                    step: rec.call_step,
                    result: trace.stack_words[word],
                    return_offset,
                    return_data,
                });
            }
        }
        let mut outline = builder.finish(trace.segments.clone());
        outline.block_hash_reads = crate::block_context::block_hash_reads([trace]);
        outline
    }
}

/// Gathers a [`SubblockOutline`] step by step (the recorder's outline mode, and
/// [`SubblockOutline::of_trace`]).
#[derive(Debug, Default)]
pub(crate) struct OutlineBuilder {
    steps: usize,
    /// Recorded context -> position in `contexts`.
    dense: HashMap<u32, usize>,
    contexts: Vec<ContextOutline>,
    /// How each recorded context ended, by recorded index (contexts that run no step too).
    ends: Vec<ContextEnd>,
    pub(crate) call_results: Vec<CallResult>,
    /// Contexts opened so far (the next one's recorded index).
    pub(crate) opened: u32,
    /// The position in `contexts` of the last step's context.
    current: Option<usize>,
    /// BLOCKHASH reads by block number.
    block_hashes: std::collections::BTreeMap<u64, Word>,
}

impl OutlineBuilder {
    /// Steps seen so far (the next step's index).
    pub(crate) fn steps(&self) -> usize {
        self.steps
    }

    /// One more step, of `context`, running `opcode`.
    pub(crate) fn step(&mut self, context: u32, opcode: u8) {
        let i = self.steps as u32;
        let next = self.contexts.len();
        let c = *self.dense.entry(context).or_insert(next);
        if c == next {
            self.contexts.push(ContextOutline {
                context,
                first_step: i,
                ..ContextOutline::default()
            });
        }
        let ctx = &mut self.contexts[c];
        ctx.last_step = i;
        ctx.last_opcode = opcode;
        ctx.last_status = STEP_OK;
        self.current = Some(c);
        self.steps += 1;
    }

    /// A BLOCKHASH of `arg` pushed `out` (a block number in 64 bits only).
    pub(crate) fn block_hash(&mut self, arg: Word, out: Word) {
        if arg.0[2..].iter().all(|&l| l == 0) {
            let n = u64::from(arg.0[0]) | u64::from(arg.0[1]) << 32;
            self.block_hashes.insert(n, out);
        }
    }

    /// The last step halted its frame exceptionally.
    pub(crate) fn halted(&mut self) {
        if let Some(c) = self.current {
            self.contexts[c].last_status = STEP_EXCEPTIONAL;
        }
    }

    /// The next recorded context (in order of opening) ended so; records that end in order.
    pub(crate) fn closed(&mut self, success: bool, created: [u8; 20]) {
        self.ends.push(ContextEnd { success, created });
    }

    /// Recorded context `context` (opened earlier, in order) ended so.
    pub(crate) fn closed_at(&mut self, context: u32, end: ContextEnd) {
        let c = context as usize;
        if self.ends.len() <= c {
            self.ends.resize(c + 1, ContextEnd::default());
        }
        self.ends[c] = end;
    }

    pub(crate) fn finish(mut self, segments: Vec<SegmentRecord>) -> SubblockOutline {
        // Every opened context has an end (one that never closed ends unsuccessfully).
        self.ends.resize(
            self.ends.len().max(self.opened as usize),
            ContextEnd::default(),
        );
        for c in &mut self.contexts {
            c.success = self.ends.get(c.context as usize).is_some_and(|e| e.success);
        }
        self.call_results.sort_unstable_by_key(|r| r.step);
        SubblockOutline {
            steps: self.steps,
            segments,
            contexts: self.contexts,
            call_results: self.call_results,
            ends: self.ends,
            block_hash_reads: self.block_hashes.into_iter().collect(),
        }
    }
}
