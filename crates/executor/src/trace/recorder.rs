//! The revm inspector that records a [`SubblockTrace`].

use super::chunk::TraceChunk;
use super::outline::{CallResult, ContextEnd, OutlineBuilder, SubblockOutline};
use super::records::*;
use alloy_primitives::{Address, B256, Bytes, Log, U256, keccak256};
use revm::Inspector;
use revm::bytecode::opcode::{self, OPCODE_INFO};
use revm::context::{ContextTr, JournalTr};
use revm::context_interface::journaled_state::entry::JournalEntry;
use revm::inspector::JournalExt;
use revm::interpreter::interpreter::EthInterpreter;
use revm::interpreter::interpreter_types::{
    InputsTr, Jumps, LegacyBytecode, LoopControl, MemoryTr, ReturnData,
};
use revm::interpreter::{
    CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome, CreateScheme, Interpreter,
};
use std::collections::HashMap;

/// A byte range touched by a step, computed from its stack operands before it runs.
#[derive(Clone, Copy, Debug)]
struct Region {
    kind: AccessKind,
    offset: u32,
    len: u32,
}

/// What `step` leaves for `step_end` of the same instruction.
#[derive(Clone, Copy, Debug)]
struct OpenStep {
    index: u32,
    reads: u8,
    outputs: u8,
    stack_len: u16,
    write: Option<Region>,
    journal_len: usize,
    storage_key: U256,
    address: Address,
}

/// Where a streaming recorder's chunks go. It returns whether to go on recording: `false` once
/// nobody takes the chunks (shard generation stopped), and the recorder then records nothing
/// more, the block running on untraced to its end.
pub type ChunkSink = Box<dyn FnMut(TraceChunk) -> bool + Send>;

/// A streaming recorder's state: `trace` holds the current chunk's steps and records (their
/// indices the chunk's), and the subblock's contexts, codes and segments so far.
struct Streaming {
    /// The outlines of this subblock and the ones after it, from the untraced run.
    outlines: std::collections::VecDeque<SubblockOutline>,
    chunk_steps: usize,
    sink: ChunkSink,
    subblock: usize,
    /// The subblock step the current chunk starts at.
    first_step: usize,
    /// Contexts and codes handed over already.
    contexts_sent: usize,
    codes_sent: usize,
    /// The first way the recording run differed from its outline.
    mismatch: Option<String>,
}

impl std::fmt::Debug for Streaming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streaming")
            .field("subblock", &self.subblock)
            .field("first_step", &self.first_step)
            .field("chunk_steps", &self.chunk_steps)
            .finish_non_exhaustive()
    }
}

impl Streaming {
    fn outline(&self) -> Option<&SubblockOutline> {
        self.outlines.front()
    }

    /// The outline's result of the call at subblock step `step`.
    fn call_result(&self, step: usize) -> Option<&CallResult> {
        let results = &self.outline()?.call_results;
        let i = results
            .binary_search_by_key(&step, |r| r.step as usize)
            .ok()?;
        Some(&results[i])
    }

    fn differs(&mut self, what: String) {
        self.mismatch.get_or_insert(what);
    }
}

/// An open call frame.
#[derive(Clone, Copy, Debug)]
struct Frame {
    context: u32,
    /// Where the callee's return data lands in the caller's memory (CALL*).
    return_region: Option<(u32, u32)>,
    /// The caller's stack slot that receives the success flag / created address.
    result_word: Option<u32>,
    /// The CALL*/CREATE* step that opened it, or `u32::MAX`.
    call_step: u32,
}

/// Records every step of every frame into a [`SubblockTrace`]. Disabled, it records nothing
/// (execution then costs what plain revm costs, plus the hook calls); in outline mode
/// ([`TraceRecorder::outline`]) it records only each subblock's [`SubblockOutline`].
#[derive(Debug, Default)]
pub struct TraceRecorder {
    trace: SubblockTrace,
    enabled: bool,
    /// Outline mode: what the current subblock's outline has gathered so far.
    outline: Option<OutlineBuilder>,
    /// Outline mode: the index, opcode and top stack item of the step between `step` and
    /// `step_end`.
    outline_open: Option<(u32, u8, U256)>,
    /// Streaming mode: the trace is handed over in chunks as it is recorded.
    stream: Option<Streaming>,
    frames: Vec<Frame>,
    open: Option<OpenStep>,
    /// Set by the step_end of a CALL*/CREATE*: (step, result word) for the frame it opens next
    /// (outline mode: no word is reserved, the step stands for it).
    pending_call: Option<(u32, u32)>,
    segment: u32,
    code_index: HashMap<B256, u32>,
}

/// `u32` of a stack operand, or `None` if it does not fit (the step then fails for lack of gas
/// before touching memory, so there is nothing to record).
#[inline]
fn small(v: U256) -> Option<u32> {
    if v.as_limbs()[1..].iter().all(|l| *l == 0) && v.as_limbs()[0] <= u32::MAX as u64 {
        Some(v.as_limbs()[0] as u32)
    } else {
        None
    }
}

#[inline]
fn region(kind: AccessKind, offset: U256, len: U256) -> Option<Region> {
    let len = small(len)?;
    if len == 0 {
        return None;
    }
    let offset = small(offset)?;
    offset.checked_add(len)?;
    Some(Region { kind, offset, len })
}

/// The data reads and the memory write an opcode makes, from its operands (`s(0)` = top).
#[inline]
fn data_regions(op: u8, s: impl Fn(usize) -> U256) -> ([Option<Region>; 2], Option<Region>) {
    use AccessKind::*;
    match op {
        opcode::MLOAD => ([region(MemoryRead, s(0), U256::from(32)), None], None),
        opcode::MSTORE => ([None, None], region(MemoryWrite, s(0), U256::from(32))),
        opcode::MSTORE8 => ([None, None], region(MemoryWrite, s(0), U256::from(1))),
        opcode::KECCAK256 | opcode::RETURN | opcode::REVERT => {
            ([region(MemoryRead, s(0), s(1)), None], None)
        }
        opcode::LOG0..=opcode::LOG4 => ([region(MemoryRead, s(0), s(1)), None], None),
        opcode::CALLDATALOAD => ([region(CalldataRead, s(0), U256::from(32)), None], None),
        opcode::CALLDATACOPY => (
            [region(CalldataRead, s(1), s(2)), None],
            region(MemoryWrite, s(0), s(2)),
        ),
        opcode::CODECOPY => (
            [region(CodeRead, s(1), s(2)), None],
            region(MemoryWrite, s(0), s(2)),
        ),
        opcode::EXTCODECOPY => ([None, None], region(MemoryWrite, s(1), s(3))),
        opcode::RETURNDATACOPY => (
            [region(ReturndataRead, s(1), s(2)), None],
            region(MemoryWrite, s(0), s(2)),
        ),
        opcode::MCOPY => (
            [region(MemoryRead, s(1), s(2)), None],
            region(MemoryWrite, s(0), s(2)),
        ),
        opcode::CREATE | opcode::CREATE2 => ([region(MemoryRead, s(1), s(2)), None], None),
        opcode::CALL | opcode::CALLCODE => ([region(MemoryRead, s(3), s(4)), None], None),
        opcode::DELEGATECALL | opcode::STATICCALL => ([region(MemoryRead, s(2), s(3)), None], None),
        _ => ([None, None], None),
    }
}

#[inline]
pub(crate) fn is_call_or_create(op: u8) -> bool {
    matches!(
        op,
        opcode::CALL
            | opcode::CALLCODE
            | opcode::DELEGATECALL
            | opcode::STATICCALL
            | opcode::CREATE
            | opcode::CREATE2
    )
}

impl TraceRecorder {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// A recorder that records no trace, only each subblock's [`SubblockOutline`] (taken with
    /// [`Self::take_outline`]).
    pub fn outline() -> Self {
        Self {
            outline: Some(OutlineBuilder::default()),
            ..Self::default()
        }
    }

    /// Whether call frames are followed: when recording, and in outline mode.
    pub(crate) fn records_frames(&self) -> bool {
        self.enabled || self.outline.is_some()
    }

    /// A recorder that hands each subblock's trace to `sink` in chunks of `chunk_steps` steps
    /// (the last of a subblock shorter) as it records them, given the subblock outlines of an
    /// untraced run of the same block ([`TraceRecorder::outline`]), in order. [`Self::take_trace`]
    /// then hands over the subblock's last chunk and returns an empty trace.
    pub fn streaming(outlines: Vec<SubblockOutline>, chunk_steps: usize, sink: ChunkSink) -> Self {
        Self {
            enabled: true,
            stream: Some(Streaming {
                outlines: outlines.into(),
                chunk_steps: chunk_steps.max(1),
                sink,
                subblock: 0,
                first_step: 0,
                contexts_sent: 0,
                codes_sent: 0,
                mismatch: None,
            }),
            ..Self::default()
        }
    }

    /// In streaming mode, the first way the recording run differed from its outline (then its
    /// chunks are not the trace of the block).
    pub fn stream_mismatch(&self) -> Option<&str> {
        self.stream.as_ref()?.mismatch.as_deref()
    }

    /// Steps recorded (or, in outline mode, seen) in the current subblock.
    fn step_count(&self) -> usize {
        match (&self.outline, &self.stream) {
            (Some(o), _) => o.steps(),
            (None, Some(st)) => st.first_step + self.trace.steps.len(),
            (None, None) => self.trace.steps.len(),
        }
    }

    /// Streaming mode: hands the steps recorded since the last chunk over as a chunk.
    fn hand_over(&mut self, last: bool) {
        let Some(st) = &mut self.stream else {
            return;
        };
        let t = &mut self.trace;
        let chunk = TraceChunk {
            subblock: st.subblock,
            first_step: st.first_step,
            last,
            // (Room for a chunk, up to a million steps: `chunk_steps` may be any number.)
            steps: t.steps.take_held(st.chunk_steps.min(1 << 20)),
            stack_words: std::mem::take(&mut t.stack_words),
            mem_accesses: std::mem::take(&mut t.mem_accesses),
            storage: std::mem::take(&mut t.storage),
            logs: std::mem::take(&mut t.logs),
            log_topics: std::mem::take(&mut t.log_topics),
            data: std::mem::take(&mut t.data),
            contexts: t.contexts[st.contexts_sent..].to_vec(),
            context_code: t.context_code[st.contexts_sent..].to_vec(),
            codes: t.codes[st.codes_sent..].to_vec(),
            segments: if last {
                std::mem::take(&mut t.segments)
            } else {
                Vec::new()
            },
        };
        st.first_step += chunk.steps.len();
        st.contexts_sent = t.contexts.len();
        st.codes_sent = t.codes.len();
        if !(st.sink)(chunk) {
            // Nobody takes the trace any more: record nothing (the rest of the block costs
            // what an untraced run does), and leave no outline or mismatch to report.
            self.enabled = false;
            self.stream = None;
            self.trace = SubblockTrace::default();
        }
    }

    /// In outline mode, the outline of the subblock so far, leaving an empty one for the next
    /// (a subblock boundary; its segments are taken with it, so take it before
    /// [`Self::take_trace`]); streaming, the outline the subblock is recorded with; `None`
    /// otherwise.
    pub fn take_outline(&mut self) -> Option<SubblockOutline> {
        if let Some(st) = &self.stream {
            // Streaming: the outline the subblock was recorded with.
            return st.outline().cloned();
        }
        let builder = std::mem::take(self.outline.as_mut()?);
        Some(builder.finish(std::mem::take(&mut self.trace.segments)))
    }

    /// Opens a segment (a transaction or a system phase); steps recorded next belong to it.
    pub fn begin_segment(&mut self, kind: SegmentKind, tx_index: u32) {
        let first = self.step_count() as u32;
        self.segment = self.trace.segments.len() as u32;
        self.trace.segments.push(SegmentRecord {
            gas_used: 0,
            kind: kind as u32,
            tx_index,
            first_step: first,
            end_step: first,
        });
    }

    /// Closes the current segment.
    pub fn end_segment(&mut self, gas_used: u64) {
        let end = self.step_count() as u32;
        if let Some(seg) = self.trace.segments.last_mut() {
            seg.end_step = end;
            seg.gas_used = gas_used;
        }
    }

    /// Reserves room for about `steps` steps, so that recording a subblock does not keep
    /// reallocating (and copying) its largest vectors.
    pub fn reserve_steps(&mut self, steps: usize) {
        // Streaming holds one chunk.
        let steps = self
            .stream
            .as_ref()
            .map_or(steps, |st| st.chunk_steps.min(steps));
        let t = &mut self.trace;
        t.steps.reserve(steps);
        // Mainnet block 21872325 records ~150 bytes per step, most of it stack words.
        t.stack_words.reserve(steps * 3);
        t.mem_accesses.reserve(steps / 4);
        t.data.reserve(steps * 12);
    }

    /// Takes the trace recorded so far, leaving an empty one with room for as many steps
    /// (a subblock boundary).
    pub fn take_trace(&mut self) -> SubblockTrace {
        self.code_index.clear();
        if self.stream.is_some() {
            self.hand_over(true);
            self.trace = SubblockTrace::default();
            if let Some(st) = &mut self.stream {
                let outline = st.outlines.pop_front();
                if outline.as_ref().map(|o| o.steps) != Some(st.first_step) {
                    st.differs(format!(
                        "subblock {} ran {} steps, its outline {:?}",
                        st.subblock,
                        st.first_step,
                        outline.map(|o| o.steps)
                    ));
                }
                st.subblock += 1;
                st.first_step = 0;
                st.contexts_sent = 0;
                st.codes_sent = 0;
            }
            return SubblockTrace::default();
        }
        let steps = self.trace.steps.len();
        let trace = std::mem::take(&mut self.trace);
        if self.enabled {
            self.reserve_steps(steps);
        }
        trace
    }

    pub fn trace(&self) -> &SubblockTrace {
        &self.trace
    }

    fn push_data(&mut self, bytes: &[u8]) -> u32 {
        let start = self.trace.data.len() as u32;
        self.trace.data.extend_from_slice(bytes);
        start
    }

    fn open_context(&mut self, mut rec: ContextRecord, return_region: Option<(u32, u32)>) {
        let (call_step, result_word) = match self.pending_call.take() {
            Some((step, word)) => (step, Some(word)),
            None => (u32::MAX, None),
        };
        let context = match &mut self.outline {
            Some(o) => {
                o.opened += 1;
                o.opened - 1
            }
            None => {
                rec.parent = self.frames.last().map(|f| f.context).unwrap_or(u32::MAX);
                rec.depth = self.frames.len() as u32 + 1;
                rec.call_step = call_step;
                if let Some(st) = &self.stream {
                    // Written now, not when the context ends: its chunk may be handed over.
                    let id = self.trace.contexts.len();
                    let end = st.outline().and_then(|o| o.ends.get(id)).copied();
                    let end = end.unwrap_or_default();
                    rec.success = end.success as u32;
                    if end.created != [0; 20] {
                        rec.address = end.created;
                        rec.code_address = end.created;
                    }
                }
                self.trace.contexts.push(rec);
                self.trace.context_code.push(u32::MAX);
                self.trace.contexts.len() as u32 - 1
            }
        };
        // A streaming recorder's frames hold the subblock step (a chunk's steps count from
        // its first).
        let call_step = match (&self.stream, call_step) {
            (Some(st), s) if s != u32::MAX => st.first_step as u32 + s,
            _ => call_step,
        };
        self.frames.push(Frame {
            context,
            return_region,
            result_word,
            call_step,
        });
    }

    /// Closes the innermost frame; `created` is a CREATE*'s created address (zero otherwise).
    fn close_context(&mut self, success: bool, result: U256, output: &Bytes, created: [u8; 20]) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        if let Some(o) = &mut self.outline {
            o.closed_at(frame.context, ContextEnd { success, created });
            if frame.result_word.is_some() {
                // The output the recorder writes into the caller's memory, as it does below.
                let (return_offset, return_data) = match frame.return_region {
                    Some((offset, len)) if frame.call_step != u32::MAX => {
                        let n = (len as usize).min(output.len());
                        (offset, output.slice(..n))
                    }
                    _ => (0, Bytes::new()),
                };
                let (return_offset, return_data) = if return_data.is_empty() {
                    (0, Bytes::new())
                } else {
                    (return_offset, return_data)
                };
                o.call_results.push(CallResult {
                    step: frame.call_step,
                    result: Word::from(result),
                    return_offset,
                    return_data,
                });
            }
            return;
        }
        if let Some(st) = &mut self.stream {
            // Everything was written from the outline when the call was made: check it.
            let id = frame.context as usize;
            let written = self.trace.contexts[id];
            if written.success != success as u32
                || (created != [0; 20] && written.address != created)
            {
                st.differs(format!(
                    "context {id} of subblock {} ends otherwise",
                    st.subblock
                ));
            }
            if frame.result_word.is_some() {
                let n = frame
                    .return_region
                    .map_or(0, |(_, len)| (len as usize).min(output.len()));
                let expected = st.call_result(frame.call_step as usize);
                let same = expected.is_some_and(|r| {
                    r.result == Word::from(result) && r.return_data[..] == output[..n]
                });
                if !same {
                    st.differs(format!(
                        "the call at step {} of subblock {} returns otherwise",
                        frame.call_step, st.subblock
                    ));
                }
            }
            return;
        }
        self.trace.contexts[frame.context as usize].success = success as u32;
        if let Some(word) = frame.result_word {
            self.trace.stack_words[word as usize] = Word::from(result);
        }
        let call_step = self.trace.contexts[frame.context as usize].call_step;
        if let (Some((offset, len)), true) = (frame.return_region, call_step != u32::MAX) {
            let n = (len as usize).min(output.len());
            if n > 0 {
                let data_start = self.push_data(&output[..n]);
                self.trace.mem_accesses.push(MemAccessRecord {
                    step: call_step,
                    kind: AccessKind::MemoryWrite as u32,
                    offset,
                    len: n as u32,
                    data_start,
                });
            }
        }
    }
}

impl<CTX: ContextTr<Journal: JournalExt>> Inspector<CTX, EthInterpreter> for TraceRecorder {
    fn initialize_interp(&mut self, interp: &mut Interpreter<EthInterpreter>, _ctx: &mut CTX) {
        if !self.enabled {
            return;
        }
        let Some(frame) = self.frames.last() else {
            return;
        };
        let code = interp.bytecode.bytecode_slice();
        let hash = interp.bytecode.hash().unwrap_or_else(|| keccak256(code));
        let next = self.trace.codes.len() as u32;
        let id = *self.code_index.entry(hash).or_insert(next);
        if id == next {
            self.trace.codes.push((hash, Bytes::copy_from_slice(code)));
        }
        self.trace.context_code[frame.context as usize] = id;
    }

    #[inline]
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        if !self.enabled {
            if let Some(o) = &mut self.outline {
                let op = interp.bytecode.opcode();
                let context = self.frames.last().map_or(u32::MAX, |f| f.context);
                // BLOCKHASH's argument (what the outline keeps of its reads).
                let top = match op {
                    opcode::BLOCKHASH => interp.stack.data().last().copied().unwrap_or_default(),
                    _ => U256::ZERO,
                };
                self.outline_open = Some((o.steps() as u32, op, top));
                o.step(context, op);
            }
            return;
        }
        if self
            .stream
            .as_ref()
            .is_some_and(|st| self.trace.steps.len() >= st.chunk_steps)
        {
            self.hand_over(false);
            if !self.enabled {
                return;
            }
        }
        let op = interp.bytecode.opcode();
        let info = OPCODE_INFO[op as usize];
        let (inputs, outputs) = info.map(|i| (i.inputs(), i.outputs())).unwrap_or((0, 0));
        let stack = interp.stack.data();
        let len = stack.len();
        let reads = (inputs as usize).min(len);
        let index = self.trace.steps.len() as u32;
        let stack_words = self.trace.stack_words.len() as u32;
        for k in 0..reads {
            self.trace.stack_words.push(Word::from(stack[len - 1 - k]));
        }
        let s = |k: usize| {
            if k < len {
                stack[len - 1 - k]
            } else {
                U256::ZERO
            }
        };
        let (read_regions, write) = data_regions(op, s);
        for r in read_regions.into_iter().flatten() {
            let data_start = self.trace.data.len() as u32;
            let (o, l) = (r.offset as usize, r.len as usize);
            match r.kind {
                AccessKind::MemoryRead => {
                    let size = interp.memory.size();
                    let avail = size.saturating_sub(o).min(l);
                    if avail > 0 {
                        let m = interp.memory.slice(o..o + avail);
                        self.trace.data.extend_from_slice(&m);
                    }
                    self.trace.data.resize(data_start as usize + l, 0);
                }
                AccessKind::CalldataRead => {
                    let input = interp.input.input().bytes(ctx);
                    let avail = input.len().saturating_sub(o).min(l);
                    if avail > 0 {
                        self.trace.data.extend_from_slice(&input[o..o + avail]);
                    }
                    self.trace.data.resize(data_start as usize + l, 0);
                }
                AccessKind::ReturndataRead => {
                    let rd = interp.return_data.buffer();
                    let avail = rd.len().saturating_sub(o).min(l);
                    if avail > 0 {
                        self.trace.data.extend_from_slice(&rd[o..o + avail]);
                    }
                    // Out-of-bounds RETURNDATACOPY halts; the zeros never reach memory.
                    self.trace.data.resize(data_start as usize + l, 0);
                }
                AccessKind::CodeRead => {
                    let code = interp.bytecode.bytecode_slice();
                    let avail = code.len().saturating_sub(o).min(l);
                    if avail > 0 {
                        self.trace.data.extend_from_slice(&code[o..o + avail]);
                    }
                    self.trace.data.resize(data_start as usize + l, 0);
                }
                AccessKind::MemoryWrite => {}
            }
            self.trace.mem_accesses.push(MemAccessRecord {
                step: index,
                kind: r.kind as u32,
                offset: r.offset,
                len: r.len,
                data_start,
            });
        }
        let storage_key = if op == opcode::SLOAD || op == opcode::SSTORE {
            s(0)
        } else {
            U256::ZERO
        };
        let address = interp.input.target_address();
        let (context, depth) = self
            .frames
            .last()
            .map(|f| (f.context, self.frames.len() as u16))
            .unwrap_or((u32::MAX, 0));
        self.trace.steps.push(StepRecord {
            gas_before: interp.gas.remaining(),
            gas_after: 0,
            pc: interp.bytecode.pc() as u32,
            context,
            stack_words,
            segment: self.segment,
            stack_len: len as u16,
            depth,
            opcode: op,
            reads: reads as u8,
            writes: 0,
            status: STEP_OK,
        });
        self.open = Some(OpenStep {
            index,
            reads: reads as u8,
            outputs,
            stack_len: len as u16,
            write,
            journal_len: if op == opcode::SSTORE {
                ctx.journal_ref().journal().len()
            } else {
                0
            },
            storage_key,
            address,
        });
    }

    #[inline]
    fn step_end(&mut self, interp: &mut Interpreter<EthInterpreter>, ctx: &mut CTX) {
        if let Some((index, op, top)) = self.outline_open.take() {
            let failed = interp
                .bytecode
                .instruction_result()
                .is_some_and(|r| !r.is_ok_or_revert());
            if failed {
                if let Some(o) = &mut self.outline {
                    o.halted();
                }
            } else if op == opcode::BLOCKHASH {
                let pushed = interp.stack.data().last().copied().unwrap_or_default();
                if let Some(o) = &mut self.outline {
                    o.block_hash(top.into(), pushed.into());
                }
            } else if is_call_or_create(op) {
                // As when recording: the step's callee (opened next) pushes its result here.
                self.pending_call = Some((index, u32::MAX));
            }
            return;
        }
        let Some(open) = self.open.take() else {
            return;
        };
        let idx = open.index as usize;
        let op = self.trace.steps[idx].opcode;
        self.trace.steps[idx].gas_after = interp.gas.remaining();
        let failed = interp
            .bytecode
            .instruction_result()
            .is_some_and(|r| !r.is_ok_or_revert());
        if failed {
            self.trace.steps[idx].status = STEP_EXCEPTIONAL;
            return;
        }
        if is_call_or_create(op) {
            // The result is pushed when the callee returns: reserve its word now (streaming:
            // write it, and the output the callee returns, from the outline).
            let word = self.trace.stack_words.len() as u32;
            let known = self.stream.as_ref().map(|st| {
                st.call_result(st.first_step + idx)
                    .cloned()
                    .unwrap_or_default()
            });
            self.trace
                .stack_words
                .push(known.as_ref().map_or(Word::default(), |r| r.result));
            self.trace.steps[idx].writes = 1;
            self.pending_call = Some((open.index, word));
            if let Some(r) = known.filter(|r| !r.return_data.is_empty()) {
                let data_start = self.push_data(&r.return_data);
                self.trace.mem_accesses.push(MemAccessRecord {
                    step: open.index,
                    kind: AccessKind::MemoryWrite as u32,
                    offset: r.return_offset,
                    len: r.return_data.len() as u32,
                    data_start,
                });
            }
            return;
        }
        let stack = interp.stack.data();
        let len = stack.len();
        let expected = open.stack_len as usize - open.reads as usize + open.outputs as usize;
        if len == expected {
            let writes = open.outputs as usize;
            for k in 0..writes {
                self.trace.stack_words.push(Word::from(stack[len - 1 - k]));
            }
            self.trace.steps[idx].writes = writes as u8;
        }
        if let Some(w) = open.write {
            let size = interp.memory.size();
            let (o, l) = (w.offset as usize, w.len as usize);
            if o + l <= size {
                let data_start = self.trace.data.len() as u32;
                let m = interp.memory.slice(o..o + l);
                self.trace.data.extend_from_slice(&m);
                self.trace.mem_accesses.push(MemAccessRecord {
                    step: open.index,
                    kind: AccessKind::MemoryWrite as u32,
                    offset: w.offset,
                    len: w.len,
                    data_start,
                });
            }
        }
        if op == opcode::SLOAD || op == opcode::SSTORE {
            let journal = ctx.journal_ref();
            let slot = journal
                .evm_state()
                .get(&open.address)
                .and_then(|a| a.storage.get(&open.storage_key));
            let (present, original) = slot
                .map(|s| (s.present_value, s.original_value))
                .unwrap_or_default();
            let previous = if op == opcode::SSTORE {
                journal.journal()[open.journal_len.min(journal.journal().len())..]
                    .iter()
                    .find_map(|e| match e {
                        JournalEntry::StorageChanged {
                            key,
                            had_value,
                            address,
                        } if *key == open.storage_key && *address == open.address => {
                            Some(*had_value)
                        }
                        _ => None,
                    })
                    .unwrap_or(present)
            } else {
                present
            };
            self.trace.storage.push(StorageRecord {
                key: open.storage_key.into(),
                previous: previous.into(),
                value: present.into(),
                original: original.into(),
                step: open.index,
                is_write: (op == opcode::SSTORE) as u32,
            });
        }
    }

    fn log(&mut self, _ctx: &mut CTX, log: Log) {
        if !self.enabled {
            return;
        }
        let step = self.trace.steps.len().saturating_sub(1) as u32;
        let context = self.frames.last().map(|f| f.context).unwrap_or(u32::MAX);
        let topics_start = self.trace.log_topics.len() as u32;
        for t in log.data.topics() {
            self.trace.log_topics.push(Word::from(*t));
        }
        let data_start = self.push_data(&log.data.data);
        self.trace.logs.push(LogRecord {
            step,
            context,
            topics_start,
            topics: log.data.topics().len() as u32,
            data_start,
            data_len: log.data.data.len() as u32,
        });
    }

    fn call(&mut self, _ctx: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        if !self.records_frames() {
            return None;
        }
        let kind = match inputs.scheme {
            CallScheme::Call => ContextKind::Call,
            CallScheme::CallCode => ContextKind::CallCode,
            CallScheme::DelegateCall => ContextKind::DelegateCall,
            CallScheme::StaticCall => ContextKind::StaticCall,
        };
        let ret = &inputs.return_memory_offset;
        let rec = ContextRecord {
            gas_limit: inputs.gas_limit,
            value: inputs.call_value().into(),
            address: inputs.target_address.into(),
            caller: inputs.caller.into(),
            code_address: inputs.bytecode_address.into(),
            kind: kind as u32,
            is_static: inputs.is_static as u32,
            calldata_len: u32::try_from(inputs.input.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        self.open_context(rec, Some((ret.start as u32, ret.len() as u32)));
        None
    }

    fn call_end(&mut self, _ctx: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        if !self.records_frames() {
            return;
        }
        let ok = outcome.result.result.is_ok();
        self.close_context(ok, U256::from(ok as u8), &outcome.result.output, [0; 20]);
    }

    fn create(&mut self, _ctx: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        if !self.records_frames() {
            return None;
        }
        let kind = match inputs.scheme() {
            CreateScheme::Create2 { .. } => ContextKind::Create2,
            _ => ContextKind::Create,
        };
        let rec = ContextRecord {
            gas_limit: inputs.gas_limit(),
            value: inputs.value().into(),
            caller: inputs.caller().into(),
            kind: kind as u32,
            ..Default::default()
        };
        self.open_context(rec, None);
        None
    }

    fn create_end(&mut self, _ctx: &mut CTX, _inputs: &CreateInputs, outcome: &mut CreateOutcome) {
        if !self.records_frames() {
            return;
        }
        let ok = outcome.result.result.is_ok();
        if let (Some(frame), Some(addr), true) = (
            self.frames.last(),
            outcome.address,
            self.enabled && self.stream.is_none(),
        ) {
            let c = &mut self.trace.contexts[frame.context as usize];
            c.address = addr.into();
            c.code_address = addr.into();
        }
        let result = match (ok, outcome.address) {
            (true, Some(a)) => U256::from_be_slice(a.as_slice()),
            _ => U256::ZERO,
        };
        let created = outcome.address.map_or([0; 20], Into::into);
        self.close_context(ok, result, &Bytes::new(), created);
    }
}
