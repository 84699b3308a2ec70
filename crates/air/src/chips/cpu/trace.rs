//! CPU trace generation: one pass over the subblock simulates the stack as tokens (to find each
//! consumed item's timestamp and the tokens alive at shard boundaries), then each shard's rows
//! are filled from the step records.

use core::borrow::BorrowMut;
use std::collections::HashMap;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_executor::trace::{STEP_OK, SubblockOutline, SubblockTrace, Word};

use super::air::{CpuPublic, STACK_LIMIT};
use super::columns::{CpuCols, MAX_POPS, NUM_CPU_COLS};
use crate::chips::bytecode::trace::CODE_PADDING;
use crate::chips::opcode_table::props_of;
use crate::chips::range::trace::RangeCounts;
use crate::chips::stack_boundary::trace::{ResumeToken, StackToken};
use crate::error::TraceError;
use crate::halts::{BadJumpDest, HaltKind, classify};
use crate::opcodes::{self, info};
use crate::word::{limbs, small};

/// Largest gas value and timestamp the AIR represents (its range checks allow `< 2^30`).
pub const MAX_GAS: u64 = 1 << 30;

/// What the CPU needs per step beyond the record.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepAux {
    pub ctx: u32,
    pub code_id: u32,
    pub fresh: bool,
    pub cont: bool,
    pub suspend: bool,
    pub callee: u32,
    /// Contexts started before this step.
    pub nctx: u32,
    pub ts_old: [u32; MAX_POPS],
    /// Why the step halted exceptionally (`None`: it did not).
    pub halt: Option<HaltKind>,
    /// Suspending call: its callee succeeded. Resumption: the step before (the callee's last)
    /// ended it successfully.
    pub callee_ok: bool,
    pub resumed_ok: bool,
    /// Successful call steps of the context before this one.
    pub ncalls: u32,
    /// The context's memory size in words before and after the step.
    pub mw: u32,
    pub mw_next: u32,
}

/// The subblock seen by the CPU: per-step context data and the stack/resume state at the
/// boundaries of the requested shards. A whole analysis ([`analyze`]) holds every step's; an
/// [`Analyzer`] holds those of the steps it analysed and has not released yet.
#[derive(Clone, Debug, Default)]
pub struct SubblockAnalysis {
    pub aux: StepAuxes,
    /// For each shard boundary `b` (the shard starts), the tokens alive there.
    pub alive_stack: HashMap<usize, Vec<StackToken>>,
    pub alive_resume: HashMap<usize, Vec<ResumeToken>>,
    /// Stack tokens discarded when their context ended, by step.
    pub discarded: Vec<(usize, StackToken)>,
    /// For each shard boundary, the memory of the contexts that run again
    /// (`chips::memory::trace::ImageReplay`).
    pub memory_before: HashMap<usize, crate::chips::memory::trace::MemoryImage>,
}

/// The [`StepAux`] of the steps `start..start + len` (indexed by subblock step).
#[derive(Clone, Debug, Default)]
pub struct StepAuxes {
    start: usize,
    items: Vec<StepAux>,
}

impl StepAuxes {
    /// The steps held.
    pub fn steps(&self) -> core::ops::Range<usize> {
        self.start..self.start + self.items.len()
    }

    fn push(&mut self, a: StepAux) {
        self.items.push(a);
    }

    /// Forget the steps before `step`.
    fn release_before(&mut self, step: usize) {
        let n = step.saturating_sub(self.start).min(self.items.len());
        self.items.drain(..n);
        self.start += n;
    }

    /// Forget the steps from `step` on.
    fn truncate(&mut self, step: usize) {
        self.items.truncate(step.saturating_sub(self.start));
    }
}

impl core::ops::Index<usize> for StepAuxes {
    type Output = StepAux;

    /// Step `i`'s; trace generation asks only for the steps of the shard being generated (and
    /// the one before it), which its analysis holds.
    fn index(&self, i: usize) -> &StepAux {
        &self.items[i - self.start]
    }
}

/// The words a step's row holds: consumed items and the pushed item (AIR order, see columns).
pub fn step_words(trace: &SubblockTrace, i: usize) -> ([Word; MAX_POPS], Word) {
    let s = &trace.steps[i];
    let words = trace.step_words(i);
    let (reads, writes) = words.split_at(s.reads as usize);
    let mut inp = [Word::default(); MAX_POPS];
    let mut out = Word::default();
    let op = s.opcode;
    if s.status != STEP_OK {
        // Nothing is pushed; the values the AIR still reads are the ones it defines (GAS: the
        // gas after the halt, 0). A bad jump's target and condition are consumed.
        if op == opcodes::PC {
            out = small(s.pc as u64);
        } else if op == opcodes::JUMP || op == opcodes::JUMPI {
            for (k, w) in reads.iter().take(MAX_POPS).enumerate() {
                inp[k] = *w;
            }
        }
        return (inp, out);
    }
    if (opcodes::DUP1..=opcodes::DUP16).contains(&op) {
        let n = (op - opcodes::DUP1 + 1) as usize;
        inp[0] = reads[n - 1];
        // The copy as recorded: the AIR checks it equals the item.
        out = writes.first().copied().unwrap_or_default();
    } else if (opcodes::SWAP1..=opcodes::SWAP16).contains(&op) {
        let n = (op - opcodes::SWAP1 + 1) as usize;
        inp[0] = reads[0];
        inp[1] = reads[n];
    } else {
        for (k, w) in reads.iter().take(MAX_POPS).enumerate() {
            inp[k] = *w;
        }
        if let Some(w) = writes.first() {
            out = *w;
        }
        // EXP's gas depends on its exponent: the ALU bus carries it (in the unread third item)
        // to the multiplication chip, which derives it from the exponent's bytes.
        // (An inconsistent record with more gas after than before gets 0: its step does not
        // prove, and nothing panics.)
        if op == opcodes::EXP {
            inp[2] = small(s.gas_before.saturating_sub(s.gas_after));
        }
    }
    (inp, out)
}

/// The PUSHn immediate of a step, read from its code (zero-padded past the end).
fn push_immediate(code: &[u8], pc: usize, n: usize) -> Word {
    let mut be = [0u8; 32];
    for k in 0..n {
        be[32 - n + k] = code.get(pc + 1 + k).copied().unwrap_or(0);
    }
    let mut w = [0u32; 8];
    for (i, x) in w.iter_mut().enumerate() {
        let o = 32 - 4 * (i + 1);
        *x = u32::from_be_bytes([be[o], be[o + 1], be[o + 2], be[o + 3]]);
    }
    Word(w)
}

/// Analyses every step of `trace`, keeping the state at `boundaries` (shard starts and the
/// subblock's end).
pub fn analyze(
    trace: &SubblockTrace,
    boundaries: &[usize],
) -> Result<SubblockAnalysis, TraceError> {
    let mut analyzer = Analyzer::new(trace, boundaries)?;
    analyzer.advance_to(trace, trace.steps.len())?;
    Ok(analyzer.out)
}

/// What is known of every context before the pass: found by a cheap first pass, so that the
/// analysis itself needs no step after the one it analyses but the next.
#[derive(Debug)]
struct Contexts {
    /// Recorded context -> dense id (in order of first step).
    dense: HashMap<u32, u32>,
    /// Whether each context ends successfully (its last step is STOP, RETURN or SELFDESTRUCT).
    ends_ok: Vec<bool>,
    /// Each context's last step.
    last_step: Vec<usize>,
    /// Taken from the subblock's outline (not its trace): each context's first step, and every
    /// step analysed is checked against it ([`Contexts::check`]).
    first_step: Option<Vec<usize>>,
}

impl Contexts {
    fn of(trace: &SubblockTrace) -> Result<Self, TraceError> {
        let mut dense: HashMap<u32, u32> = HashMap::new();
        let mut ends_ok = Vec::new();
        let mut last_step = Vec::new();
        for (i, s) in trace.steps.indexed() {
            let next = dense.len() as u32;
            let c = *dense.entry(s.context).or_insert(next) as usize;
            if c == ends_ok.len() {
                ends_ok.push(false);
                last_step.push(0);
            }
            ends_ok[c] = ends_successfully(s.status, s.opcode);
            last_step[c] = i;
        }
        // The call-context table range-checks context ids as u16 values.
        if dense.len() > 1 << 16 {
            return Err(TraceError::TooManyContexts {
                contexts: dense.len(),
            });
        }
        Ok(Self {
            dense,
            ends_ok,
            last_step,
            first_step: None,
        })
    }

    /// What [`Self::of`] reads from the whole trace, from the subblock's outline (issue 18: an
    /// untraced run gives it before the trace is recorded).
    fn of_outline(outline: &SubblockOutline) -> Result<Self, TraceError> {
        let n = outline.contexts.len();
        if n > 1 << 16 {
            return Err(TraceError::TooManyContexts { contexts: n });
        }
        let c = &outline.contexts;
        Ok(Self {
            dense: c.iter().zip(0..).map(|(c, d)| (c.context, d)).collect(),
            ends_ok: c
                .iter()
                .map(|c| ends_successfully(c.last_status, c.last_opcode))
                .collect(),
            last_step: c.iter().map(|c| c.last_step as usize).collect(),
            first_step: Some(c.iter().map(|c| c.first_step as usize).collect()),
        })
    }

    /// With contexts from an outline: step `i` is one the outline knows (its context's, within
    /// its first and last step, and its last step ends as the outline says), so that the pass
    /// finds every step's context and the look-ahead is the trace's.
    fn check(&self, trace: &SubblockTrace, i: usize) -> Result<(), TraceError> {
        let Some(first) = &self.first_step else {
            return Ok(());
        };
        let bad = |what| TraceError::Inconsistent { step: i, what };
        let s = &trace.steps[i];
        let c = *self.dense.get(&s.context).ok_or(bad(
            "a step of a context the subblock's outline does not have",
        ))? as usize;
        if i < first[c] || i > self.last_step[c] {
            return Err(bad(
                "a step outside its context's steps in the subblock's outline",
            ));
        }
        if i == self.last_step[c] && ends_successfully(s.status, s.opcode) != self.ends_ok[c] {
            return Err(bad(
                "a context ending otherwise than the subblock's outline says",
            ));
        }
        Ok(())
    }

    /// The dense id of step `i`'s context (every step's is known).
    fn ctx(&self, trace: &SubblockTrace, i: usize) -> u32 {
        self.dense[&trace.steps[i].context]
    }
}

/// What the pass carries from one step to the next. Cloned at a shard's start, so that the
/// analysis can go back there when the shard is re-cut.
#[derive(Clone, Debug, Default)]
struct PassState {
    /// The next step to analyse.
    next: usize,
    seen: Vec<bool>,
    calls: Vec<u32>,
    msize: Vec<u32>,
    stacks: Vec<Vec<StackToken>>,
    outstanding: HashMap<u32, ResumeToken>,
    nctx: u32,
    /// The previous step's context and whether the next step continued it.
    prev: Option<(u32, bool)>,
    memory: crate::chips::memory::trace::ImageReplay,
}

/// The subblock's analysis as one pass over its steps that can stop at any step and go on
/// later: [`analyze`] runs it over the whole subblock at once; a stream of shards runs it shard
/// by shard ([`Analyzer::advance_to`]), carrying the stacks, suspended calls, memory sizes and
/// live memory of every context across each stop, and releases the steps of shards already
/// generated ([`Analyzer::release_before`]), so that it holds one shard's steps, not the
/// subblock's. Either way every step's [`StepAux`] and every boundary's state are the same.
///
/// It does not keep the trace: every call that reads steps is handed it, so that the trace may
/// grow between calls (chunks appended as they are recorded, issue 18). It must then hold every
/// step the call reads, and the next one where the subblock has one (the look-ahead).
#[derive(Debug)]
pub struct Analyzer {
    contexts: Contexts,
    /// The memory writes of the trace's accesses gathered so far, by step.
    writes: crate::chips::memory::trace::WriteIndex,
    /// Shard starts and the subblock's end, sorted.
    boundaries: Vec<usize>,
    state: PassState,
    /// The state at a step the pass may go back to ([`Analyzer::checkpoint`]).
    checkpoint: Option<PassState>,
    out: SubblockAnalysis,
}

impl Analyzer {
    /// A pass over `trace` about to analyse its first step, keeping the state at `boundaries`.
    pub fn new(trace: &SubblockTrace, boundaries: &[usize]) -> Result<Self, TraceError> {
        Self::with_contexts(Contexts::of(trace)?, boundaries)
    }

    /// [`Self::new`] with each context's look-ahead (last step, how it ends) from `outline`, the
    /// subblock's outline from an untraced run, instead of a first pass over the whole trace;
    /// every step analysed is checked against it (a disagreement is
    /// [`TraceError::Inconsistent`]). The same analysis.
    pub fn with_outline(
        outline: &SubblockOutline,
        boundaries: &[usize],
    ) -> Result<Self, TraceError> {
        Self::with_contexts(Contexts::of_outline(outline)?, boundaries)
    }

    fn with_contexts(contexts: Contexts, boundaries: &[usize]) -> Result<Self, TraceError> {
        let writes = crate::chips::memory::trace::WriteIndex::default();
        let n = contexts.ends_ok.len();
        let mut boundaries = boundaries.to_vec();
        boundaries.sort_unstable();
        boundaries.dedup();
        Ok(Self {
            contexts,
            writes,
            boundaries,
            state: PassState {
                seen: vec![false; n],
                calls: vec![0; n],
                msize: vec![0; n],
                stacks: vec![Vec::new(); n],
                ..PassState::default()
            },
            checkpoint: None,
            out: SubblockAnalysis::default(),
        })
    }

    /// The analysis of the steps analysed and not released.
    pub fn analysis(&self) -> &SubblockAnalysis {
        &self.out
    }

    /// The next step to analyse.
    pub fn position(&self) -> usize {
        self.state.next
    }

    /// Also keep the state at these steps (not before the next step to analyse).
    pub fn add_boundaries(&mut self, more: impl IntoIterator<Item = usize>) {
        self.boundaries.extend(more);
        self.boundaries.sort_unstable();
        self.boundaries.dedup();
    }

    /// Remember the state here, to [`Self::rewind`] to it later.
    pub fn checkpoint(&mut self) {
        self.checkpoint = Some(self.state.clone());
    }

    /// Go back to the last checkpoint (forgetting what was analysed after it); `false` if there
    /// is none at `step`.
    pub fn rewind(&mut self, step: usize) -> bool {
        match &self.checkpoint {
            Some(c) if c.next == step => {
                self.state = c.clone();
                self.out.aux.truncate(step);
                self.out.discarded.retain(|(s, _)| *s < step);
                self.out.alive_stack.retain(|&b, _| b <= step);
                self.out.alive_resume.retain(|&b, _| b <= step);
                self.out.memory_before.retain(|&b, _| b <= step);
                true
            }
            _ => false,
        }
    }

    /// Forget the analysis of the steps before `step` (and the state at boundaries before it).
    pub fn release_before(&mut self, step: usize) {
        // Writes already replayed, by the pass and by the state it may go back to.
        let replayed = self.state.memory.replayed_to().min(
            self.checkpoint
                .as_ref()
                .map_or(usize::MAX, |c| c.memory.replayed_to()),
        );
        self.writes.release_before(step.min(replayed));
        self.out.aux.release_before(step);
        self.out.discarded.retain(|(s, _)| *s >= step);
        self.out.alive_stack.retain(|&b, _| b >= step);
        self.out.alive_resume.retain(|&b, _| b >= step);
        self.out.memory_before.retain(|&b, _| b >= step);
    }

    /// Analyse the steps up to `end` (exclusive), keeping the state at every boundary up to and
    /// including `end`.
    pub fn advance_to(&mut self, trace: &SubblockTrace, end: usize) -> Result<(), TraceError> {
        self.writes.gather(trace)?;
        let end = end.min(trace.steps.len());
        loop {
            let i = self.state.next;
            if self.boundaries.binary_search(&i).is_ok() && !self.out.alive_stack.contains_key(&i) {
                self.snapshot(trace, i)?;
            }
            if i >= end {
                return Ok(());
            }
            self.step(trace, i)?;
        }
    }

    /// The tokens alive and the live memory at boundary `b` (the next step to analyse).
    fn snapshot(&mut self, trace: &SubblockTrace, b: usize) -> Result<(), TraceError> {
        let st: Vec<StackToken> = self.state.stacks.iter().flatten().copied().collect();
        let mut rs: Vec<ResumeToken> = self.state.outstanding.values().copied().collect();
        rs.sort_unstable();
        self.out.alive_stack.insert(b, st);
        self.out.alive_resume.insert(b, rs);
        let contexts = &self.contexts;
        let image = self.state.memory.image_at(
            &self.writes,
            trace,
            b,
            |step| contexts.ctx(trace, step),
            &contexts.last_step,
        )?;
        self.out.memory_before.insert(b, image);
        Ok(())
    }

    /// Analyse step `i` (the next one).
    fn step(&mut self, trace: &SubblockTrace, i: usize) -> Result<(), TraceError> {
        let steps = &trace.steps;
        let st = &mut self.state;
        let s = &steps[i];
        if s.gas_before >= MAX_GAS || s.gas_after >= MAX_GAS {
            return Err(TraceError::GasTooLarge { step: i });
        }
        // This step's and the next one's contexts are looked up below.
        self.contexts.check(trace, i)?;
        if i + 1 < steps.len() {
            self.contexts.check(trace, i + 1)?;
        }
        let ctx = self.contexts.ctx(trace, i);
        let fresh = !st.seen[ctx as usize];
        st.seen[ctx as usize] = true;
        let ok = s.status == STEP_OK;
        let cont = i + 1 < steps.len() && self.contexts.ctx(trace, i + 1) == ctx;
        let p = props_of(s.opcode);
        if cont && (!ok || p.is_term == 1) {
            return Err(TraceError::Inconsistent {
                step: i,
                what: "a halting step is followed by a step of the same context",
            });
        }
        let suspend = ok && p.is_call == 1 && !cont && i + 1 < steps.len();
        let callee = if suspend {
            self.contexts.ctx(trace, i + 1)
        } else {
            0
        };
        let code_id =
            *trace
                .context_code
                .get(s.context as usize)
                .ok_or(TraceError::Inconsistent {
                    step: i,
                    what: "step context without code",
                })?;
        let mut a = StepAux {
            ctx,
            code_id,
            fresh,
            cont,
            suspend,
            callee,
            nctx: st.nctx,
            ts_old: [0; MAX_POPS],
            halt: classify(trace, i, &trace.codes[code_id as usize].1)?,
            callee_ok: suspend && self.contexts.ends_ok[callee as usize],
            resumed_ok: false,
            ncalls: st.calls[ctx as usize],
            mw: st.msize[ctx as usize],
            mw_next: st.msize[ctx as usize],
        };
        if ok {
            let (inp, out) = step_words(trace, i);
            a.mw_next = crate::chips::memory::trace::words_after(s.opcode, &inp, a.mw)
                .ok_or(TraceError::MemoryTooLarge { step: i })?;
            st.msize[ctx as usize] = a.mw_next;
            if s.opcode == opcodes::MSIZE && out != small(a.mw as u64 * 32) {
                return Err(TraceError::Inconsistent {
                    step: i,
                    what: "MSIZE differs from the memory size its context's steps give",
                });
            }
        }
        if ok && p.is_call == 1 {
            st.calls[ctx as usize] += 1;
            // The call-context table holds call counts below 2^24 (a call costs at least 100
            // gas, so a context with a gas below 2^30 makes fewer).
            if st.calls[ctx as usize] >= 1 << 24 {
                return Err(TraceError::Inconsistent {
                    step: i,
                    what: "more calls in one context than its gas allows",
                });
            }
        }
        if fresh {
            st.nctx += 1;
        }
        // A resumption consumes the resume token of its context.
        let starts = i == 0 || !st.prev.map(|(_, cont)| cont).unwrap_or(false);
        if starts && !fresh {
            let prev_ctx = st.prev.map(|(c, _)| c).unwrap_or(0);
            a.resumed_ok = i > 0 && ends_successfully(steps[i - 1].status, steps[i - 1].opcode);
            let expected = [
                ctx,
                prev_ctx,
                s.pc,
                s.stack_len as u32,
                code_id,
                a.resumed_ok as u32,
                a.ncalls,
                a.mw,
            ];
            if st.outstanding.remove(&ctx) != Some(expected) {
                return Err(TraceError::Inconsistent {
                    step: i,
                    what: "a context resumes where it did not suspend",
                });
            }
        }
        let stack = &mut st.stacks[ctx as usize];
        if stack.len() != s.stack_len as usize {
            return Err(TraceError::Inconsistent {
                step: i,
                what: "stack height differs from the simulated stack",
            });
        }
        if ok {
            let (inp, out) = step_words(trace, i);
            let sp = stack.len();
            let bad = TraceError::Inconsistent {
                step: i,
                what: "stack item differs from the simulated stack",
            };
            let op = s.opcode;
            if p.is_dup == 1 {
                let n = p.n as usize;
                let t = &mut stack[sp - n];
                if t.value != limbs(&inp[0]) {
                    return Err(bad);
                }
                a.ts_old[0] = t.ts;
                t.ts = i as u32;
                stack.push(StackToken {
                    ctx,
                    slot: sp as u32,
                    value: limbs(&out),
                    ts: i as u32,
                });
            } else if p.is_swap == 1 {
                let n = p.n as usize;
                let (top, deep) = (stack[sp - 1], stack[sp - 1 - n]);
                if top.value != limbs(&inp[0]) || deep.value != limbs(&inp[1]) {
                    return Err(bad);
                }
                a.ts_old[0] = top.ts;
                a.ts_old[1] = deep.ts;
                stack[sp - 1] = StackToken {
                    value: deep.value,
                    ts: i as u32,
                    ..top
                };
                stack[sp - 1 - n] = StackToken {
                    value: top.value,
                    ts: i as u32,
                    ..deep
                };
            } else {
                let pops = info(op).pops as usize;
                if sp < pops {
                    return Err(bad);
                }
                for (k, word) in inp[..pops].iter().enumerate() {
                    let t = stack.pop().expect("checked above");
                    if t.value != limbs(word) {
                        return Err(bad);
                    }
                    a.ts_old[k] = t.ts;
                }
                if p.mem_push == 1 {
                    stack.push(StackToken {
                        ctx,
                        slot: stack.len() as u32,
                        value: limbs(&out),
                        ts: i as u32,
                    });
                }
            }
            if stack.len() > STACK_LIMIT as usize {
                return Err(bad);
            }
        } else if let Some(HaltKind::BadJump(_)) = a.halt {
            // The AIR checks the target (and the condition) it consumes.
            let (inp, _) = step_words(trace, i);
            for (k, word) in inp[..p.mem_pops as usize].iter().enumerate() {
                let t = stack.pop().ok_or(TraceError::Inconsistent {
                    step: i,
                    what: "bad jump on a stack too short for its operands",
                })?;
                if t.value != limbs(word) {
                    return Err(TraceError::Inconsistent {
                        step: i,
                        what: "stack item differs from the simulated stack",
                    });
                }
                a.ts_old[k] = t.ts;
            }
        }
        if suspend {
            let sp_next = stack.len() as u32;
            st.outstanding.insert(
                ctx,
                [
                    ctx,
                    callee,
                    s.pc + 1,
                    sp_next,
                    code_id,
                    a.callee_ok as u32,
                    a.ncalls + 1,
                    a.mw_next,
                ],
            );
        }
        if !cont && (!ok || p.is_term == 1) {
            for t in stack.drain(..) {
                self.out.discarded.push((i, t));
            }
        }
        self.out.aux.push(a);
        st.prev = Some((ctx, cont));
        st.next = i + 1;
        Ok(())
    }
}

/// Whether a context's last step ends it successfully (the caller's call result is then 1).
fn ends_successfully(status: u8, opcode: u8) -> bool {
    status == STEP_OK && opcodes::terminates(opcode) && opcode != opcodes::REVERT
}

/// Lookup counts the CPU rows make into other chips.
#[derive(Clone, Debug)]
pub struct CpuCounts {
    pub opcodes: [u32; 256],
    /// (code id, pc) -> executions (PUSH sites: `crate::chips::push_immediate`).
    pub exec: HashMap<(u32, u32), u32>,
    /// (code id, pc) -> bad jumps to that non-JUMPDEST byte (the code's last padded byte: also
    /// those past it).
    pub dest: HashMap<(u32, u32), u32>,
}

/// Step `step` consumes its first `pops` stack items, written at `ts_old`: each one's timestamp
/// and the distance back to it, range-checked as two 16-bit halves.
fn consume_items<F: PrimeField32>(
    row: &mut CpuCols<F>,
    ts_old: &[u32; MAX_POPS],
    pops: usize,
    step: usize,
    u16_rc: &mut RangeCounts,
) {
    for (k, &ts) in ts_old.iter().enumerate().take(pops) {
        row.consume[k] = F::ONE;
        row.ts_old[k] = F::from_u32(ts);
        let d = step as u32 - 1 - ts;
        row.tsd_lo[k] = F::from_u32(d & 0xffff);
        row.tsd_hi[k] = F::from_u32(d >> 16);
        u16_rc.add(d & 0xffff);
        u16_rc.add((d >> 16) * 4);
    }
}

/// The CPU rows of steps `range` and their public values, padded to `height` rows (a power of
/// two, at least one row per step). `mem_dead`: per context ending in the shard, the memory
/// rows that look its end up.
pub fn generate<F: PrimeField32>(
    trace: &SubblockTrace,
    an: &SubblockAnalysis,
    range: core::ops::Range<usize>,
    height: usize,
    mem_chunks: &HashMap<usize, u32>,
    mem_dead: &HashMap<u32, u32>,
    u16_rc: &mut RangeCounts,
) -> (RowMajorMatrix<F>, CpuPublic<F>, CpuCounts) {
    let rows = range.len();
    debug_assert!(height.is_power_of_two() && height >= rows);
    let mut values = F::zero_vec(height * NUM_CPU_COLS);
    let mut counts = CpuCounts {
        opcodes: [0; 256],
        exec: HashMap::new(),
        dest: HashMap::new(),
    };
    let mut public = CpuPublic::<F>::default();
    let f = F::from_u32;
    for (r, i) in range.clone().enumerate() {
        let s = &trace.steps[i];
        let a = &an.aux[i];
        let p = props_of(s.opcode);
        let ok = s.status == STEP_OK;
        let row: &mut CpuCols<F> = values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut();
        row.is_real = F::ONE;
        row.exc = F::from_bool(!ok);
        row.step = f(i as u32);
        row.pc = f(s.pc);
        row.code_id = f(a.code_id);
        row.ctx = f(a.ctx);
        row.prev_ctx = f(if i > 0 { an.aux[i - 1].ctx } else { 0 });
        row.callee = f(a.callee);
        row.sp = f(s.stack_len as u32);
        // Negative after an exceptional underflow; only successful steps use it.
        let sp_next = F::from_u32(s.stack_len as u32 + p.pushes) - f(p.pops);
        row.sp_next = sp_next;
        row.gas = f(s.gas_before as u32);
        // An exceptional halt leaves its context no gas (whatever the interpreter still held).
        let gas_after = if ok { s.gas_after } else { 0 };
        row.gas_after = f(gas_after as u32);
        let (ga_lo, ga_hi) = ((gas_after & 0xffff) as u32, (gas_after >> 16) as u32);
        row.ga_lo = f(ga_lo);
        row.ga_hi = f(ga_hi);
        u16_rc.add(ga_lo);
        u16_rc.add(ga_hi * 4);
        row.cont = F::from_bool(a.cont);
        let prev_cont = i > 0 && an.aux[i - 1].cont;
        let start = r == 0 || !prev_cont;
        row.start = F::from_bool(start);
        row.fresh = F::from_bool(a.fresh);
        let resume = start && !a.fresh && !(r == 0 && prev_cont);
        row.resume = F::from_bool(resume);
        row.nctx = f(a.nctx);
        row.suspend = F::from_bool(a.suspend);
        if !a.cont && !a.suspend {
            row.ended = f(mem_dead.get(&a.ctx).copied().unwrap_or(0));
        }
        row.callee_ok = F::from_bool(a.callee_ok);
        row.resumed_ok = F::from_bool(resume && a.resumed_ok);
        row.ncalls = f(a.ncalls);
        row.op = p.map(f);
        counts.opcodes[s.opcode as usize] += 1;
        *counts.exec.entry((a.code_id, s.pc)).or_insert(0) += 1;

        let (mut inp, mut out) = step_words(trace, i);
        if p.is_pushn == 1 {
            // A failed PUSH recorded no result; the lookup still needs the immediate.
            if !ok {
                let code = &trace.codes[a.code_id as usize].1;
                out = push_immediate(code, s.pc as usize, p.imm_size as usize);
            }
        }
        let bad_jump = match a.halt {
            Some(HaltKind::BadJump(d)) => Some(d),
            _ => None,
        };
        if !ok && bad_jump.is_none() {
            inp = [Word::default(); MAX_POPS];
        }
        if let Some(kind) = a.halt {
            let h = &mut row.halt;
            let sp = s.stack_len as u32;
            match kind {
                HaltKind::StackUnderflow => {
                    h.underflow = F::ONE;
                    u16_rc.add(p.pops - 1 - sp);
                }
                HaltKind::StackOverflow => {
                    h.overflow = F::ONE;
                    u16_rc.add(sp - p.pops + p.pushes - (STACK_LIMIT + 1));
                }
                HaltKind::OutOfGas => {
                    h.out_of_gas = F::ONE;
                    let g = s.gas_before as u32;
                    u16_rc.add(g);
                    u16_rc.add(p.static_gas - 1 - g);
                }
                HaltKind::Invalid | HaltKind::Other => h.other = F::ONE,
                HaltKind::BadJump(d) => {
                    let t = limbs(&inp[0]);
                    match d {
                        BadJumpDest::NotJumpdest => {
                            h.dest_not_jumpdest = F::ONE;
                            *counts.dest.entry((a.code_id, t[0] as u32)).or_insert(0) += 1;
                        }
                        BadJumpDest::PastCode => {
                            h.dest_past_code = F::ONE;
                            let last =
                                (trace.codes[a.code_id as usize].1.len() + CODE_PADDING - 1) as u32;
                            h.code_last = f(last);
                            u16_rc.add(t[0] as u32 - last);
                            *counts.dest.entry((a.code_id, last)).or_insert(0) += 1;
                        }
                        BadJumpDest::Far => {
                            h.dest_far = F::ONE;
                            let high: u32 = t[1..].iter().map(|&x| x as u32).sum();
                            h.dest_high_inv = f(high).inverse();
                        }
                    }
                    consume_items(row, &a.ts_old, p.mem_pops as usize, i, u16_rc);
                }
            }
        }
        // Jump target and condition.
        let target_word = limbs(&inp[0]);
        let cond: u64 = limbs(&inp[1]).iter().map(|&x| x as u64).sum();
        let cond_nz = p.is_jumpi == 1 && cond != 0;
        let jump = p.is_jump == 1 || cond_nz;
        row.cond_nz = F::from_bool(cond_nz);
        if p.is_jumpi == 1 && cond != 0 {
            row.cond_inv = F::from_u64(cond).inverse();
        }
        // BLOBHASH (the call-context read that consumes an item): keyed by its index's low limb;
        // an index at or above 2^16 is flagged in JUMPI's columns (see the AIR).
        let blobhash = p.is_ctx_read * p.pops;
        row.ctx_seq = f(a.ncalls * p.is_returndatasize + blobhash * target_word[0] as u32);
        let index_high: u64 = target_word[1..].iter().map(|&x| x as u64).sum();
        if blobhash == 1 && index_high != 0 {
            row.cond_nz = F::ONE;
            row.cond_inv = F::from_u64(index_high).inverse();
        }
        row.jump = F::from_bool(jump);
        let npc = if jump {
            target_word[0] as u32 | (target_word[1] as u32) << 16
        } else {
            s.pc + 1 + p.imm_size
        };
        row.npc = f(npc);
        for (k, w) in inp.iter().enumerate() {
            for (c, v) in row.inp[k].iter_mut().zip(limbs(w)) {
                *c = F::from_u16(v);
            }
        }
        let out_l = limbs(&out);
        for (c, &v) in row.out.iter_mut().zip(&out_l) {
            *c = F::from_u16(v);
        }
        if ok {
            u16_rc.add(s.stack_len as u32 - p.pops);
            u16_rc.add(STACK_LIMIT - sp_next.as_canonical_u32());
            consume_items(row, &a.ts_old, p.mem_pops as usize, i, u16_rc);
            row.w_out = F::from_bool(p.mem_push == 1);
            row.w_dup = F::from_bool(p.is_dup == 1);
            row.w_swap = F::from_bool(p.is_swap == 1);
            row.w_alu = F::from_bool(p.is_alu == 1);
            if p.mem_push == 1 {
                for &v in &out_l {
                    u16_rc.add(v as u32);
                }
            }
        }
        row.mw = f(a.mw);
        row.mw_next = f(a.mw_next);
        if ok && p.mem_grow == 1 {
            let d = a.mw_next - a.mw;
            row.mwg_lo = f(d & 0xffff);
            row.mwg_hi = f(d >> 16);
            u16_rc.add(d & 0xffff);
            u16_rc.add((d >> 16) * 4);
        }
        // A trusted memory write's area (the memory rows checked it fits 2^29 bytes).
        if let Some((d, l)) = opcodes::trusted_write_area(s.opcode).filter(|_| ok) {
            row.wr = F::ONE;
            let (dst, len) = (limbs(&inp[d]), limbs(&inp[l]));
            let sum: u64 = len.iter().map(|&x| x as u64).sum();
            if sum != 0 {
                row.wr_nz = F::ONE;
                row.wr_inv = F::from_u64(sum).inverse();
                let start = dst[0] as u32 | (dst[1] as u32) << 16;
                row.wr_start = f(start);
                row.wr_end = f(start + (len[0] as u32 | (len[1] as u32) << 16));
                u16_rc.add(dst[1] as u32 * 8);
                u16_rc.add(len[1] as u32 * 8);
                row.wr_mult = f(mem_chunks.get(&i).copied().unwrap_or(0));
            }
        }
        if r == 0 {
            public.first_step = f(i as u32);
            public.first_pc = f(s.pc);
            public.first_gas = f(s.gas_before as u32);
            public.first_sp = f(s.stack_len as u32);
            public.first_ctx = f(a.ctx);
            public.first_code = f(a.code_id);
            public.first_nctx = f(a.nctx);
            public.first_entry = f((!a.fresh && !resume) as u32);
            public.first_opcode = f(s.opcode as u32);
            public.first_ncalls = f(a.ncalls);
            public.first_mw = f(a.mw);
        }
        if r + 1 == rows {
            public.last_step = f(i as u32);
            public.last_npc = f(npc);
            public.last_gas_after = f(gas_after as u32);
            public.last_sp_next = sp_next;
            public.last_ctx = f(a.ctx);
            public.last_code = f(a.code_id);
            public.last_nctx = f(a.nctx + a.fresh as u32);
            public.last_cont = f(a.cont as u32);
            public.last_jump = f(jump as u32);
            public.last_is_call = f(p.is_call);
            public.last_ncalls_next = f(a.ncalls + p.is_call);
            public.last_mw_next = f(a.mw_next);
        }
    }
    // Padding rows are zero except for the value `npc` takes there.
    for r in rows..height {
        let row: &mut CpuCols<F> = values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut();
        row.npc = F::ONE;
    }
    (RowMajorMatrix::new(values, NUM_CPU_COLS), public, counts)
}
