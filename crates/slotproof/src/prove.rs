//! Proving a block: execute, generate shard traces (in parallel), prove shards (in parallel).

use crate::aggregate::{AggregateError, AggregatedBlock, AggregationProgress, check_aggregation};
use crate::backend::{
    BackendField, BackendUnavailable, DEFAULT_CUDA_STREAMS, DevicePool, ProverBackend,
};
use crate::memory::{PlanField, ShardReport};
use crate::pipeline::{ExecutorStream, ProvenShards, ShardSource, generate_and_prove};
use crate::proof::{BLOCK_PROOF_VERSION, BlockProof, BlockPublicValues, SubblockPublicValues};
use crate::tree_jobs::TreeJobs;
use p3_field::PrimeField32;
use slotproof_air::{CoverageTable, coverage::COVERAGE_VERSION};
use slotproof_executor::{
    BlockExecution, BlockInput, DEFAULT_SUBBLOCK_GAS, ExecError, ExecuteOptions, execute_block,
    outline_block,
};
use slotproof_prover::{BabyBear, FriSettings, KoalaBear};
use std::ops::Range;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why a block could not be proven.
#[derive(Debug, Error)]
pub enum ProveError {
    #[error(transparent)]
    Execution(#[from] ExecError),
    #[error("trace generation of subblock {subblock}: {reason}")]
    TraceGeneration { subblock: usize, reason: String },
    #[error("proving shard {shard} (subblock {subblock}): {reason}")]
    Shard {
        subblock: usize,
        shard: usize,
        reason: String,
    },
    #[error("invalid prover settings: {0}")]
    Settings(String),
    /// A one-step shard whose tables fit no shape of the menu (`slotproof_air::shape`).
    #[error(
        "shard {shard} of subblock {subblock} (steps {}..{}): table {table} needs 2^{log_height} rows, no shard shape has more than 2^{largest}, and one step cannot be cut",
        steps.start,
        steps.end
    )]
    NoShapeFits {
        subblock: usize,
        shard: usize,
        steps: core::ops::Range<usize>,
        table: &'static str,
        log_height: usize,
        largest: usize,
    },
    /// A shard's planned device memory exceeds the budget even cut as far as it goes.
    #[error(
        "shard {shard} of subblock {subblock} (steps {}..{}) needs {needed} bytes of device memory (planned) and cannot be cut to fit the {available} bytes available",
        steps.start,
        steps.end
    )]
    OutOfDeviceMemory {
        subblock: usize,
        /// The shard's index within its subblock when it was planned.
        shard: usize,
        steps: Range<usize>,
        needed: u64,
        available: u64,
    },
    /// The chosen backend cannot run here (see [`crate::ProverBackend`]).
    #[error(transparent)]
    Backend(#[from] BackendUnavailable),
    /// A broken invariant of the prover itself (a bug to report, not bad input).
    #[error("internal error (please report): {0}")]
    Internal(String),
    /// Aggregating the shard proofs ([`BlockProverBuilder::aggregate`]) failed: a leaf, an
    /// internal node or the root could not be proven, or the root does not check.
    #[error("aggregation: {0}")]
    Aggregation(#[from] AggregateError),
    /// The caller's [`CancelToken`] was cancelled ([`BlockProver::prove_cancellable`]).
    #[error("proving was cancelled")]
    Cancelled,
}

/// Stops a proof early ([`BlockProver::prove_cancellable`]): no shard or aggregation node is
/// started after [`CancelToken::cancel`] (those running finish: a shard proof has no
/// cancellation point), and the proof returns [`ProveError::Cancelled`]. Clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// What [`BlockProver::prove_with_progress`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Trace generation is done: this many shards are proven in all. With trace generation
    /// overlapped (the default) the first shards may be proven already.
    ShardsPlanned(usize),
    /// Shard `k` is proven (shards finish in any order).
    ShardProven(usize),
    /// The aggregation tree ([`BlockProverBuilder::aggregate`]): how many nodes it proves (told
    /// with the shard count) and each node proven, as nodes finish (leaves while later shards
    /// are still proven).
    Aggregation(AggregationProgress),
}

/// Wall time per phase.
#[derive(Clone, Debug, Default)]
pub struct ProveTimings {
    pub execute: Duration,
    /// Trace generation of every shard (planning and re-cutting to the device memory budget
    /// included). Overlaps `prove` when trace generation is overlapped with proving.
    pub tracegen: Duration,
    /// Per shard, in proof order (shards are proven in parallel: these overlap).
    pub shards: Vec<Duration>,
    /// Wall time of shard proving: from the first shard taken by a prover to the last proven.
    pub prove: Duration,
    /// Whether trace generation overlapped proving
    /// ([`BlockProverBuilder::overlap_tracegen`]).
    pub overlapped: bool,
    /// With [`BlockProverBuilder::aggregate`]: the wall time from the last shard proven to the
    /// root proven and checked (the aggregation that shard proving did not hide; the layers'
    /// own times are [`ProvedBlock::aggregated`]'s).
    pub aggregation_tail: Option<Duration>,
    pub total: Duration,
}

/// A proven block: the proof, the checked execution it proves, the time it took and, per
/// shard (in proof order), its planned device memory and where it was proven.
pub struct ProvedBlock {
    pub proof: BlockProof,
    pub execution: BlockExecution,
    pub timings: ProveTimings,
    pub shards: Vec<ShardReport>,
    /// Device time per kernel during this proof, largest first (CUDA with
    /// [`BlockProverBuilder::profile_kernels`] only; empty otherwise).
    pub kernel_times: Vec<crate::backend::KernelTime>,
    /// With [`BlockProverBuilder::aggregate`]: the shard proofs aggregated into one root proof,
    /// checked (`None` for a block without shards, or without aggregation).
    pub aggregated: Option<AggregatedBlock>,
}

impl ProvedBlock {
    /// The largest planned device memory of any shard (0 without shards).
    pub fn max_planned_device_bytes(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.planned_device_bytes)
            .max()
            .unwrap_or(0)
    }

    /// The largest measured resident device memory of any shard (CUDA; `None` on the CPU).
    pub fn max_measured_device_bytes(&self) -> Option<u64> {
        self.shards
            .iter()
            .filter_map(|s| s.measured_device_bytes)
            .max()
    }
}

/// Trace generation (shards fitted to the device memory budget) and shard proving over one
/// field (the prover types are per field).
#[allow(clippy::too_many_arguments)]
fn prove_shards<F: BackendField + PlanField + PrimeField32>(
    prover: &BlockProver,
    execution: &BlockExecution,
    streamed: Option<ExecutorStream<'_>>,
    block: &BlockPublicValues,
    subblocks: &[SubblockPublicValues],
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &CancelToken,
    only: Option<std::collections::BTreeSet<usize>>,
) -> Result<ProvenShards, ProveError> {
    if prover.aggregate && !F::AGGREGATES {
        return Err(ProveError::Settings(format!(
            "aggregation verifies KoalaBear shard proofs, not {}",
            prover.field.name()
        )));
    }
    let settings = FriSettings::DEFAULT;
    let source = ShardSource {
        execution,
        streamed,
        block: block.claim(),
        subblocks: subblocks.iter().map(SubblockPublicValues::claim).collect(),
        max_rows: prover.max_shard_rows,
        budget: prover.shard_budget()?,
        settings,
        shards_in_flight: None,
        incremental_analysis: prover.stream_trace,
        only,
    };
    let lanes = F::lanes(
        &prover.backend,
        &prover.device,
        prover.cuda_streams,
        settings,
        prover.aggregate,
    )?;
    let source = ShardSource {
        shards_in_flight: prover.shards_in_flight.limit(&lanes),
        ..source
    };
    let report_node = |p| progress(Progress::Aggregation(p));
    // A subset of the shards (distributed proving) is aggregated once assembled, not here.
    let tree = (prover.aggregate && source.only.is_none()).then(|| TreeJobs::new(&report_node));
    generate_and_prove(
        &source,
        &lanes,
        prover.overlap_tracegen,
        tree.as_ref(),
        progress,
        cancel,
    )
}

/// Proves blocks on the CPU backend (or CUDA, see [`ProverBackend`]). Build with
/// [`BlockProver::builder`].
#[derive(Clone, Debug)]
pub struct BlockProver {
    subblock_gas: u64,
    max_shard_rows: usize,
    field: Field,
    backend: ProverBackend,
    cuda_streams: usize,
    device_memory_budget: Option<u64>,
    profile_kernels: bool,
    overlap_tracegen: bool,
    shards_in_flight: ShardsInFlight,
    stream_trace: bool,
    stream_executor: StreamExecutor,
    aggregate: bool,
    device: DevicePool,
}

/// How many shards may be generated and not yet proven at once (with overlapped trace
/// generation): what bounds the prover's memory on a long subblock. The proof is the same for
/// every setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShardsInFlight {
    /// What the lanes prove at once, and one more generated ahead: on the CPU
    /// [`CPU_SHARDS_IN_FLIGHT`], with CUDA one per stream plus one.
    #[default]
    Auto,
    /// At most this many (at least 1).
    AtMost(usize),
    /// No bound: every subblock's shards are generated at once (subblocks in parallel), as
    /// before streaming; peak memory then grows with the longest subblock.
    Unbounded,
}

/// Whether the executor is streamed into shard generation ([`BlockProverBuilder::stream_executor`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamExecutor {
    /// Streamed where a subblock is long (more than [`AUTO_STREAM_ABOVE_SHARDS`] shards of
    /// steps, as one giant transaction is): the block is recorded whole as before, and if a
    /// subblock is that long its trace is dropped (kept as its outline) and the block is run
    /// again, streamed. The trace is then held during execution only, not while proving;
    /// ordinary blocks run once.
    #[default]
    Auto,
    /// Always streamed.
    On,
    /// Never: every subblock's whole trace is recorded first.
    Off,
}

/// With [`StreamExecutor::Auto`], the executor is streamed when a subblock has more steps than
/// this many shards of [`BlockProverBuilder::max_shard_rows`]: ~160 B a step, a subblock of 8
/// full shards holds ~80 MB of trace, the 30 Mgas MULMOD block (109 shards) ~1.1 GB.
pub const AUTO_STREAM_ABOVE_SHARDS: usize = 8;

/// Shards in flight on the CPU by default: one proven while the next is generated (the CPU
/// lane proves one shard at a time, each proof parallel inside). On a 2 Mgas one-transaction
/// MULMOD block, 2 cores: 2.0 GiB peak RSS with 2 (benches/results/2026-12-07-cpu-2core-one-proof-at-a-time.md;
/// 3.6 GiB when the lane still proved the shards in flight at once).
pub const CPU_SHARDS_IN_FLIGHT: usize = 2;

impl ShardsInFlight {
    fn limit<F>(self, lanes: &[crate::backend::Lane<F>]) -> Option<usize> {
        match self {
            ShardsInFlight::Auto => Some(if lanes.iter().any(|l| l.device.is_some()) {
                lanes.len() + 1
            } else {
                CPU_SHARDS_IN_FLIGHT
            }),
            ShardsInFlight::AtMost(n) => Some(n.max(1)),
            ShardsInFlight::Unbounded => None,
        }
    }
}

/// The field shard proofs are made over (both with a degree-4 extension).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Field {
    #[default]
    KoalaBear,
    BabyBear,
}

impl Field {
    /// The name a [`crate::BlockProof`] records.
    pub fn name(self) -> &'static str {
        match self {
            Field::KoalaBear => "koalabear",
            Field::BabyBear => "babybear",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "koalabear" => Some(Field::KoalaBear),
            "babybear" => Some(Field::BabyBear),
            _ => None,
        }
    }
}

/// Settings of a [`BlockProver`].
#[derive(Clone, Debug)]
pub struct BlockProverBuilder {
    subblock_gas: u64,
    max_shard_rows: usize,
    field: Field,
    backend: ProverBackend,
    cuda_streams: usize,
    device_memory_budget: Option<u64>,
    profile_kernels: bool,
    overlap_tracegen: bool,
    shards_in_flight: ShardsInFlight,
    stream_trace: bool,
    stream_executor: StreamExecutor,
    aggregate: bool,
}

/// Default maximum number of EVM steps in one shard.
pub const DEFAULT_MAX_SHARD_ROWS: usize = 1 << 16;

impl Default for BlockProverBuilder {
    fn default() -> Self {
        Self {
            subblock_gas: DEFAULT_SUBBLOCK_GAS,
            max_shard_rows: DEFAULT_MAX_SHARD_ROWS,
            field: Field::KoalaBear,
            backend: ProverBackend::Cpu,
            cuda_streams: DEFAULT_CUDA_STREAMS,
            device_memory_budget: None,
            profile_kernels: false,
            overlap_tracegen: true,
            shards_in_flight: ShardsInFlight::Auto,
            stream_trace: true,
            stream_executor: StreamExecutor::Auto,
            aggregate: false,
        }
    }
}

impl BlockProverBuilder {
    /// Gas budget of a subblock (see `ExecuteOptions::subblock_gas`).
    pub fn subblock_gas(mut self, gas: u64) -> Self {
        self.subblock_gas = gas;
        self
    }

    /// Maximum number of EVM steps per shard.
    pub fn max_shard_rows(mut self, rows: usize) -> Self {
        self.max_shard_rows = rows;
        self
    }

    /// Field of the shard proofs (KoalaBear by default).
    pub fn field(mut self, field: Field) -> Self {
        self.field = field;
        self
    }

    /// Backend of the shard proofs (the CPU by default; also `.cpu()` / `.cuda(device)`).
    pub fn backend(mut self, backend: ProverBackend) -> Self {
        self.backend = backend;
        self
    }

    /// Shards in flight at once on each CUDA device, each on its own stream (default
    /// [`DEFAULT_CUDA_STREAMS`]); they share the device's memory budget.
    pub fn cuda_streams(mut self, streams: usize) -> Self {
        self.cuda_streams = streams;
        self
    }

    /// Device memory (bytes) one shard's plan may use, on any backend: shards planned above
    /// it are cut again until they fit (or proving fails with
    /// [`ProveError::OutOfDeviceMemory`]). With CUDA the budget is also never more than the
    /// device's free memory per stream. `None` (the default): the CPU does not cut shards.
    pub fn device_memory_budget(mut self, bytes: Option<u64>) -> Self {
        self.device_memory_budget = bytes;
        self
    }

    /// CUDA: time every kernel launch and host/device copy with CUDA events and report the
    /// device time per kernel in [`ProvedBlock::kernel_times`] (two events per launch; for
    /// benchmarks). No effect on the CPU.
    pub fn profile_kernels(mut self, on: bool) -> Self {
        self.profile_kernels = on;
        self
    }

    /// Prove the first shards while the next ones are still being generated (the default):
    /// shards are published in proof order as each subblock's traces are done, and the proof
    /// is the same either way. Off: every trace is generated before any shard is proven.
    pub fn overlap_tracegen(mut self, on: bool) -> Self {
        self.overlap_tracegen = on;
        self
    }

    /// How many shards may be generated and not yet proven at once (see [`ShardsInFlight`];
    /// only with overlapped trace generation).
    pub fn shards_in_flight(mut self, n: ShardsInFlight) -> Self {
        self.shards_in_flight = n;
        self
    }

    /// With shards streamed (a bound on the shards in flight, overlapped trace generation):
    /// analyse each subblock shard by shard as its shards are generated (the default), so that
    /// the analysis' per-step data is held for the shard being generated only, not for the
    /// whole subblock. Off: each subblock is analysed whole before its first shard. The shards,
    /// and so the proof bytes, are the same either way. Unless [`Self::stream_executor`], the
    /// executor records a subblock's whole trace before its first shard.
    pub fn stream_trace(mut self, on: bool) -> Self {
        self.stream_trace = on;
        self
    }

    /// Streams the executor into shard generation (issue 18 item 2; by default
    /// [`StreamExecutor::Auto`]: where a subblock is longer than [`AUTO_STREAM_ABOVE_SHARDS`]
    /// shards, with streamed shards): the block
    /// is run untraced first ([`slotproof_executor::outline_block`]: the claims and every
    /// subblock's outline), then again recording on a thread of its own
    /// ([`slotproof_executor::stream_block`]), which hands the trace over in chunks of
    /// [`Self::max_shard_rows`] steps through a bounded channel
    /// ([`crate::pipeline::CHUNKS_AHEAD`] chunks); each shard is generated as soon as its steps
    /// and the next one have arrived (the analysis from the outline,
    /// `ShardStream::incremental_outlined`). The shards, and so the proof bytes, are the same.
    /// [`StreamExecutor::On`] needs streamed shards (a bound on the shards in flight and
    /// overlapped trace generation; otherwise [`ProveError::Settings`]; `Auto` then records
    /// whole). The records of the steps before the next shard (the step records, their stack
    /// words, memory accesses, storage records, logs and their bytes) are dropped as it goes
    /// (`SubblockTrace::release_before`); only the call contexts, one record each, stay until
    /// the subblock's end. [`ProvedBlock::execution`] is then the untraced run's (its traces
    /// empty).
    pub fn stream_executor(mut self, mode: StreamExecutor) -> Self {
        self.stream_executor = mode;
        self
    }

    /// Also aggregate the shard proofs into one root proof ([`ProvedBlock::aggregated`], what
    /// block proof v3 holds), overlapped with shard proving: a shard's leaf is proven as soon as
    /// its shard proof exists and an internal node as soon as both its children do, on the
    /// lanes that prove shards. The root is byte for byte the one
    /// [`crate::aggregate::aggregate_block`] makes from the finished block proof. KoalaBear
    /// only (otherwise [`ProveError::Settings`]). Off by default.
    pub fn aggregate(mut self, on: bool) -> Self {
        self.aggregate = on;
        self
    }

    pub fn build(self) -> BlockProver {
        BlockProver {
            subblock_gas: self.subblock_gas,
            max_shard_rows: self.max_shard_rows,
            field: self.field,
            backend: self.backend,
            cuda_streams: self.cuda_streams,
            device_memory_budget: self.device_memory_budget,
            profile_kernels: self.profile_kernels,
            overlap_tracegen: self.overlap_tracegen,
            shards_in_flight: self.shards_in_flight,
            stream_trace: self.stream_trace,
            stream_executor: self.stream_executor,
            aggregate: self.aggregate,
            device: DevicePool::new(self.profile_kernels),
        }
    }
}

impl BlockProver {
    pub fn builder() -> BlockProverBuilder {
        BlockProverBuilder::default()
    }

    /// The backend shards are proven on.
    pub fn backend(&self) -> &ProverBackend {
        &self.backend
    }

    /// The backend as reports print it (`cpu`, `cuda:0`, or `cuda:0 (stand-in)` when the CUDA
    /// driver is the CPU stand-in). Call it after [`BlockProver::check_backend`] (which opens
    /// the devices); before, a stand-in is not known yet.
    pub fn backend_description(&self) -> String {
        crate::backend::describe_backend(&self.backend, self.device.runs_on_standin())
    }

    /// Whether the CUDA devices run on the stand-in driver (the kernels on the CPU): nothing
    /// timed under it is a GPU figure.
    pub fn runs_on_standin(&self) -> bool {
        self.device.runs_on_standin()
    }

    /// Shards in flight per CUDA device.
    pub fn cuda_streams(&self) -> usize {
        self.cuda_streams
    }

    /// The device memory budget set on the builder.
    pub fn device_memory_budget(&self) -> Option<u64> {
        self.device_memory_budget
    }

    /// Checks that the backend can prove here (opens the CUDA devices on first use); `prove`
    /// does the same before any work.
    pub fn check_backend(&self) -> Result<(), BackendUnavailable> {
        self.device.ensure(&self.backend, self.cuda_streams)
    }

    /// The device memory one shard may plan for now: the builder's budget and, with CUDA, the
    /// devices' free memory per stream (the smaller).
    fn shard_budget(&self) -> Result<Option<u64>, BackendUnavailable> {
        let device = self.device.shard_budget(&self.backend, self.cuda_streams)?;
        Ok(match (device, self.device_memory_budget) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Executes `input` (every header check must pass), then proves every shard of every
    /// subblock.
    pub fn prove(&self, input: &BlockInput) -> Result<ProvedBlock, ProveError> {
        self.prove_with_progress(input, &|_| {})
    }

    /// [`BlockProver::prove`], reporting progress (for progress bars; called from worker threads).
    pub fn prove_with_progress(
        &self,
        input: &BlockInput,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ProvedBlock, ProveError> {
        self.prove_cancellable(input, progress, &CancelToken::new())
    }

    /// [`BlockProver::prove_with_progress`] that stops early once `cancel` is cancelled (a
    /// deadline passed, the client went away): [`ProveError::Cancelled`].
    pub fn prove_cancellable(
        &self,
        input: &BlockInput,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &CancelToken,
    ) -> Result<ProvedBlock, ProveError> {
        let t0 = Instant::now();
        let (execution, execute, block, subblocks, proven) =
            self.execute_and_prove(input, progress, cancel, None)?;
        let tree = proven.tree;
        let mut shard_proofs = Vec::with_capacity(proven.shards.len());
        let mut shard_times = Vec::with_capacity(proven.shards.len());
        let mut reports = Vec::with_capacity(proven.shards.len());
        for p in proven.shards {
            shard_proofs.push(p.proof);
            shard_times.push(p.time);
            reports.push(p.report);
        }

        let proof = BlockProof {
            version: BLOCK_PROOF_VERSION,
            field: self.field.name().into(),
            block,
            subblocks,
            coverage_version: COVERAGE_VERSION,
            coverage: CoverageTable::current().to_json(),
            shards: shard_proofs,
        };
        // The root checked against the claims (the tail of the aggregation's wall time).
        let (aggregated, aggregation_tail) = match tree {
            Some((tree, tail)) => {
                let t = Instant::now();
                let aggregated = tree
                    .map(|t| check_aggregation(&proof, t.tree, t.shard_degree_bits))
                    .transpose()?;
                (aggregated, Some(tail + t.elapsed()))
            }
            None => (None, None),
        };
        Ok(ProvedBlock {
            proof,
            execution,
            timings: ProveTimings {
                execute,
                tracegen: proven.tracegen,
                shards: shard_times,
                prove: proven.prove,
                overlapped: self.overlap_tracegen,
                aggregation_tail,
                total: t0.elapsed(),
            },
            shards: reports,
            kernel_times: self.device.take_kernel_times()?,
            aggregated,
        })
    }

    /// Executes `input` (every header check must pass) and generates and proves its shards:
    /// all of them, or only those in `only` (every shard is still generated, so indices and
    /// cuts do not depend on the subset). What [`BlockProver::prove_cancellable`] and
    /// distributed proving ([`crate::shard_jobs`]) share. Also returns the execution's time.
    #[allow(clippy::type_complexity)]
    pub(crate) fn execute_and_prove(
        &self,
        input: &BlockInput,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &CancelToken,
        only: Option<std::collections::BTreeSet<usize>>,
    ) -> Result<
        (
            BlockExecution,
            Duration,
            BlockPublicValues,
            Vec<SubblockPublicValues>,
            ProvenShards,
        ),
        ProveError,
    > {
        if cancel.is_cancelled() {
            return Err(ProveError::Cancelled);
        }
        if self.max_shard_rows < 4 {
            return Err(ProveError::Settings("a shard needs at least 4 rows".into()));
        }
        // Before any work: a backend that cannot run here fails fast.
        self.check_backend()?;
        // Times recorded before this proof (another block's) are not this proof's.
        self.device.take_kernel_times()?;
        let options = ExecuteOptions {
            subblock_gas: self.subblock_gas,
            record_trace: true,
        };
        let shards_streamed =
            self.overlap_tracegen && self.shards_in_flight != ShardsInFlight::Unbounded;
        if self.stream_executor == StreamExecutor::On && !shards_streamed {
            return Err(ProveError::Settings(
                "streaming the executor needs streamed shards: overlapped trace generation and \
                 a bound on the shards in flight"
                    .into(),
            ));
        }
        let t0 = Instant::now();
        // Streamed: the claims and outlines from an untraced run; the trace comes later.
        let (execution, streaming) = match self.stream_executor {
            StreamExecutor::Off => (execute_block(input, &options)?, false),
            StreamExecutor::On => (outline_block(input, &options)?, true),
            StreamExecutor::Auto if !shards_streamed => (execute_block(input, &options)?, false),
            StreamExecutor::Auto => {
                // Recorded whole; a subblock found too long is then streamed from its outline
                // (read from its trace, which is dropped before any shard), so ordinary blocks
                // pay no second run.
                let recorded = execute_block(input, &options)?;
                let long = self.max_shard_rows.saturating_mul(AUTO_STREAM_ABOVE_SHARDS);
                if recorded
                    .subblocks
                    .iter()
                    .any(|sb| sb.trace.steps.len() > long)
                {
                    (recorded.into_outlined(), true)
                } else {
                    (recorded, false)
                }
            }
        };
        let streamed = streaming.then(|| ExecutorStream {
            input,
            options: options.clone(),
            chunk_steps: self.max_shard_rows,
        });
        execution.ensure_checks_pass()?;
        let execute = t0.elapsed();
        if cancel.is_cancelled() {
            return Err(ProveError::Cancelled);
        }

        let block = BlockPublicValues::of_execution(&execution);
        let subblocks = SubblockPublicValues::of_execution(&execution);
        let proven = match self.field {
            Field::KoalaBear => prove_shards::<KoalaBear>(
                self, &execution, streamed, &block, &subblocks, progress, cancel, only,
            )?,
            Field::BabyBear => prove_shards::<BabyBear>(
                self, &execution, streamed, &block, &subblocks, progress, cancel, only,
            )?,
        };
        Ok((execution, execute, block, subblocks, proven))
    }

    /// Whether trace generation overlaps proving (see [`BlockProverBuilder::overlap_tracegen`]).
    pub fn overlaps_tracegen(&self) -> bool {
        self.overlap_tracegen
    }

    /// The bound on shards in flight (see [`BlockProverBuilder::shards_in_flight`]).
    pub fn shards_in_flight(&self) -> ShardsInFlight {
        self.shards_in_flight
    }

    /// Whether subblocks are analysed shard by shard (see [`BlockProverBuilder::stream_trace`]).
    pub fn streams_trace(&self) -> bool {
        self.stream_trace
    }

    /// Whether the executor is streamed into shard generation (see
    /// [`BlockProverBuilder::stream_executor`]).
    pub fn streams_executor(&self) -> StreamExecutor {
        self.stream_executor
    }

    /// The field shard proofs are made over (see [`BlockProverBuilder::field`]).
    pub fn field(&self) -> Field {
        self.field
    }

    /// Whether shard proofs are aggregated (see [`BlockProverBuilder::aggregate`]).
    pub fn aggregates(&self) -> bool {
        self.aggregate
    }

    /// Whether kernels are timed (see [`BlockProverBuilder::profile_kernels`]).
    pub fn profiles_kernels(&self) -> bool {
        self.profile_kernels
    }
}

#[cfg(test)]
mod streamed_executor_tests {
    //! Issue 18's streaming executor, as far as it goes: a block's traces handed over in chunks
    //! by the second, recording pass (`stream_block`, with the untraced pass's outlines) and put
    //! back together prove to the same shard proof bytes as the traces recorded whole.

    use slotproof_executor::generate::{GiantKind, fixture_text, generate_giant};
    use slotproof_executor::trace::TraceChunk;
    use slotproof_executor::{outline_block, stream_block};

    use super::*;
    use crate::proof::ShardProof;

    /// `input` run as the streaming executor runs it, its chunks (of `chunk` steps) put back
    /// together into its subblocks' traces.
    fn streamed_execution(
        input: &BlockInput,
        opts: &ExecuteOptions,
        chunk: usize,
    ) -> BlockExecution {
        let outlined = outline_block(input, opts).unwrap();
        let outlines = outlined
            .subblocks
            .into_iter()
            .map(|s| s.outline.unwrap())
            .collect();
        let (tx, rx) = std::sync::mpsc::channel::<TraceChunk>();
        let sink = Box::new(move |c: TraceChunk| tx.send(c).is_ok());
        let mut execution = stream_block(input, opts, outlines, chunk, sink).unwrap();
        for c in rx.try_iter() {
            let subblock = c.subblock;
            execution.subblocks[subblock].trace.append_chunk(c).unwrap();
        }
        execution
    }

    /// Every shard's subblock, public values and proof bytes.
    fn shard_proofs(prover: &BlockProver, execution: &BlockExecution) -> Vec<ShardProof> {
        let block = BlockPublicValues::of_execution(execution);
        let subblocks = SubblockPublicValues::of_execution(execution);
        let proven = prove_shards::<KoalaBear>(
            prover,
            execution,
            None,
            &block,
            &subblocks,
            &|_| {},
            &CancelToken::new(),
            None,
        )
        .unwrap();
        proven.shards.into_iter().map(|s| s.proof).collect()
    }

    /// Every shard of `trace` at `max_rows` (analysed shard by shard): steps, public values
    /// and tables.
    fn shards(trace: &slotproof_executor::trace::SubblockTrace, max_rows: usize) -> Vec<Shard> {
        let planner = std::sync::OnceLock::new();
        let settings = FriSettings::DEFAULT;
        let mut stream =
            crate::memory::SubblockShards::new(0, trace, max_rows, None, settings, true).unwrap();
        std::iter::from_fn(|| stream.next::<KoalaBear>(trace, &planner).unwrap())
            .map(|f| (f.shard.steps, f.shard.public_values, f.shard.traces))
            .collect()
    }

    type Shard = (
        Range<usize>,
        Vec<Vec<KoalaBear>>,
        Vec<p3_matrix::dense::RowMajorMatrix<KoalaBear>>,
    );

    /// The mixed block's calls and creates, cut inside transactions and calls: a call's output
    /// is streamed with the call step, not after its callee's steps, and the shards are the same.
    #[test]
    fn streamed_chunks_put_back_together_give_the_same_shards() {
        let path = format!("{}/../../fixtures/mixed.json", env!("CARGO_MANIFEST_DIR"));
        let input = BlockInput::from_path(&path).unwrap();
        let opts = ExecuteOptions::default();
        let recorded = execute_block(&input, &opts).unwrap();
        let streamed = streamed_execution(&input, &opts, 700);
        let (mut compared, mut moved) = (0, 0);
        for (r, s) in recorded.subblocks.iter().zip(&streamed.subblocks) {
            if r.trace.steps.is_empty() {
                continue;
            }
            moved += usize::from(r.trace.mem_accesses != s.trace.mem_accesses);
            let whole = shards(&r.trace, 1 << 10);
            compared += whole.len();
            assert!(shards(&s.trace, 1 << 10) == whole, "subblock {}", r.index);
        }
        assert!(compared >= 10, "{compared} shards");
        assert!(moved > 0, "no call output recorded elsewhere");
    }

    #[test]
    fn streamed_chunks_put_back_together_prove_to_the_same_bytes() {
        let opts = ExecuteOptions::default();
        // One MULMOD transaction, 2,048-row shards: 6 shards, 5 cut inside the transaction.
        let giant = generate_giant(GiantKind::Mulmod, 100_000).unwrap();
        let input = BlockInput::from_json_str(&fixture_text(&giant.json).unwrap()).unwrap();
        let prover = BlockProver::builder()
            .max_shard_rows(1 << 11)
            .aggregate(false)
            .build();
        let recorded = execute_block(&input, &opts).unwrap();
        // The claims every shard is bound to are known from the untraced run.
        let outlined = outline_block(&input, &opts).unwrap();
        assert_eq!(
            SubblockPublicValues::of_execution(&outlined),
            SubblockPublicValues::of_execution(&recorded)
        );
        assert_eq!(
            BlockPublicValues::of_execution(&outlined),
            BlockPublicValues::of_execution(&recorded)
        );
        assert_eq!(outlined.steps(), recorded.steps());
        let whole = shard_proofs(&prover, &recorded);
        assert!(whole.len() >= 3, "{} shards", whole.len());
        // Chunks that are not shard-sized, so chunk and shard cuts differ.
        let streamed = shard_proofs(&prover, &streamed_execution(&input, &opts, 1000));
        assert!(streamed == whole, "the streamed trace proves otherwise");
        // Through the prover: the executor on its own thread, its chunks (shard-sized) through
        // the bounded channel into shard generation as they are recorded.
        let prover = BlockProver::builder()
            .max_shard_rows(1 << 11)
            .aggregate(false)
            .stream_executor(StreamExecutor::On)
            .build();
        let proved = prover.prove(&input).unwrap();
        assert!(
            proved.proof.shards == whole,
            "the streamed executor proves otherwise"
        );
        assert_eq!(proved.execution.steps(), recorded.steps());
    }

    /// By default (`Auto`) the executor is streamed only where a subblock is longer than
    /// [`AUTO_STREAM_ABOVE_SHARDS`] shards: the same MULMOD transaction at 2,048-row shards
    /// (~12 k steps, 6 shards) keeps its recorded trace, at 1,024-row shards (12 shards) it is
    /// streamed (no trace kept) and its block proof verifies.
    #[test]
    fn by_default_only_a_subblock_longer_than_eight_shards_is_streamed() {
        let giant = generate_giant(GiantKind::Mulmod, 100_000).unwrap();
        let input = BlockInput::from_json_str(&fixture_text(&giant.json).unwrap()).unwrap();
        let prove = |rows: usize| {
            let prover = BlockProver::builder().max_shard_rows(rows).build();
            assert_eq!(prover.streams_executor(), StreamExecutor::Auto);
            prover.prove(&input).unwrap()
        };
        let kept = prove(1 << 11);
        assert!(kept.proof.shards.len() <= AUTO_STREAM_ABOVE_SHARDS);
        assert_eq!(
            kept.execution.subblocks[0].trace.steps.len(),
            kept.execution.steps()
        );
        let streamed = prove(1 << 10);
        assert!(streamed.proof.shards.len() > AUTO_STREAM_ABOVE_SHARDS);
        assert!(
            streamed
                .execution
                .subblocks
                .iter()
                .all(|s| s.trace.steps.is_empty())
        );
        assert_eq!(streamed.execution.steps(), kept.execution.steps());
        crate::verify_block_proof(&streamed.proof.to_bytes().unwrap()).unwrap();
    }

    /// Streaming the executor needs streamed shards: without a bound on the shards in flight
    /// (every subblock's shards at once, from whole traces) it is a settings error.
    #[test]
    fn a_streamed_executor_without_streamed_shards_is_a_settings_error() {
        let path = format!(
            "{}/../../fixtures/transfers.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let input = BlockInput::from_path(&path).unwrap();
        for prover in [
            BlockProver::builder().shards_in_flight(ShardsInFlight::Unbounded),
            BlockProver::builder().overlap_tracegen(false),
        ] {
            match prover
                .stream_executor(StreamExecutor::On)
                .build()
                .prove(&input)
            {
                Err(ProveError::Settings(_)) => {}
                other => panic!("expected a settings error, got {:?}", other.err()),
            }
        }
    }
}
