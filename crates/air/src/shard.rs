//! Shards: a subblock's steps cut into contiguous ranges of at most `max_rows` steps, each
//! turned into one trace per chip (chips generated in parallel, shards in parallel).
//!
//! ## Chaining
//!
//! A shard's CPU public values ([`CpuPublic`]) give its first and last step. Consecutive shards
//! `k`, `k + 1` of a subblock chain when ([`chains`]): `first_step(k+1) = last_step(k) + 1`,
//! `first_nctx(k+1) = last_nctx(k)`, and if `last_cont(k)` (the first step of shard `k + 1`
//! continues the last context of shard `k`): `first_entry(k+1) = 1` and its pc, stack height,
//! context and code are the last step's `npc`, `sp_next`, context and code, its gas the last
//! step's `gas_after` unless that step is a call, and it is a JUMPDEST if the last step jumped;
//! otherwise `first_entry(k+1) = 0`. The first shard of a subblock starts at step 0 with
//! `allow_init = 0` (no stack or resume tokens carried in), the last ends at the last step with
//! `allow_suspended = 0` (every call returned) ([`subblock_ends`]).
//!
//! Shards are cut between segments (transactions, system calls) where possible
//! ([`plan_shards`]); such a shard carries nothing in or out (`allow_init = allow_suspended =
//! 0`), so every stack read in it is constrained to a push in it. Only a segment longer than a
//! shard is cut inside; the stack items and suspended calls carried across that cut (`allow_init
//! = 1` on the later shard) are committed by both shards' carry tables, and consecutive shards
//! must agree ([`carries_on`]; the subblock's ends carry nothing, [`subblock_ends`]).

use core::ops::Range;
use std::collections::BTreeMap;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;
use slotproof_executor::trace::{STEP_OK, SegmentRecord, SubblockOutline, SubblockTrace};

use crate::chips::alu::trace::AluOp;
use crate::chips::bytecode::trace::CodeUse;
use crate::chips::call_context::trace::CallContextReads;
use crate::chips::calldata::trace::CalldataRows;
use crate::chips::carry::{self, CarryField, TokenKind};
use crate::chips::cpu::trace::{Analyzer, SubblockAnalysis, analyze, step_words};
use crate::chips::memory::trace::MemoryRows;
use crate::chips::muldiv::trace::MulDivRows;
use crate::chips::natural_log_height;
use crate::chips::opcode_table::props_of;
use crate::chips::push_immediate::trace::PushSites;
use crate::chips::range::trace::RangeCounts;
use crate::chips::stack_boundary::trace::{ResumeToken, StackToken};
use crate::chips::{
    alu, bitwise, bytecode, call_context, calldata, cpu, memory, muldiv, opcode_table,
    push_immediate, range, stack_boundary,
};
use crate::{CpuPublic, EvmAir, TraceError};

/// One shard: the AIRs, their traces and public values, in the order of [`EvmAir::shard_airs`].
#[derive(Clone, Debug)]
pub struct Shard<F> {
    pub airs: Vec<EvmAir>,
    pub traces: Vec<RowMajorMatrix<F>>,
    pub public_values: Vec<Vec<F>>,
    /// The subblock steps this shard proves.
    pub steps: Range<usize>,
    pub cpu_public: CpuPublic<F>,
    /// The shape of the menu its tables are padded to ([`crate::shape::SHARD_SHAPES`]), if
    /// their heights are one.
    pub shape: Option<usize>,
    /// Every table's natural log height (its rows padded to a power of two, at least 4), what
    /// its traces would be without a shape.
    pub natural_log_heights: [usize; NUM_INSTANCES],
}

/// Instance index of each chip in a shard.
pub const CPU: usize = 0;
pub const BYTECODE: usize = 1;
pub const OPCODE_TABLE: usize = 2;
pub const ALU: usize = 3;
pub const BITWISE: usize = 4;
pub const BOUNDARY: usize = 5;
pub const RANGE_U8: usize = 6;
pub const RANGE_U16: usize = 7;
pub const MULDIV: usize = 8;
pub const CALL_CONTEXT: usize = 9;
pub const MEMORY: usize = 10;
pub const CALLDATA: usize = 11;
pub const CARRY: usize = 12;
pub const PUSH_IMMEDIATE: usize = 13;
/// Tables (instances) of a shard.
pub const NUM_INSTANCES: usize = 14;

/// Field elements of the block binding: block number, gas used and transaction count (4 x 16-bit
/// limbs each), block hash, parent state root and state root (16 x 16-bit limbs each),
/// little-endian limbs.
pub const BLOCK_BINDING_LEN: usize = 3 * 4 + 3 * 16;

/// Field elements of the subblock binding: index, EVM steps, gas before and after, first
/// transaction and transaction count (4 limbs each), then the digest of the subblock's state
/// boundary (16 limbs).
pub const SUBBLOCK_BINDING_LEN: usize = 6 * 4 + 16;

/// Field elements of a shard's binding (the opcode-table chip's public values): the block
/// binding followed by the binding of the shard's subblock.
pub const SHARD_BINDING_LEN: usize = BLOCK_BINDING_LEN + SUBBLOCK_BINDING_LEN;

/// The block's claim a shard is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockClaim {
    pub number: u64,
    pub gas_used: u64,
    pub transactions: u64,
    pub block_hash: [u8; 32],
    pub parent_state_root: [u8; 32],
    pub state_root: [u8; 32],
}

/// The subblock's claim a shard is bound to. `boundary_digest` is a hash of the subblock's
/// state boundary (what it read and wrote), computed by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubblockClaim {
    pub index: u64,
    pub steps: u64,
    pub gas_start: u64,
    pub gas_end: u64,
    pub first_tx: u64,
    pub tx_count: u64,
    pub boundary_digest: [u8; 32],
}

fn push_u64<F: PrimeField32>(v: &mut Vec<F>, x: u64) {
    v.extend((0..4).map(|i| F::from_u32(((x >> (16 * i)) & 0xffff) as u32)));
}

fn push_word<F: PrimeField32>(v: &mut Vec<F>, h: &[u8; 32]) {
    // Big-endian bytes -> 16 little-endian 16-bit limbs.
    v.extend((0..16).map(|i| {
        let j = 30 - 2 * i;
        F::from_u32(u32::from(h[j]) << 8 | u32::from(h[j + 1]))
    }));
}

/// The block public values a shard proof is bound to ([`BLOCK_BINDING_LEN`] elements).
pub fn block_binding<F: PrimeField32>(block: &BlockClaim) -> Vec<F> {
    let mut v = Vec::with_capacity(BLOCK_BINDING_LEN);
    for x in [block.number, block.gas_used, block.transactions] {
        push_u64(&mut v, x);
    }
    for h in [
        &block.block_hash,
        &block.parent_state_root,
        &block.state_root,
    ] {
        push_word(&mut v, h);
    }
    v
}

/// The subblock public values a shard proof is bound to ([`SUBBLOCK_BINDING_LEN`] elements).
pub fn subblock_binding<F: PrimeField32>(sub: &SubblockClaim) -> Vec<F> {
    let mut v = Vec::with_capacity(SUBBLOCK_BINDING_LEN);
    for x in [
        sub.index,
        sub.steps,
        sub.gas_start,
        sub.gas_end,
        sub.first_tx,
        sub.tx_count,
    ] {
        push_u64(&mut v, x);
    }
    push_word(&mut v, &sub.boundary_digest);
    v
}

/// A shard's binding: the public values of its opcode-table chip. The AIR does not derive them
/// from the execution; the Fiat-Shamir transcript observes them, so a shard proof verifies only
/// for the block and subblock claims it was made for and cannot be moved to another block, to
/// another subblock, or kept while the claim is edited.
pub fn shard_binding<F: PrimeField32>(block: &BlockClaim, sub: &SubblockClaim) -> Vec<F> {
    let mut v = block_binding(block);
    v.extend(subblock_binding::<F>(sub));
    v
}

impl<F: Clone> Shard<F> {
    /// Binds this shard to its block and subblock (see [`shard_binding`]): the first
    /// [`SHARD_BINDING_LEN`] public values of the opcode table (the block context follows,
    /// [`crate::block_context`]).
    pub fn bind(&mut self, binding: Vec<F>) {
        let pv = &mut self.public_values[OPCODE_TABLE];
        let n = SHARD_BINDING_LEN.min(pv.len());
        pv.splice(..n, binding);
    }
}

/// Split a subblock into shards of at most `max_rows` steps and generate their traces.
///
/// Shards are cut between segments (transactions and system calls) wherever that fits
/// ([`plan_shards`]), so that no stack item or suspended call is carried from one shard to the
/// next: such shards have `allow_init = allow_suspended = 0` and the AIR then constrains every
/// stack read to a push in the same shard. Only a segment longer than `max_rows` is cut inside.
pub fn generate_shards<F: CarryField>(
    trace: &SubblockTrace,
    max_rows: usize,
) -> Result<Vec<Shard<F>>, TraceError> {
    let ranges = plan_shards(trace, max_rows)?;
    generate_shards_in(trace, ranges)
}

/// The step ranges [`generate_shards`] proves: greedily, each shard ends at the last segment
/// start that keeps it within `max_rows` steps, or after `max_rows` steps when no segment
/// starts in that window.
pub fn plan_shards(
    trace: &SubblockTrace,
    max_rows: usize,
) -> Result<Vec<Range<usize>>, TraceError> {
    plan_shards_in(trace, 0..trace.steps.len(), max_rows)
}

/// [`plan_shards`] over the steps `within` only (a contiguous part of the subblock, e.g. one
/// shard re-cut into smaller ones): ranges covering `within`, cut the same way.
pub fn plan_shards_in(
    trace: &SubblockTrace,
    within: Range<usize>,
    max_rows: usize,
) -> Result<Vec<Range<usize>>, TraceError> {
    plan_shards_of(trace.steps.len(), &trace.segments, within, max_rows)
}

/// [`plan_shards_in`] of a subblock of `n` steps and these segments (its trace's, or its
/// outline's before the trace is recorded: the same ranges).
pub fn plan_shards_of(
    n: usize,
    segments: &[SegmentRecord],
    within: Range<usize>,
    max_rows: usize,
) -> Result<Vec<Range<usize>>, TraceError> {
    if max_rows == 0 {
        return Err(TraceError::ZeroMaxRows);
    }
    if n == 0 {
        return Err(TraceError::Empty);
    }
    if within.start >= within.end || within.end > n {
        return Err(TraceError::BadShardRanges { steps: n });
    }
    // Clean cut points: where a segment starts (a fresh top-level context, empty stack).
    let mut cuts: Vec<usize> = segments
        .iter()
        .map(|s| s.first_step as usize)
        .filter(|&c| c > within.start && c < within.end)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut ranges = Vec::new();
    let mut start = within.start;
    while start < within.end {
        let limit = (start + max_rows).min(within.end);
        let end = if limit == within.end {
            within.end
        } else {
            // The last cut in (start, limit]; `partition_point` gives the first cut > limit.
            let i = cuts.partition_point(|&c| c <= limit);
            match cuts[..i].last() {
                Some(&c) if c > start => c,
                _ => limit,
            }
        };
        ranges.push(start..end);
        start = end;
    }
    Ok(ranges)
}

/// Shards of exactly `max_rows` steps (the last one shorter), cut wherever that falls — inside
/// calls too. For tests of the carried-state machinery; [`generate_shards`] avoids such cuts.
pub fn fixed_ranges(n: usize, max_rows: usize) -> Vec<Range<usize>> {
    let rows = max_rows.max(1);
    (0..n).step_by(rows).map(|s| s..(s + rows).min(n)).collect()
}

/// Generate the shards of the given contiguous step ranges, which must cover the subblock from
/// its first step to its last.
pub fn generate_shards_in<F: CarryField>(
    trace: &SubblockTrace,
    ranges: Vec<Range<usize>>,
) -> Result<Vec<Shard<F>>, TraceError> {
    generate_shards_in_padded(trace, ranges, &Padding::Natural)
}

/// [`generate_shards_in`] with the tables padded as `padding` says; the error is the first
/// shard's (in order) whose tables do not fit.
pub fn generate_shards_in_padded<F: CarryField>(
    trace: &SubblockTrace,
    ranges: Vec<Range<usize>>,
    padding: &Padding,
) -> Result<Vec<Shard<F>>, TraceError> {
    // One analysis, then every shard at once (in parallel).
    let boundaries = DetachedShardStream::boundaries(trace.steps.len(), &ranges)?;
    let analysis = analyze(trace, &boundaries)?;
    ranges
        .into_par_iter()
        .map(|r| generate_shard_padded(trace, &analysis, r, padding))
        .collect()
}

/// A subblock's shards generated one at a time, so that only the shards in flight are in
/// memory (not all of a subblock's at once, as [`generate_shards_in`] returns them). Each shard
/// is exactly the one [`generate_shards_in`] makes of the same ranges: what a shard holds depends
/// on the tokens alive at its own first and last step only, not on where other shards are cut.
///
/// Made with [`ShardStream::new`] it analyses the whole subblock first; made with
/// [`ShardStream::incremental`] it analyses the subblock shard by shard as they are generated
/// (in order, [`ShardStream::next_padded`]) and holds only the current shard's analysis, which
/// bounds the analysis' memory by a shard instead of the subblock. The shards are the same.
/// It is a [`DetachedShardStream`] that keeps its trace.
pub struct ShardStream<'a> {
    trace: &'a SubblockTrace,
    inner: DetachedShardStream,
}

impl<'a> ShardStream<'a> {
    /// Analyses `trace` for shards of `ranges` (non-empty, contiguous, covering the subblock).
    pub fn new(trace: &'a SubblockTrace, ranges: &[Range<usize>]) -> Result<Self, TraceError> {
        let inner = DetachedShardStream::new(trace, ranges)?;
        Ok(Self { trace, inner })
    }

    /// A stream for shards of `ranges` that analyses each shard when it is generated: the
    /// shards must then be generated in order with [`Self::next_padded`].
    pub fn incremental(
        trace: &'a SubblockTrace,
        ranges: &[Range<usize>],
    ) -> Result<Self, TraceError> {
        let inner = DetachedShardStream::incremental(trace, ranges)?;
        Ok(Self { trace, inner })
    }

    /// [`Self::incremental`] with the analysis' look-ahead from `outline`, the subblock's
    /// outline from an untraced run ([`Analyzer::with_outline`], issue 18: no pass over the
    /// whole trace first). The same shards.
    pub fn incremental_outlined(
        trace: &'a SubblockTrace,
        outline: &SubblockOutline,
        ranges: &[Range<usize>],
    ) -> Result<Self, TraceError> {
        if trace.steps.len() != outline.steps {
            return Err(TraceError::Inconsistent {
                step: trace.steps.len().min(outline.steps),
                what: "a trace of another length than its subblock's outline",
            });
        }
        let inner = DetachedShardStream::incremental_outlined(outline, ranges)?;
        Ok(Self { trace, inner })
    }

    /// Cuts the shard `within` (one of the ranges) again into `parts`. A whole stream analyses
    /// the subblock again with their boundaries added (a full pass; only shards too large for a
    /// device's memory or the menu are re-cut); an incremental one goes back to the start of
    /// `within`, which must be the shard it generated last.
    pub fn recut(
        &mut self,
        within: Range<usize>,
        parts: &[Range<usize>],
    ) -> Result<(), TraceError> {
        self.inner.recut(self.trace, within, parts)
    }

    /// The shard of `range`, which must start and end at boundaries of this stream.
    pub fn generate<F: CarryField>(&self, range: Range<usize>) -> Result<Shard<F>, TraceError> {
        self.generate_padded(range, &Padding::Natural)
    }

    /// [`Self::generate`] with the tables padded as `padding` says. An incremental stream
    /// generates only the shard it analysed last ([`Self::next_padded`]).
    pub fn generate_padded<F: CarryField>(
        &self,
        range: Range<usize>,
        padding: &Padding,
    ) -> Result<Shard<F>, TraceError> {
        self.inner.generate_padded(self.trace, range, padding)
    }

    /// The next shard in proof order, `range` (starting where the last one generated ended, or
    /// at the start of a shard just re-cut): an incremental stream first releases the analysis
    /// of the shards before it and analyses its steps.
    pub fn next_padded<F: CarryField>(
        &mut self,
        range: Range<usize>,
        padding: &Padding,
    ) -> Result<Shard<F>, TraceError> {
        self.inner.next_padded(self.trace, range, padding)
    }
}

/// [`ShardStream`] without its trace: every call that reads steps is handed the subblock's
/// trace, which may grow between calls (chunks appended as they are recorded, issue 18), so
/// that shards can be generated while the subblock is still being recorded. A call needs the
/// trace to hold the steps it reads and the next one, where the subblock has one (the
/// analysis' look-ahead): [`Self::next_padded`] of `range` needs the steps up to `range.end`
/// included, or the whole subblock. The same shards as [`ShardStream`].
pub struct DetachedShardStream {
    /// The subblock's steps.
    steps: usize,
    /// Every shard start and the subblock's end, sorted.
    boundaries: Vec<usize>,
    analysis: StreamAnalysis,
}

/// The whole subblock's analysis, or a pass that follows the shards.
enum StreamAnalysis {
    Whole(SubblockAnalysis),
    Incremental(Box<Analyzer>),
}

impl DetachedShardStream {
    /// [`ShardStream::new`]: `trace` must be the whole subblock's.
    pub fn new(trace: &SubblockTrace, ranges: &[Range<usize>]) -> Result<Self, TraceError> {
        let boundaries = Self::boundaries(trace.steps.len(), ranges)?;
        let analysis = StreamAnalysis::Whole(analyze(trace, &boundaries)?);
        Ok(Self {
            steps: trace.steps.len(),
            boundaries,
            analysis,
        })
    }

    /// [`ShardStream::incremental`]: `trace` must be the whole subblock's (its contexts'
    /// look-ahead is read from it).
    pub fn incremental(trace: &SubblockTrace, ranges: &[Range<usize>]) -> Result<Self, TraceError> {
        let boundaries = Self::boundaries(trace.steps.len(), ranges)?;
        let analyzer = Analyzer::new(trace, &boundaries)?;
        Ok(Self {
            steps: trace.steps.len(),
            boundaries,
            analysis: StreamAnalysis::Incremental(Box::new(analyzer)),
        })
    }

    /// [`ShardStream::incremental_outlined`], before any of the trace exists: the subblock's
    /// length and look-ahead are its outline's.
    pub fn incremental_outlined(
        outline: &SubblockOutline,
        ranges: &[Range<usize>],
    ) -> Result<Self, TraceError> {
        let boundaries = Self::boundaries(outline.steps, ranges)?;
        let analyzer = Analyzer::with_outline(outline, &boundaries)?;
        Ok(Self {
            steps: outline.steps,
            boundaries,
            analysis: StreamAnalysis::Incremental(Box::new(analyzer)),
        })
    }

    /// The shard starts and the subblock's end, if `ranges` are non-empty, contiguous and cover
    /// the subblock's `n` steps.
    fn boundaries(n: usize, ranges: &[Range<usize>]) -> Result<Vec<usize>, TraceError> {
        if n == 0 {
            return Err(TraceError::Empty);
        }
        let contiguous = ranges.first().is_some_and(|r| r.start == 0)
            && ranges.last().is_some_and(|r| r.end == n)
            && ranges.iter().all(|r| r.start < r.end)
            && ranges.windows(2).all(|w| w[0].end == w[1].start);
        if !contiguous {
            return Err(TraceError::BadShardRanges { steps: n });
        }
        let mut boundaries: Vec<usize> = ranges.iter().map(|r| r.start).collect();
        boundaries.push(n);
        Ok(boundaries)
    }

    /// The subblock's steps.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Whether `trace` holds what generating (or re-analysing) `range` reads: its steps and the
    /// next one, or the whole subblock, and no more than the subblock.
    fn holds(&self, trace: &SubblockTrace, range: &Range<usize>) -> bool {
        let n = trace.steps.len();
        n <= self.steps && (n == self.steps || n > range.end)
    }

    /// [`ShardStream::recut`].
    pub fn recut(
        &mut self,
        trace: &SubblockTrace,
        within: Range<usize>,
        parts: &[Range<usize>],
    ) -> Result<(), TraceError> {
        let n = self.steps;
        let covers = parts.first().is_some_and(|r| r.start == within.start)
            && parts.last().is_some_and(|r| r.end == within.end)
            && parts.iter().all(|r| r.start < r.end)
            && parts.windows(2).all(|w| w[0].end == w[1].start);
        if !covers || !self.is_shard(&within) || !self.holds(trace, &within) {
            return Err(TraceError::BadShardRanges { steps: n });
        }
        self.boundaries.extend(parts.iter().map(|r| r.start));
        self.boundaries.sort_unstable();
        self.boundaries.dedup();
        match &mut self.analysis {
            StreamAnalysis::Whole(an) => *an = analyze(trace, &self.boundaries)?,
            StreamAnalysis::Incremental(a) => {
                if !a.rewind(within.start) {
                    return Err(TraceError::BadShardRanges { steps: n });
                }
                a.add_boundaries(parts.iter().map(|r| r.start));
            }
        }
        Ok(())
    }

    fn is_shard(&self, range: &Range<usize>) -> bool {
        range.start < range.end
            && self.boundaries.binary_search(&range.start).is_ok()
            && self.boundaries.binary_search(&range.end).is_ok()
    }

    /// [`ShardStream::generate_padded`].
    pub fn generate_padded<F: CarryField>(
        &self,
        trace: &SubblockTrace,
        range: Range<usize>,
        padding: &Padding,
    ) -> Result<Shard<F>, TraceError> {
        let bad = TraceError::BadShardRanges { steps: self.steps };
        if !self.is_shard(&range) || !self.holds(trace, &range) {
            return Err(bad);
        }
        let an = match &self.analysis {
            StreamAnalysis::Whole(an) => an,
            StreamAnalysis::Incremental(a) => {
                let an = a.analysis();
                let held = an.aux.steps();
                // The shard's steps and the one before it (its first row reads that step's).
                let needs = range.start.saturating_sub(1)..range.end;
                if held.start > needs.start
                    || held.end < needs.end
                    || !an.alive_stack.contains_key(&range.end)
                {
                    return Err(bad);
                }
                an
            }
        };
        generate_shard_padded_of(trace, self.steps, an, range, padding)
    }

    /// [`ShardStream::next_padded`].
    pub fn next_padded<F: CarryField>(
        &mut self,
        trace: &SubblockTrace,
        range: Range<usize>,
        padding: &Padding,
    ) -> Result<Shard<F>, TraceError> {
        let is_shard = self.is_shard(&range) && self.holds(trace, &range);
        if let StreamAnalysis::Incremental(a) = &mut self.analysis {
            if a.position() != range.start || !is_shard {
                return Err(TraceError::BadShardRanges { steps: self.steps });
            }
            a.release_before(range.start.saturating_sub(1));
            a.checkpoint();
            a.advance_to(trace, range.end)?;
        }
        self.generate_padded(trace, range, padding)
    }
}

/// Generate one shard (`range` must start and end at boundaries given to [`analyze`]) with
/// every table at its natural height.
pub fn generate_shard<F: CarryField>(
    trace: &SubblockTrace,
    an: &SubblockAnalysis,
    range: Range<usize>,
) -> Result<Shard<F>, TraceError> {
    generate_shard_padded(trace, an, range, &Padding::Natural)
}

/// How a shard's tables are padded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Every table to its natural height (the next power of two of its rows, at least 4).
    Natural,
    /// Every table to the height of the smallest shape of the menu that fits the shard
    /// ([`crate::shape::SHARD_SHAPES`]); a shard that fits none is [`TraceError::NoShapeFits`].
    Menu,
    /// Every table to these log heights (each at least the table's natural one, else
    /// [`TraceError::BelowNatural`]).
    LogHeights([usize; NUM_INSTANCES]),
}

/// What a shard's tables are built from, gathered before any is generated, so that their heights
/// are known first.
struct ShardInputs<'t> {
    alu_ops: Vec<AluOp>,
    /// Block-context lookups per opcode-table row.
    ctx_counts: [u32; 256],
    ctx_reads: CallContextReads,
    codes: BTreeMap<u32, CodeUse<'t>>,
    pushes: PushSites,
    stack_fin: Vec<StackToken>,
    /// The last `stack_out` of `stack_fin` are alive at the shard's end and carried out.
    stack_out: usize,
    memory: MemoryRows,
    calldata: CalldataRows,
}

/// Generate one shard, its tables padded as `padding` says; the error names the table that does
/// not fit. The tables' natural heights are computed first, without generating any of them.
pub fn generate_shard_padded<F: CarryField>(
    trace: &SubblockTrace,
    an: &SubblockAnalysis,
    range: Range<usize>,
    padding: &Padding,
) -> Result<Shard<F>, TraceError> {
    generate_shard_padded_of(trace, trace.steps.len(), an, range, padding)
}

/// [`generate_shard_padded`] of a subblock of `steps` steps whose trace may hold only some of
/// them (being recorded): those of `range`, and the next one where there is one.
fn generate_shard_padded_of<F: CarryField>(
    trace: &SubblockTrace,
    steps: usize,
    an: &SubblockAnalysis,
    range: Range<usize>,
    padding: &Padding,
) -> Result<Shard<F>, TraceError> {
    let ctx_public = crate::block_context::public_values::<F>(&trace.block_context)?;
    // Steps the CPU sends on the ALU bus, split between the ALU and multiplication chips.
    let (muldiv_ops, alu_ops): (Vec<AluOp>, Vec<AluOp>) = range
        .clone()
        .filter(|&i| {
            let s = &trace.steps[i];
            s.status == STEP_OK && props_of(s.opcode).is_alu == 1
        })
        .map(|i| {
            let (inp, out) = step_words(trace, i);
            AluOp {
                opcode: trace.steps[i].opcode,
                a: inp[0],
                b: inp[1],
                n: inp[2],
                c: out,
            }
        })
        .partition(|op| crate::opcodes::MULDIV_OPCODES.contains(&op.opcode));

    // Successful call-context reads: the value each (context, opcode, seq) pushes first.
    let mut ctx_reads = CallContextReads::default();
    for i in range.clone() {
        let s = &trace.steps[i];
        if s.status == STEP_OK && props_of(s.opcode).is_ctx_read == 1 {
            let (inp, out) = step_words(trace, i);
            let out = crate::word::limbs(&out);
            let seq = match s.opcode {
                crate::opcodes::RETURNDATASIZE => an.aux[i].ncalls,
                crate::opcodes::BLOBHASH => {
                    let index = crate::word::limbs(&inp[0]);
                    if index[1..].iter().any(|&l| l != 0) {
                        // Past any transaction's blobs: zero, and no row (the CPU checks both).
                        if out.iter().any(|&l| l != 0) {
                            return Err(TraceError::BlobHashPastBound { step: i });
                        }
                        continue;
                    }
                    index[0] as u32
                }
                _ => 0,
            };
            ctx_reads.add(an.aux[i].ctx, s.opcode, seq, out);
        }
    }

    // Codes the shard executes, in id order (the CPU's lookups into them are added below),
    // and its PUSH1..32 sites (every PUSH step looks its immediate up, failed ones too).
    let mut codes: BTreeMap<u32, CodeUse<'_>> = BTreeMap::new();
    let mut pushes = PushSites::default();
    for i in range.clone() {
        let id = an.aux[i].code_id;
        codes
            .entry(id)
            .or_insert_with(|| CodeUse::new(id, &trace.codes[id as usize].1));
        let s = &trace.steps[i];
        pushes.add(id, s.pc, s.opcode);
    }

    let mut stack_fin: Vec<_> = an
        .discarded
        .iter()
        .filter(|(s, _)| range.contains(s))
        .map(|(_, t)| *t)
        .collect();
    // Items alive at the end go last: carried out, unless the shard ends its subblock (where
    // none is alive).
    let alive_out = &an.alive_stack[&range.end];
    let stack_out = if range.end < steps {
        alive_out.len()
    } else {
        0
    };
    stack_fin.extend_from_slice(alive_out);
    let memory = MemoryRows::of(trace, an, &range)?;
    // Calldata words, and their contexts' lengths as CALLDATASIZE entries (after the CPU's
    // reads, so a step pushing another value finds no entry of its own).
    let calldata = CalldataRows::of(trace, an, &range)?;
    for (ctx, len) in calldata.lengths() {
        let mut value = [0u16; crate::word::LIMBS];
        (value[0], value[1]) = (len as u16, (len >> 16) as u16);
        ctx_reads.add(ctx, crate::opcodes::CALLDATASIZE, 0, value);
    }
    let ctx_counts = crate::block_context::counts(trace, range.clone())?;
    let inputs = ShardInputs {
        alu_ops,
        ctx_counts,
        ctx_reads,
        codes,
        pushes,
        stack_fin,
        stack_out,
        memory,
        calldata,
    };
    let muldiv_rows = MulDivRows::of(&muldiv_ops);
    let natural = natural_log_heights(an, &range, &inputs, &muldiv_rows);
    let log_heights = match padding {
        Padding::Natural => natural,
        Padding::Menu => {
            let shape = crate::shape::smallest_fitting(&natural).ok_or_else(|| {
                let overflow = crate::shape::overflow(&natural)
                    .expect("a shard that fits no shape overflows the largest");
                TraceError::NoShapeFits {
                    steps: range.clone(),
                    table: overflow.table,
                    log_height: overflow.log_height,
                    largest: overflow.largest,
                    natural: Box::new(natural),
                }
            })?;
            crate::shape::SHARD_SHAPES[shape].log_heights
        }
        Padding::LogHeights(target) => {
            if let Some(t) = (0..NUM_INSTANCES).find(|&t| target[t] < natural[t]) {
                return Err(TraceError::BelowNatural {
                    table: EvmAir::shard_airs()[t].name(),
                    log_height: target[t],
                    natural: natural[t],
                });
            }
            if let Some(t) =
                (0..NUM_INSTANCES).find(|&t| FIXED_LOG_HEIGHTS[t].is_some_and(|h| h != target[t]))
            {
                return Err(TraceError::FixedHeight {
                    table: EvmAir::shard_airs()[t].name(),
                    log_height: target[t],
                });
            }
            *target
        }
    };
    let mut shard = fill_shard(trace, an, range, inputs, &muldiv_rows, &log_heights);
    shard.public_values[OPCODE_TABLE].extend(ctx_public);
    shard.shape = crate::shape::menu_index(&log_heights);
    shard.natural_log_heights = natural;
    Ok(shard)
}

/// Log heights of the tables whose size is fixed (the opcode table and the range tables), in
/// instance order; `None` for the tables that follow the shard.
pub const FIXED_LOG_HEIGHTS: [Option<usize>; NUM_INSTANCES] = [
    None,
    None,
    Some(8),
    None,
    None,
    None,
    Some(8),
    Some(16),
    None,
    None,
    None,
    None,
    None,
    None,
];

/// Rows of the carry table for one direction's tokens (one per chunk).
fn carry_rows(stack: &[StackToken], resume: &[ResumeToken]) -> usize {
    stack.len() * TokenKind::Stack.chunks() + resume.len() * TokenKind::Resume.chunks()
}

/// Every table's natural log height (its rows padded to a power of two, at least 4; the fixed
/// tables at their size).
fn natural_log_heights(
    an: &SubblockAnalysis,
    range: &Range<usize>,
    inputs: &ShardInputs<'_>,
    muldiv_rows: &MulDivRows<'_>,
) -> [usize; NUM_INSTANCES] {
    let stack_init = &an.alive_stack[&range.start];
    let resume_init = &an.alive_resume[&range.start];
    let resume_fin = &an.alive_resume[&range.end];
    let mut rows = [0usize; NUM_INSTANCES];
    rows[CPU] = range.len();
    rows[BYTECODE] = bytecode::trace::rows(inputs.codes.values());
    rows[ALU] = inputs.alu_ops.len();
    rows[BITWISE] = alu::trace::and_pairs_used(&inputs.alu_ops);
    rows[BOUNDARY] = stack_boundary::trace::rows(
        stack_init,
        &inputs.stack_fin,
        resume_init,
        resume_fin,
        inputs.memory.carried,
    );
    rows[MEMORY] = inputs.memory.len();
    rows[CALLDATA] = inputs.calldata.len();
    rows[MULDIV] = muldiv_rows.len();
    rows[CALL_CONTEXT] = inputs.ctx_reads.rows();
    rows[PUSH_IMMEDIATE] = inputs.pushes.rows();
    let carried_out_stack = &inputs.stack_fin[inputs.stack_fin.len() - inputs.stack_out..];
    let memory_words = inputs.memory.incoming.len() + inputs.memory.outgoing.len();
    rows[CARRY] = carry_rows(stack_init, resume_init)
        + carry_rows(carried_out_stack, resume_fin)
        + memory_words * TokenKind::Memory.chunks();
    let mut log = rows.map(natural_log_height);
    for (l, fixed) in log.iter_mut().zip(FIXED_LOG_HEIGHTS) {
        if let Some(h) = fixed {
            *l = h;
        }
    }
    log
}

/// The shard's tables at these log heights (each at least its natural one).
fn fill_shard<F: CarryField>(
    trace: &SubblockTrace,
    an: &SubblockAnalysis,
    range: Range<usize>,
    inputs: ShardInputs<'_>,
    muldiv_rows: &MulDivRows<'_>,
    log_heights: &[usize; NUM_INSTANCES],
) -> Shard<F> {
    let height = |t: usize| 1usize << log_heights[t];
    let ShardInputs {
        alu_ops,
        ctx_counts,
        ctx_reads,
        mut codes,
        pushes,
        stack_fin,
        stack_out,
        memory: mem_rows,
        calldata: cd_rows,
    } = inputs;
    let mut u16_rc = RangeCounts::new(16);
    let (cpu_trace, cpu_public, counts) = cpu::trace::generate::<F>(
        trace,
        an,
        range.clone(),
        height(CPU),
        &mem_rows.chunks,
        &mem_rows.dead,
        &mut u16_rc,
    );
    let stack_init = &an.alive_stack[&range.start];
    let resume_init = &an.alive_resume[&range.start];
    let resume_fin = &an.alive_resume[&range.end];
    // Carried words follow the boundary chip's tokens on the `carry` bus.
    let pos_base = [
        carry_rows(stack_init, resume_init),
        carry_rows(&stack_fin[stack_fin.len() - stack_out..], resume_fin),
    ];
    let memory_trace =
        memory::trace::generate::<F>(&mem_rows, height(MEMORY), pos_base, &mut u16_rc);
    let calldata_trace = calldata::trace::generate::<F>(&cd_rows, height(CALLDATA), &mut u16_rc);

    for (&(id, pc), &c) in &counts.exec {
        codes.get_mut(&id).expect("code of a step").exec[pc as usize] += c;
    }
    pushes.add_lookups(&mut codes);
    let push_trace = push_immediate::trace::generate::<F>(&pushes, &codes, height(PUSH_IMMEDIATE));
    for (&(id, pc), &c) in &counts.dest {
        codes.get_mut(&id).expect("code of a step").dest[pc as usize] += c;
    }
    let codes: Vec<CodeUse<'_>> = codes.into_values().collect();

    let ((bytecode_out, boundary_out), ((alu_trace, alu_counts), (muldiv_trace, muldiv_counts))) =
        rayon::join(
            || {
                rayon::join(
                    || {
                        let mut u16s = RangeCounts::new(16);
                        let (t, op_counts) =
                            bytecode::trace::generate::<F>(&codes, height(BYTECODE), &mut u16s);
                        (t, op_counts, u16s)
                    },
                    || {
                        let mut u16s = RangeCounts::new(16);
                        let t = stack_boundary::trace::generate::<F>(
                            stack_init,
                            &stack_fin,
                            stack_out,
                            resume_init,
                            resume_fin,
                            mem_rows.carried,
                            height(BOUNDARY),
                            &mut u16s,
                        );
                        (t, u16s)
                    },
                )
            },
            || {
                rayon::join(
                    || alu::trace::generate::<F>(&alu_ops, height(ALU)),
                    || muldiv::trace::generate_rows::<F>(muldiv_rows, height(MULDIV)),
                )
            },
        );
    let (bytecode_trace, code_op_counts, bc_u16) = bytecode_out;
    let mut bytes_rc = RangeCounts::new(8);
    let call_context_trace = call_context::trace::generate::<F>(
        &ctx_reads,
        height(CALL_CONTEXT),
        &mut u16_rc,
        &mut bytes_rc,
    );
    let (boundary_trace, bd_u16) = boundary_out;
    u16_rc.merge(&bc_u16);
    u16_rc.merge(&bd_u16);
    u16_rc.merge(&RangeCounts {
        counts: alu_counts.u16,
        pairs: Vec::new(),
    });
    u16_rc.merge(&RangeCounts {
        counts: muldiv_counts.u16,
        pairs: muldiv_counts.pair,
    });
    bytes_rc.merge(&RangeCounts {
        counts: muldiv_counts.byte,
        pairs: Vec::new(),
    });

    let ((opcode_trace, bitwise_trace), (u8_trace, u16_trace)) = rayon::join(
        || {
            rayon::join(
                || {
                    opcode_table::trace::generate::<F>(
                        &counts.opcodes,
                        &code_op_counts,
                        &ctx_counts,
                    )
                },
                || bitwise::trace::generate::<F>(&alu_counts.and8, height(BITWISE)),
            )
        },
        || {
            rayon::join(
                || range::trace::generate::<F>(&bytes_rc),
                || range::trace::generate::<F>(&u16_rc),
            )
        },
    );

    // Carried state is allowed exactly where some is carried (a cut inside a segment).
    let carried_in = !stack_init.is_empty() || !resume_init.is_empty() || mem_rows.carried > 0;
    let carried_out = !resume_fin.is_empty() || stack_out > 0;
    // The carry table's commitments to what comes in and what goes on, in the order the
    // boundary rows and then the memory bound rows give their tokens positions.
    let mut incoming = stack_boundary::trace::carried(stack_init, resume_init);
    incoming.extend_from_slice(&mem_rows.incoming);
    let mut outgoing =
        stack_boundary::trace::carried(&stack_fin[stack_fin.len() - stack_out..], resume_fin);
    outgoing.extend_from_slice(&mem_rows.outgoing);
    let (carry_trace, carry_pv) = carry::generate::<F>(&incoming, &outgoing, height(CARRY));
    let boundary_pv = vec![F::from_bool(carried_in), F::from_bool(carried_out)];
    let mut public_values = vec![Vec::new(); NUM_INSTANCES];
    public_values[CPU] = cpu_public.to_vec();
    public_values[BOUNDARY] = boundary_pv;
    public_values[CARRY] = carry_pv;
    public_values[OPCODE_TABLE] = vec![F::ZERO; SHARD_BINDING_LEN];
    Shard {
        airs: EvmAir::shard_airs(),
        traces: vec![
            cpu_trace,
            bytecode_trace,
            opcode_trace,
            alu_trace,
            bitwise_trace,
            boundary_trace,
            u8_trace,
            u16_trace,
            muldiv_trace,
            call_context_trace,
            memory_trace,
            calldata_trace,
            carry_trace,
            push_trace,
        ],
        public_values,
        steps: range,
        cpu_public,
        shape: None,
        natural_log_heights: *log_heights,
    }
}

/// Whether `first` and `last` may be the first and last shard of a subblock: it starts at step 0
/// with a fresh context and no carried state, and ends with no context left to continue.
/// (`allow_init = 0` on the first shard and `allow_suspended = 0` on the last one are the
/// boundary chip's public values.)
pub fn subblock_ends<F: PrimeField32>(first: &Shard<F>, last: &Shard<F>) -> bool {
    subblock_ends_public(&first.public_values, &last.public_values)
}

/// [`subblock_ends`] on the shards' public values alone (what a verifier has). Public values of
/// the wrong shape give `false`.
pub fn subblock_ends_public<F: PrimeField32>(first: &[Vec<F>], last: &[Vec<F>]) -> bool {
    let shape_ok = |pv: &[Vec<F>]| {
        pv.len() == NUM_INSTANCES
            && pv[CPU].len() == crate::chips::cpu::air::NUM_CPU_PUBLIC
            && pv[BOUNDARY].len() == 2
            && pv[CARRY].len() == carry::NUM_CARRY_PUBLIC
    };
    if !shape_ok(first) || !shape_ok(last) {
        return false;
    }
    let f = CpuPublic::from_slice(&first[CPU]);
    let l = CpuPublic::from_slice(&last[CPU]);
    f.first_step == F::ZERO
        && f.first_entry == F::ZERO
        && f.first_nctx == F::ZERO
        && f.first_sp == F::ZERO
        && f.first_pc == F::ZERO
        && first[BOUNDARY][0] == F::ZERO
        && l.last_cont == F::ZERO
        && last[BOUNDARY][1] == F::ZERO
        && carried_in(first).iter().all(|x| *x == F::ZERO)
        && carried_out(last).iter().all(|x| *x == F::ZERO)
}

/// A shard's commitment to the tokens it takes in (the carry table's `digest_in`). Public
/// values must have the shard's shape ([`subblock_ends_public`] checks it).
pub fn carried_in<F: Copy>(pv: &[Vec<F>]) -> &[F] {
    &pv[CARRY][..carry::RATE]
}

/// A shard's commitment to the tokens it carries out (the carry table's `digest_out`).
pub fn carried_out<F: Copy>(pv: &[Vec<F>]) -> &[F] {
    &pv[CARRY][carry::RATE..]
}

/// Whether shard `b` takes in exactly the stack items and suspended calls shard `a` of the
/// same subblock carries out: `a`'s out commitment is `b`'s in commitment (both empty where
/// the cut falls between segments). Public values of the wrong shape give `false`.
pub fn carries_on<F: PrimeField32>(a: &[Vec<F>], b: &[Vec<F>]) -> bool {
    let ok =
        |pv: &[Vec<F>]| pv.len() == NUM_INSTANCES && pv[CARRY].len() == carry::NUM_CARRY_PUBLIC;
    ok(a) && ok(b) && carried_out(a) == carried_in(b)
}

/// Whether shard `b` may follow shard `a` of the same subblock (the checks of the module docs
/// on the CPU public values).
pub fn chains<F: PrimeField32>(a: &CpuPublic<F>, b: &CpuPublic<F>) -> bool {
    let u = |x: F| x.as_canonical_u32();
    if u(b.first_step) != u(a.last_step) + 1 || b.first_nctx != a.last_nctx {
        return false;
    }
    if u(a.last_cont) == 1 {
        u(b.first_entry) == 1
            && b.first_pc == a.last_npc
            && b.first_sp == a.last_sp_next
            && b.first_ctx == a.last_ctx
            && b.first_code == a.last_code
            && (u(a.last_is_call) == 1 || b.first_gas == a.last_gas_after)
            && (u(a.last_jump) == 0 || u(b.first_opcode) == crate::opcodes::JUMPDEST as u32)
            && b.first_ncalls == a.last_ncalls_next
            && b.first_mw == a.last_mw_next
    } else {
        u(b.first_entry) == 0
    }
}
