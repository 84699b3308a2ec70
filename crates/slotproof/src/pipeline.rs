//! Trace generation and shard proving, overlapped.
//!
//! A producer generates every subblock's shards (fitted to the device memory budget, bound to
//! their block and subblock) and publishes them in proof order to a [`ShardQueue`]; lanes take
//! them as they are published. A GPU therefore proves the first shards while the host still
//! generates the next ones, and a shard's traces are freed as soon as its proof is made. With
//! overlap off the producer finishes before any lane starts (the order of earlier versions; for
//! measuring what the overlap gains).
//!
//! Streaming (the default with overlap): shards are generated one at a time in proof order, and
//! at most `shards_in_flight` are generated but not yet proven; the producer waits for a proof
//! to finish before generating the next. Peak memory is then bounded by the shards in flight
//! (and the execution's trace), not by the length of a subblock: a single giant transaction is
//! one subblock of a hundred shards. Without a bound (or with overlap off), every subblock's
//! shards are generated at once, subblocks in parallel, roughly in order, and published strictly
//! in order: a subblock that finishes before an earlier one waits until that one is published,
//! so shard indices, and the proof, do not depend on timing. The shards, and so the proof
//! bytes, are the same either way. Streaming also analyses each subblock shard by shard as its
//! shards are generated (`ShardStream::incremental`; off with
//! [`crate::BlockProverBuilder::stream_trace`]), so the analysis' per-step data is held for the
//! current shard only, not for the subblock. With a streamed executor
//! ([`crate::BlockProverBuilder::stream_executor`], off by default) the trace itself arrives in
//! chunks from the executor's own thread while shards are generated, and the stack words of the
//! shards already generated are dropped (`produce_from_executor`).
//!
//! With aggregation the queue also holds the aggregation tree's node jobs
//! ([`crate::tree_jobs`]): a lane that finishes a shard queues its leaf, one that finishes a node
//! may queue its parent, and lanes take a ready job before the next shard.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use p3_field::PrimeField32;
use rayon::prelude::*;
use slotproof_air::shard::{BlockClaim, Shard, SubblockClaim, shard_binding};
use slotproof_executor::trace::{SubblockTrace, TraceChunk};
use slotproof_executor::{BlockExecution, BlockInput, ExecuteOptions, stream_block};
use slotproof_prover::FriSettings;

use crate::aggregate::AggregateError;
use crate::backend::Lane;
use crate::memory::{FittedShard, PlanField, ShardReport, SubblockShards, fit_subblock};
use crate::proof::ShardProof;
use crate::prove::{CancelToken, Progress, ProveError};
use crate::tree_jobs::{NodeJob, OverlappedTree, TreeJobs};

/// A shard ready to be proven, with what the prove run reports about it.
pub(crate) struct QueuedShard<F> {
    pub(crate) shard: Shard<F>,
    /// Its `index` is the one the queue hands out with it.
    pub(crate) report: ShardReport,
}

/// Items (shards) published in proof order and taken, one at a time, by lanes, and the jobs
/// (`J`: aggregation tree nodes) that finished work makes ready.
pub(crate) struct ShardQueue<T, J = ()> {
    state: Mutex<QueueState<T, J>>,
    changed: Condvar,
}

/// What a lane takes next.
pub(crate) enum Work<T, J> {
    /// Shard `index` (in proof order).
    Shard(usize, T),
    /// A job made ready by finished work.
    Job(J),
}

struct QueueState<T, J> {
    /// Published items in proof order; `None` once taken.
    published: Vec<Option<T>>,
    /// Subblocks generated before an earlier one, by position, until it is published.
    waiting: BTreeMap<usize, Vec<T>>,
    /// Position of the next subblock to publish.
    next_position: usize,
    /// Index of the next shard a lane takes.
    next_shard: usize,
    /// No shard will be published any more.
    closed: bool,
    /// Hand out no more shards: a lane or the producer failed.
    stopped: bool,
    /// When a lane took the first shard.
    first_taken: Option<Instant>,
    /// Shards reserved by the producer and not yet proven (or failed).
    in_flight: usize,
    /// Jobs ready to be taken, before any shard.
    jobs: std::collections::VecDeque<J>,
    /// Work taken and not yet done: while there is some, more jobs may come.
    active: usize,
}

impl<T, J> ShardQueue<T, J> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(QueueState {
                published: Vec::new(),
                waiting: BTreeMap::new(),
                next_position: 0,
                next_shard: 0,
                closed: false,
                stopped: false,
                first_taken: None,
                in_flight: 0,
                jobs: std::collections::VecDeque::new(),
                active: 0,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState<T, J>> {
        // A panic elsewhere cannot leave the state half-updated: every update is one step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publish the shards of the subblock at `position` (0, 1, 2, … over the subblocks that have
    /// steps) as soon as every earlier position is published.
    pub(crate) fn publish(&self, position: usize, shards: Vec<T>) {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.waiting.insert(position, shards);
        while let Some(shards) = s.waiting.remove(&s.next_position) {
            s.next_position += 1;
            s.published.extend(shards.into_iter().map(Some));
        }
        drop(guard);
        self.changed.notify_all();
    }

    /// Nothing more will be published; returns how many shards were.
    #[cfg(test)]
    fn close(&self) -> usize {
        self.close_with(|_| Vec::new())
    }

    /// Nothing more will be published; `last(n)` (`n`: how many shards were) gives the jobs
    /// that knowing the count makes ready, queued before any lane can see the queue closed.
    pub(crate) fn close_with(&self, last: impl FnOnce(usize) -> Vec<J>) -> usize {
        let mut s = self.lock();
        let n = s.published.len();
        let jobs = last(n);
        s.jobs.extend(jobs);
        s.closed = true;
        drop(s);
        self.changed.notify_all();
        n
    }

    /// Hand out no more shards (lanes finish the ones they hold).
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// The next ready job, else the next shard in proof order and its index, waiting until one
    /// is there; `None` once the queue is closed, every shard taken and all work taken done
    /// (none can make another job), or once stopped. Work taken is [`Self::done`] later.
    pub(crate) fn take(&self) -> Option<Work<T, J>> {
        let mut s = self.lock();
        loop {
            if s.stopped {
                return None;
            }
            if let Some(job) = s.jobs.pop_front() {
                s.active += 1;
                return Some(Work::Job(job));
            }
            let k = s.next_shard;
            if k < s.published.len() {
                s.next_shard += 1;
                s.first_taken.get_or_insert_with(Instant::now);
                if let Some(q) = s.published[k].take() {
                    s.active += 1;
                    return Some(Work::Shard(k, q));
                }
                continue;
            }
            if s.closed && s.active == 0 {
                return None;
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Work taken is done (or failed); `next`: the jobs it made ready.
    pub(crate) fn done(&self, next: impl IntoIterator<Item = J>) {
        let mut s = self.lock();
        s.jobs.extend(next);
        s.active = s.active.saturating_sub(1);
        drop(s);
        self.changed.notify_all();
    }

    /// Waits until fewer than `limit` shards are in flight, then counts one more (the shard the
    /// producer generates next); `false` once the queue is stopped.
    pub(crate) fn reserve(&self, limit: usize) -> bool {
        let mut s = self.lock();
        loop {
            if s.stopped {
                return false;
            }
            if s.in_flight < limit.max(1) {
                s.in_flight += 1;
                return true;
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A shard in flight was proven (its traces freed) or failed.
    pub(crate) fn release(&self) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        drop(s);
        self.changed.notify_all();
    }

    /// When the first shard was taken (`None` if none was).
    fn first_taken(&self) -> Option<Instant> {
        self.lock().first_taken
    }
}

/// Chunks of trace the executor may run ahead of shard generation when streamed
/// ([`crate::BlockProverBuilder::stream_executor`]): it waits while the channel holds this many.
pub const CHUNKS_AHEAD: usize = 2;

/// The executor's second, recording run, streamed into shard generation: the block, its
/// options, and the steps per chunk.
pub(crate) struct ExecutorStream<'a> {
    pub(crate) input: &'a BlockInput,
    pub(crate) options: ExecuteOptions,
    pub(crate) chunk_steps: usize,
}

/// What the producer needs to generate a block's shards.
pub(crate) struct ShardSource<'a> {
    /// With `streamed`, the untraced run's (the claims and outlines; its traces are empty).
    pub(crate) execution: &'a BlockExecution,
    /// The trace comes from this run, as it is recorded (only with `shards_in_flight`).
    pub(crate) streamed: Option<ExecutorStream<'a>>,
    pub(crate) block: BlockClaim,
    /// Per subblock (by index), the claim its shards are bound to.
    pub(crate) subblocks: Vec<SubblockClaim>,
    pub(crate) max_rows: usize,
    /// Device memory one shard may plan for (`None`: shards are not cut).
    pub(crate) budget: Option<u64>,
    pub(crate) settings: FriSettings,
    /// With overlap: at most this many shards generated and not yet proven (streaming); `None`:
    /// every subblock's shards generated at once.
    pub(crate) shards_in_flight: Option<usize>,
    /// With a bound on the shards in flight: analyse each subblock shard by shard as its shards
    /// are generated, holding one shard's analysis instead of the subblock's (the same shards).
    pub(crate) incremental_analysis: bool,
    /// Distributed proving ([`crate::BlockProver::prove_shard_subset`]): prove only these shard
    /// indices. Every shard is still generated in order (indices and cuts must be the
    /// single-process ones), the others are dropped untouched. `None`: prove every shard.
    pub(crate) only: Option<std::collections::BTreeSet<usize>>,
}

impl ShardSource<'_> {
    fn wanted(&self, index: usize) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&index))
    }
}

impl ShardSource<'_> {
    /// Generate every subblock's shards (in parallel) and publish them in order; returns the
    /// first error by subblock, after which the queue is stopped.
    fn produce<F: PlanField + PrimeField32, J: Send>(
        &self,
        queue: &ShardQueue<QueuedShard<F>, J>,
    ) -> Result<(), ProveError> {
        if self.streamed.is_some() {
            queue.stop();
            return Err(ProveError::Settings(
                "a streamed executor needs a bound on the shards in flight".into(),
            ));
        }
        let planner = OnceLock::new();
        let with_steps: Vec<usize> = (0..self.execution.subblocks.len())
            .filter(|&i| !self.execution.subblocks[i].trace.steps.is_empty())
            .collect();
        let first_error: Mutex<Option<(usize, ProveError)>> = Mutex::new(None);
        // `par_bridge` hands subblocks to workers in order, so earlier ones finish first and
        // the queue rarely holds a finished subblock back.
        with_steps
            .iter()
            .enumerate()
            .par_bridge()
            .for_each(|(position, &i)| {
                if queue.is_stopped() {
                    return;
                }
                match self.generate::<F>(i, &planner) {
                    Ok(shards) => queue.publish(position, shards),
                    Err(e) => {
                        let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                        if first.as_ref().is_none_or(|(p, _)| position < *p) {
                            *first = Some((position, e));
                        }
                        drop(first);
                        queue.stop();
                    }
                }
            });
        match first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Generate the shards one at a time in proof order, each after reserving a place among the
    /// `limit` in flight; returns the first error, after which the queue is stopped.
    fn produce_streaming<F: PlanField + PrimeField32, J: Send>(
        &self,
        queue: &ShardQueue<QueuedShard<F>, J>,
        limit: usize,
    ) -> Result<(), ProveError> {
        if let Some(streamed) = &self.streamed {
            return self.produce_from_executor(queue, limit, streamed);
        }
        let planner = OnceLock::new();
        let mut position = 0;
        let result = (|| {
            for (i, sub) in self.execution.subblocks.iter().enumerate() {
                if sub.trace.steps.is_empty() {
                    continue;
                }
                let binding = shard_binding::<F>(&self.block, &self.subblocks[i]);
                let mut shards = SubblockShards::new(
                    i,
                    &sub.trace,
                    self.max_rows,
                    self.budget,
                    self.settings,
                    self.incremental_analysis,
                )?;
                loop {
                    if !queue.reserve(limit) {
                        return Ok(());
                    }
                    let Some(fitted) = shards
                        .next::<F>(&sub.trace, &planner)
                        .inspect_err(|_| queue.release())?
                    else {
                        queue.release();
                        break;
                    };
                    queue.publish(position, vec![queued(i, fitted, binding.clone())]);
                    position += 1;
                }
            }
            Ok(())
        })();
        if result.is_err() {
            queue.stop();
        }
        result
    }

    /// [`Self::produce_streaming`] with the trace recorded meanwhile: the executor runs on a
    /// thread of its own ([`stream_block`]) and sends chunks through a channel of
    /// [`CHUNKS_AHEAD`]; each shard is generated once the steps it reads have arrived
    /// ([`SubblockShards::outlined`]). The same shards, in the same order.
    fn produce_from_executor<F: PlanField + PrimeField32, J: Send>(
        &self,
        queue: &ShardQueue<QueuedShard<F>, J>,
        limit: usize,
        streamed: &ExecutorStream<'_>,
    ) -> Result<(), ProveError> {
        let outlines = self
            .execution
            .subblocks
            .iter()
            .map(|s| s.outline.clone())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ProveError::Internal("a streamed executor without the subblocks' outlines".into())
            })?;
        let (send, receive) = std::sync::mpsc::sync_channel::<TraceChunk>(CHUNKS_AHEAD);
        let (result, executed) = std::thread::scope(|scope| {
            let executor = scope.spawn(move || {
                // A send fails once shard generation has stopped: the chunk is dropped and the
                // executor records no more (the block runs on untraced to its end).
                let sink = Box::new(move |chunk| send.send(chunk).is_ok());
                stream_block(
                    streamed.input,
                    &streamed.options,
                    outlines,
                    streamed.chunk_steps,
                    sink,
                )
            });
            let result = self.consume_chunks(queue, limit, &receive);
            // Unblocks the executor if it still sends, so that it can end.
            drop(receive);
            (result, executor.join())
        });
        if result.is_err() {
            queue.stop();
        }
        let executed = executed
            .map_err(|_| ProveError::Internal("the streamed executor's thread panicked".into()))?;
        // The executor's error explains a trace that stopped short.
        executed?;
        result
    }

    /// Generates the shards of the trace `receive` hands over, one at a time in proof order.
    fn consume_chunks<F: PlanField + PrimeField32, J: Send>(
        &self,
        queue: &ShardQueue<QueuedShard<F>, J>,
        limit: usize,
        receive: &std::sync::mpsc::Receiver<TraceChunk>,
    ) -> Result<(), ProveError> {
        let planner = OnceLock::new();
        let mut position = 0;
        let mut chunks = Chunks {
            receive,
            held: None,
        };
        for (i, sub) in self.execution.subblocks.iter().enumerate() {
            let Some(outline) = sub.outline.as_ref().filter(|o| o.steps > 0) else {
                continue;
            };
            let binding = shard_binding::<F>(&self.block, &self.subblocks[i]);
            let mut shards =
                SubblockShards::outlined(i, outline, self.max_rows, self.budget, self.settings)?;
            let mut trace = SubblockTrace {
                block_context: self.execution.context.clone(),
                ..SubblockTrace::default()
            };
            loop {
                if !queue.reserve(limit) {
                    return Ok(());
                }
                // The next shard reads its steps, the one before and the one after, and their
                // stack words: earlier steps and words are dropped (the window), later steps
                // awaited.
                if let Some(range) = shards.next_range() {
                    trace.release_before(range.start.saturating_sub(1));
                    chunks
                        .fill(i, &mut trace, (range.end + 1).min(outline.steps))
                        .inspect_err(|_| queue.release())?;
                }
                let Some(fitted) = shards
                    .next::<F>(&trace, &planner)
                    .inspect_err(|_| queue.release())?
                else {
                    queue.release();
                    break;
                };
                queue.publish(position, vec![queued(i, fitted, binding.clone())]);
                position += 1;
            }
        }
        Ok(())
    }

    /// Subblock `i`'s shards, fitted to the budget and bound to their block and subblock.
    fn generate<F: PlanField + PrimeField32>(
        &self,
        i: usize,
        planner: &OnceLock<Result<crate::memory::ShardPlanner, String>>,
    ) -> Result<Vec<QueuedShard<F>>, ProveError> {
        let fitted = fit_subblock::<F>(
            i,
            &self.execution.subblocks[i].trace,
            self.max_rows,
            self.budget,
            planner,
            self.settings,
        )?;
        let binding = shard_binding::<F>(&self.block, &self.subblocks[i]);
        Ok(fitted
            .shards
            .into_iter()
            .zip(fitted.plans)
            .zip(fitted.areas)
            .zip(fitted.cut_to_fit)
            .map(|(((shard, plan), areas), cut_to_fit)| {
                queued(
                    i,
                    FittedShard {
                        shard,
                        plan,
                        areas,
                        cut_to_fit,
                    },
                    binding.clone(),
                )
            })
            .collect())
    }
}

/// The chunks of a streamed executor, taken subblock by subblock.
struct Chunks<'r> {
    receive: &'r std::sync::mpsc::Receiver<TraceChunk>,
    /// A chunk received for a later subblock than the one being filled.
    held: Option<TraceChunk>,
}

impl Chunks<'_> {
    /// Appends subblock `i`'s chunks to `trace` until it holds `steps` steps. Chunks of earlier
    /// subblocks (those without steps) are skipped.
    fn fill(
        &mut self,
        i: usize,
        trace: &mut SubblockTrace,
        steps: usize,
    ) -> Result<(), ProveError> {
        let short = |reason: String| ProveError::TraceGeneration {
            subblock: i,
            reason,
        };
        while trace.steps.len() < steps {
            let chunk = match self.held.take() {
                Some(chunk) => chunk,
                // A closed channel: the executor stopped (its error is reported instead).
                None => self.receive.recv().map_err(|_| {
                    short(format!(
                        "the streamed executor stopped after {} of its steps",
                        trace.steps.len()
                    ))
                })?,
            };
            if chunk.subblock < i {
                continue;
            }
            if chunk.subblock > i {
                self.held = Some(chunk);
                return Err(short(format!(
                    "the streamed executor ended the subblock after {} of its steps",
                    trace.steps.len()
                )));
            }
            trace
                .append_chunk(chunk)
                .map_err(|e| short(e.to_string()))?;
        }
        Ok(())
    }
}

/// A fitted shard of subblock `i`, bound to its block and subblock, with its report.
fn queued<F: Clone>(i: usize, fitted: FittedShard<F>, binding: Vec<F>) -> QueuedShard<F> {
    let FittedShard {
        mut shard,
        plan,
        areas,
        cut_to_fit,
    } = fitted;
    shard.bind(binding);
    QueuedShard {
        report: ShardReport {
            subblock: i,
            index: 0,
            steps: shard.steps.clone(),
            planned_device_bytes: plan.peak,
            peak_phase: plan.peak_phase,
            cut_to_fit,
            device: None,
            measured_device_bytes: None,
            tables: areas,
            shape: shard.shape,
            phases: Vec::new(),
        },
        shard,
    }
}

/// Stops the queue when a lane panics, so that a producer waiting for a shard in flight to be
/// proven (streaming) does not wait forever; the panic is then resumed when the lane is joined.
struct StopOnPanic<'a, T, J>(&'a ShardQueue<T, J>);

impl<T, J> Drop for StopOnPanic<'_, T, J> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// A proven shard: its proof, how long it took, and its report (with the device that proved it).
pub(crate) struct ProvenShard {
    pub(crate) proof: ShardProof,
    pub(crate) time: Duration,
    pub(crate) report: ShardReport,
}

/// A block's shards, generated and proven.
pub(crate) struct ProvenShards {
    /// In proof order.
    pub(crate) shards: Vec<ProvenShard>,
    /// Wall time of trace generation (overlaps `prove` when overlapped).
    pub(crate) tracegen: Duration,
    /// Wall time from the first shard taken by a lane to the last one proven.
    pub(crate) prove: Duration,
    /// With aggregation: the tree over the shards (`None` without shards), and the wall time
    /// from the last shard proven to the root proven (what overlapping did not hide).
    pub(crate) tree: Option<(Option<OverlappedTree>, Duration)>,
    /// The subblock of every shard generated, in proof order (proven or not: the plan that
    /// distributed proving checks workers against).
    pub(crate) planned: Vec<usize>,
}

fn prove_one<F: PrimeField32>(
    lane: &Lane<F>,
    index: usize,
    q: QueuedShard<F>,
) -> Result<ProvenShard, ProveError> {
    let QueuedShard { shard, mut report } = q;
    report.index = index;
    // The shard's own buffers: the lane may already hold some (the recursion programs' keys).
    let held_before = lane.meter.as_ref().map(|m| {
        m.reset_peak();
        m.live()
    });
    let t = Instant::now();
    let (bytes, phases) = lane
        .prover
        .prove_shard(&shard)
        .map_err(|reason| ProveError::Shard {
            subblock: report.subblock,
            shard: report.index,
            reason,
        })?;
    report.device = lane.device;
    report.phases = phases.phases;
    report.measured_device_bytes = lane
        .meter
        .as_ref()
        .zip(held_before)
        .map(|(m, held)| m.peak().saturating_sub(held));
    Ok(ProvenShard {
        proof: ShardProof {
            subblock: report.subblock as u32,
            public_values: canonical(&shard.public_values),
            proof: bytes,
        },
        time: t.elapsed(),
        report,
    })
}

/// Sets its flag when dropped.
struct SetOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn canonical<F: PrimeField32>(v: &[Vec<F>]) -> Vec<Vec<u32>> {
    v.iter()
        .map(|x| x.iter().map(|f| f.as_canonical_u32()).collect())
        .collect()
}

/// Generate `source`'s shards and prove them on `lanes`, overlapped or one after the other;
/// with `tree`, aggregate them too, overlapped with shard proving (see [`crate::tree_jobs`]).
///
/// The CPU (one lane without a device) proves every shard and node it takes in parallel on
/// rayon; a CUDA lane (one stream) proves one shard or node at a time on a thread of its own (it
/// mostly waits on its device, so it does not hold a rayon worker), taking the next ready node,
/// else the next shard, when free. After an error no more work is taken; the error returned is
/// the first failed shard in proof order, else the trace generation error, else the first
/// failed node.
pub(crate) fn generate_and_prove<F: PlanField + PrimeField32>(
    source: &ShardSource<'_>,
    lanes: &[Lane<F>],
    overlap: bool,
    tree: Option<&TreeJobs<'_>>,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &CancelToken,
) -> Result<ProvenShards, ProveError> {
    let queue = ShardQueue::<QueuedShard<F>, NodeJob>::new();
    let results: Mutex<BTreeMap<usize, Result<ProvenShard, ProveError>>> = Default::default();
    let node_error: Mutex<Option<AggregateError>> = Mutex::new(None);
    let last_shard_proven: Mutex<Option<Instant>> = Mutex::new(None);
    let planned: Mutex<BTreeMap<usize, usize>> = Default::default();
    // Notes shard `index`'s subblock; a shard not asked for (`ShardSource::only`) is dropped
    // here, as done work, and `None` comes back.
    let admit = |index: usize, q: QueuedShard<F>| {
        planned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(index, q.report.subblock);
        if source.wanted(index) {
            return Some(q);
        }
        drop(q);
        queue.release();
        queue.done(None);
        None
    };
    // Streaming needs lanes taking shards while the producer waits for them: only with overlap.
    let limit = source.shards_in_flight.filter(|_| overlap);
    let record = |index: usize, r: Result<ProvenShard, ProveError>| {
        let mut leaf = None;
        match &r {
            Ok(p) => {
                progress(Progress::ShardProven(index));
                if tree.is_some() {
                    leaf = Some(NodeJob::Leaf {
                        shard: index,
                        proof: p.proof.clone(),
                    });
                }
                let now = Instant::now();
                let mut last = last_shard_proven.lock().unwrap_or_else(|e| e.into_inner());
                *last = Some(last.map_or(now, |t| t.max(now)));
            }
            Err(_) => queue.stop(),
        }
        results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(index, r);
        // After the shard's traces are dropped (in `prove_one`): the producer may make the next.
        queue.release();
        queue.done(leaf);
    };
    let run_job = |lane: &Lane<F>, job: NodeJob| {
        let next = match (tree, lane.nodes.as_deref()) {
            (Some(tree), Some(provers)) => tree.run(job, provers),
            _ => Err(AggregateError::Internal(
                "a tree node was queued for a lane without recursion provers".into(),
            )),
        };
        match next {
            Ok(next) => queue.done(next),
            Err(e) => {
                node_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(e);
                queue.stop();
                queue.done(None);
            }
        }
    };
    let produce = || {
        let t = Instant::now();
        let generated = match limit {
            Some(limit) => source.produce_streaming(&queue, limit),
            None => source.produce(&queue),
        };
        // The shard count lets the tree move odd nodes up and find its top: told before any
        // lane can see the queue closed.
        let n = queue.close_with(|n| match (tree, &generated) {
            (Some(tree), Ok(())) => tree.shards_planned(n),
            _ => Vec::new(),
        });
        if generated.is_ok() {
            progress(Progress::ShardsPlanned(n));
        }
        (generated.map(|()| n), t.elapsed())
    };
    let proving_done = std::sync::atomic::AtomicBool::new(false);
    let ((generated, tracegen), end) = std::thread::scope(|scope| {
        // Cancellation stops the queue (no shard or node is started after it); checked every
        // 10 ms, far below a shard's proving time.
        let (watched, done) = (&queue, &proving_done);
        // Ends the watcher however this scope ends (a panic included).
        let end_watch = SetOnDrop(done);
        scope.spawn(move || {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if cancel.is_cancelled() {
                    watched.stop();
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let before = (!overlap).then(produce);
        let mut lane_threads = Vec::with_capacity(lanes.len());
        for lane in lanes {
            let (queue, record, run_job, admit) = (&queue, &record, &run_job, &admit);
            lane_threads.push(scope.spawn(move || {
                let _stop = StopOnPanic(queue);
                if lane.device.is_some() {
                    while let Some(work) = queue.take() {
                        match work {
                            Work::Shard(index, q) => {
                                if let Some(q) = admit(index, q) {
                                    record(index, prove_one(lane, index, q))
                                }
                            }
                            Work::Job(job) => run_job(lane, job),
                        }
                    }
                } else {
                    // Not on a rayon worker (this thread), so waiting for the next shard holds
                    // none of the workers that generate and prove.
                    rayon::in_place_scope(|s| {
                        while let Some(work) = queue.take() {
                            match work {
                                // One shard proof at a time, on this thread (its parallel parts
                                // run on the pool): a second proof at once would add its own
                                // LDEs to memory (1.3 GB a heavy shard) for no throughput, as
                                // each proof already uses every core. The producer generates
                                // the next shard meanwhile.
                                Work::Shard(index, q) => {
                                    if let Some(q) = admit(index, q) {
                                        record(index, prove_one(lane, index, q))
                                    }
                                }
                                // Tree jobs run beside it (small, and partly serial).
                                Work::Job(job) => s.spawn(move |_| {
                                    let _stop = StopOnPanic(queue);
                                    run_job(lane, job)
                                }),
                            }
                        }
                    });
                }
            }));
        }
        // The producer of a stream waits for proofs: on a thread of its own, never on a rayon
        // worker that a proof might need.
        let generated = match before {
            Some(g) => g,
            None => match scope.spawn(produce).join() {
                Ok(g) => g,
                Err(panic) => {
                    // Lanes waiting for the next shard must end before the panic can go on.
                    queue.stop();
                    std::panic::resume_unwind(panic)
                }
            },
        };
        for t in lane_threads {
            if let Err(panic) = t.join() {
                std::panic::resume_unwind(panic);
            }
        }
        drop(end_watch);
        (generated, Instant::now())
    });
    if cancel.is_cancelled() {
        return Err(ProveError::Cancelled);
    }
    let last_shard_proven = last_shard_proven
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let prove = match (queue.first_taken(), last_shard_proven) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };

    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = results.iter().find(|(_, r)| r.is_err()).map(|(&k, _)| k)
        && let Some(Err(e)) = results.remove(&k)
    {
        return Err(e);
    }
    let published = generated?;
    if let Some(e) = node_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(ProveError::Aggregation(e));
    }
    // Without an error every published shard was taken and proven; a gap would be a bug here,
    // reported rather than numbered wrongly.
    if let Some(k) = (0..published).find(|&k| source.wanted(k) && !results.contains_key(&k)) {
        return Err(ProveError::Internal(format!(
            "shard {k} was published but never proven"
        )));
    }
    let shards = results.into_values().collect::<Result<Vec<_>, _>>()?;
    let tree = match tree {
        Some(tree) => {
            let tail = last_shard_proven.map_or(Duration::ZERO, |t| end.duration_since(t));
            Some((tree.finish()?, tail))
        }
        None => None,
    };
    let planned: Vec<usize> = planned
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_values()
        .collect();
    if planned.len() != published {
        return Err(ProveError::Internal(format!(
            "{published} shards were published, {} taken",
            planned.len()
        )));
    }
    Ok(ProvenShards {
        shards,
        tracegen,
        prove,
        tree,
        planned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next shard and its index, done at once (no jobs).
    fn take_shard<T>(q: &ShardQueue<T>) -> Option<(usize, T)> {
        match q.take()? {
            Work::Shard(k, item) => {
                q.done(None);
                Some((k, item))
            }
            Work::Job(()) => panic!("no jobs are queued here"),
        }
    }

    /// Items named by (subblock, shard within it).
    fn taken(q: &ShardQueue<(usize, usize)>) -> Vec<(usize, (usize, usize))> {
        std::iter::from_fn(|| take_shard(q)).collect()
    }

    #[test]
    fn subblocks_finished_out_of_order_are_published_in_order() {
        let q = ShardQueue::new();
        q.publish(2, vec![(5, 0)]);
        q.publish(1, vec![(3, 0), (3, 1)]);
        // Position 0 is not there yet: nothing is published.
        assert_eq!(q.lock().published.len(), 0);
        q.publish(0, vec![(0, 0)]);
        assert_eq!(q.close(), 4);
        assert_eq!(
            taken(&q),
            vec![(0, (0, 0)), (1, (3, 0)), (2, (3, 1)), (3, (5, 0))]
        );
    }

    #[test]
    fn a_lane_waits_for_the_next_shard_and_ends_when_the_queue_closes() {
        let q = ShardQueue::new();
        std::thread::scope(|s| {
            let lane = s.spawn(|| taken(&q));
            q.publish(0, vec![(0, 0)]);
            q.publish(1, vec![(1, 0)]);
            q.close();
            assert_eq!(lane.join().unwrap(), vec![(0, (0, 0)), (1, (1, 0))]);
        });
        assert!(q.first_taken().is_some());
    }

    #[test]
    fn a_stopped_queue_hands_out_nothing_more() {
        let q = ShardQueue::new();
        q.publish(0, vec![(0, 0), (0, 1)]);
        assert_eq!(take_shard(&q), Some((0, (0, 0))));
        q.stop();
        assert!(q.is_stopped());
        assert_eq!(take_shard(&q), None);
        // A lane waiting on an open queue is released by a stop, too.
        let open = ShardQueue::<(usize, usize)>::new();
        std::thread::scope(|s| {
            let lane = s.spawn(|| take_shard(&open));
            open.stop();
            assert_eq!(lane.join().unwrap(), None);
        });
    }

    #[test]
    fn jobs_come_first_and_lanes_wait_while_work_may_make_one() {
        let q: ShardQueue<u32, &str> = ShardQueue::new();
        q.publish(0, vec![7]);
        // Jobs the shard count makes ready are queued with the close.
        let n = q.close_with(|n| {
            assert_eq!(n, 1);
            vec!["moved up"]
        });
        assert_eq!(n, 1);
        assert!(matches!(q.take(), Some(Work::Job("moved up"))));
        assert!(matches!(q.take(), Some(Work::Shard(0, 7))));
        // Both taken, neither done: a lane waits, since finishing them may make a job.
        std::thread::scope(|s| {
            let lane = s.spawn(|| q.take().map(|w| matches!(w, Work::Job("root"))));
            q.done(None);
            q.done(Some("root"));
            assert_eq!(lane.join().unwrap(), Some(true));
        });
        q.done(None);
        assert!(q.take().is_none());
    }

    /// A tree node that fails stops the queue: no hang, the node's typed error.
    #[test]
    fn a_failed_tree_node_stops_proving_with_its_error() {
        use crate::aggregate::AggregationProgress;
        use crate::backend::{BackendField, DevicePool, ProverBackend};
        use crate::proof::{BlockPublicValues, SubblockPublicValues};
        use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};

        let input = BlockInput::from_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/transfers.json"
        ))
        .unwrap();
        let execution = execute_block(
            &input,
            &ExecuteOptions {
                subblock_gas: 100_000,
                record_trace: true,
            },
        )
        .unwrap();
        let block = BlockPublicValues::of_execution(&execution);
        let subblocks = SubblockPublicValues::of_execution(&execution);
        let source = ShardSource {
            execution: &execution,
            streamed: None,
            block: block.claim(),
            subblocks: subblocks.iter().map(SubblockPublicValues::claim).collect(),
            max_rows: 128,
            budget: None,
            settings: FriSettings::DEFAULT,
            shards_in_flight: Some(1),
            incremental_analysis: true,
            only: None,
        };
        // Lanes made without recursion provers: the first leaf job fails.
        let lanes = <slotproof_prover::KoalaBear as BackendField>::lanes(
            &ProverBackend::Cpu,
            &DevicePool::new(false),
            1,
            FriSettings::DEFAULT,
            false,
        )
        .unwrap();
        let nodes = Mutex::new(Vec::new());
        let report = |p: AggregationProgress| nodes.lock().unwrap().push(p);
        let tree = TreeJobs::new(&report);
        match generate_and_prove(
            &source,
            &lanes,
            true,
            Some(&tree),
            &|_| {},
            &CancelToken::new(),
        ) {
            Err(ProveError::Aggregation(AggregateError::Internal(_))) => {}
            other => panic!("expected the node's error, got {:?}", other.err()),
        }
        assert!(
            nodes
                .into_inner()
                .unwrap()
                .iter()
                .all(|p| matches!(p, AggregationProgress::NodesPlanned(_))),
            "no node was proven"
        );
    }
}

#[cfg(test)]
mod streamed_executor_tests {
    use super::*;
    use crate::proof::{BlockPublicValues, SubblockPublicValues};
    use slotproof_executor::{execute_block, outline_block};
    use slotproof_prover::KoalaBear;

    /// A shard as the queue hands it out: its index, subblock, steps, public values, tables.
    type Taken = (
        usize,
        usize,
        std::ops::Range<usize>,
        Vec<Vec<KoalaBear>>,
        Vec<p3_matrix::dense::RowMajorMatrix<KoalaBear>>,
    );

    /// Every shard `execution` (with `streamed`: its trace from that run) gives, streamed one
    /// at a time through a queue.
    fn shards(
        execution: &BlockExecution,
        streamed: Option<ExecutorStream<'_>>,
        max_rows: usize,
    ) -> Vec<Taken> {
        let block = BlockPublicValues::of_execution(execution);
        let subblocks = SubblockPublicValues::of_execution(execution);
        let source = ShardSource {
            execution,
            streamed,
            block: block.claim(),
            subblocks: subblocks.iter().map(SubblockPublicValues::claim).collect(),
            max_rows,
            budget: None,
            settings: FriSettings::DEFAULT,
            shards_in_flight: Some(1),
            incremental_analysis: true,
            only: None,
        };
        let queue = ShardQueue::<QueuedShard<KoalaBear>, ()>::new();
        std::thread::scope(|scope| {
            let taker = scope.spawn(|| {
                let mut taken = Vec::new();
                while let Some(Work::Shard(k, q)) = queue.take() {
                    let s = q.shard;
                    taken.push((k, q.report.subblock, s.steps, s.public_values, s.traces));
                    queue.release();
                    queue.done(None);
                }
                taken
            });
            source.produce_streaming(&queue, 1).unwrap();
            queue.close_with(|_| Vec::new());
            taker.join().unwrap()
        })
    }

    /// The executor streamed into shard generation (chunks of another size than the shards,
    /// through the bounded channel, each shard generated once its steps have arrived) gives the
    /// recorded traces' shards, in order: blocks of several subblocks, some without steps,
    /// cut inside transactions and calls.
    #[test]
    fn a_streamed_executor_gives_the_recorded_traces_shards() {
        for (fixture, subblock_gas, max_rows, chunk_steps) in [
            ("transfers", 100_000, 128, 100),
            ("mixed", 1_000_000, 1 << 10, 700),
        ] {
            let path = format!(
                "{}/../../fixtures/{fixture}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let input = BlockInput::from_path(&path).unwrap();
            let options = ExecuteOptions {
                subblock_gas,
                record_trace: true,
            };
            let recorded = execute_block(&input, &options).unwrap();
            let outlined = outline_block(&input, &options).unwrap();
            let whole = shards(&recorded, None, max_rows);
            let streamed = ExecutorStream {
                input: &input,
                options: options.clone(),
                chunk_steps,
            };
            let from_executor = shards(&outlined, Some(streamed), max_rows);
            let subblocks: std::collections::BTreeSet<usize> = whole.iter().map(|t| t.1).collect();
            assert!(
                whole.len() >= 3 && subblocks.len() >= 2,
                "{fixture}: {} shards",
                whole.len()
            );
            assert!(
                recorded.subblocks.iter().any(|s| s.trace.steps.is_empty()) || fixture == "mixed",
                "{fixture}: every subblock runs steps"
            );
            assert!(from_executor == whole, "{fixture}: other shards");
        }
    }
}
