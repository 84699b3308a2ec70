//! Planned device memory per shard, and shards re-cut until they fit a device's budget.
//!
//! Every shard is planned with `slotproof_prover::device_memory` (the CUDA backend's resident
//! buffers per phase, from the shard's table heights and its chips' compiled constraint
//! programs), on every backend: a CPU run reports what each shard would need on a GPU. With a
//! budget (the CUDA device's free memory per stream, or one set on the builder) a shard whose
//! plan exceeds it is cut again, before anything is proven, into `2^halvings` parts of its step
//! range, where `halvings` is what `device_memory::fit` asks for; the parts are planned with the
//! same shard planner as the rest (`plan_shards_in`), so they are ordinary shards that chain
//! like any other. A shard that cannot be cut small enough is a typed error, never an
//! out-of-memory crash on the device.

use core::ops::Range;

use p3_field::PrimeField32;
use rayon::prelude::*;
use slotproof_air::shard::{
    DetachedShardStream, NUM_INSTANCES, Padding, Shard, ShardStream, plan_shards, plan_shards_of,
};
use slotproof_air::{EvmAir, TraceError, shape};
use slotproof_executor::trace::{SegmentRecord, SubblockOutline, SubblockTrace};
use slotproof_prover::device_memory::{Fit, MemoryPlan, Phase, ShardShape, TableShape, fit, plan};
use slotproof_prover::{
    BabyBear, CpuShardProver, FriSettings, KoalaBear, ProverConfig, ProverField, ShardPrograms,
};
use std::sync::{Arc, Mutex};

use crate::prove::ProveError;

/// What a prove run reports about one shard (not part of the proof).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardReport {
    pub subblock: usize,
    /// Position in the block proof's shard list.
    pub index: usize,
    /// The subblock steps it proves (its CPU table rows before padding to a power of two).
    pub steps: Range<usize>,
    /// Planned peak device memory of a CUDA proof of this shard (computed, not measured).
    pub planned_device_bytes: u64,
    /// The proof phase of that peak.
    pub peak_phase: Phase,
    /// Whether the shard is a part of a shard that was cut again to fit the memory budget.
    pub cut_to_fit: bool,
    /// The CUDA device that proved it (`None` on the CPU).
    pub device: Option<usize>,
    /// Measured on CUDA: the most bytes of the proof's resident device buffers (matrices,
    /// Merkle trees, FRI codewords) alive at once, counted as the prover held them
    /// (`slotproof_cuda::prover_backend::MeteredEngine`; a kernel's scratch within one launch
    /// is not included). The proof's own buffers only: what the lane already held when the
    /// proof started (with aggregation, its recursion programs' committed keys) is not counted
    /// here, nor in the plan. `None` on the CPU.
    pub measured_device_bytes: Option<u64>,
    /// Trace area per table (committed cells, padded heights), from the shard's shape.
    pub tables: Vec<TableArea>,
    /// The shape of the menu (`slotproof_air::shape::SHARD_SHAPES`) its tables are padded to.
    pub shape: Option<usize>,
    /// Wall time of each phase of the shard's proof (`slotproof_prover::PhaseTimings`), in
    /// order; empty until the shard is proven.
    pub phases: Vec<(&'static str, std::time::Duration)>,
}

impl ShardReport {
    /// Cells committed for this shard over all its tables (main, LogUp and quotient traces,
    /// at trace height, before the blowup).
    pub fn committed_cells(&self) -> u64 {
        self.tables.iter().map(TableArea::committed_cells).sum()
    }

    /// [`Self::committed_cells`] at the tables' natural heights (without the shape's padding).
    pub fn natural_committed_cells(&self) -> u64 {
        self.tables
            .iter()
            .map(TableArea::natural_committed_cells)
            .sum()
    }

    /// Committed cells per EVM step proven (padding and the fixed tables included).
    pub fn cells_per_step(&self) -> f64 {
        self.committed_cells() as f64 / self.steps.len().max(1) as f64
    }
}

/// The committed trace area of one table of a shard, in base-field cells at trace height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableArea {
    pub name: String,
    /// Padded height (a power of two): the shard shape's.
    pub height: u64,
    /// The height without a shape: its rows padded to a power of two (at least 4).
    pub natural_height: u64,
    pub main_width: usize,
    /// LogUp trace width in extension columns.
    pub permutation_width: usize,
    /// Quotient chunks (each an extension column of `height` rows).
    pub quotient_chunks: usize,
}

impl TableArea {
    /// Degree of the extension field the LogUp and quotient traces live in.
    const EXTENSION_DEGREE: u64 = 4;

    fn from_shape(t: &TableShape, natural_log_height: usize) -> Self {
        Self {
            name: t.name.clone(),
            height: 1 << t.log_height,
            natural_height: 1 << natural_log_height,
            main_width: t.main_width,
            permutation_width: t.permutation_width,
            quotient_chunks: 1 << t.log_quotient_chunks,
        }
    }

    pub fn main_cells(&self) -> u64 {
        self.height * self.main_width as u64
    }

    /// Main + LogUp + quotient cells: what the shard's commitments cover, per table.
    pub fn committed_cells(&self) -> u64 {
        self.cells_at(self.height)
    }

    /// [`Self::committed_cells`] at the natural height: what the table would commit without
    /// its shape's padding.
    pub fn natural_committed_cells(&self) -> u64 {
        self.cells_at(self.natural_height)
    }

    fn cells_at(&self, height: u64) -> u64 {
        let ext_columns = (self.permutation_width + self.quotient_chunks) as u64;
        height * (self.main_width as u64 + ext_columns * Self::EXTENSION_DEGREE)
    }
}

/// Every table's area in a shard of `shape` whose tables' natural log heights are `natural`.
pub(crate) fn table_areas(shape: &ShardShape, natural: &[usize]) -> Vec<TableArea> {
    shape
        .tables
        .iter()
        .zip(natural)
        .map(|(t, &n)| TableArea::from_shape(t, n))
        .collect()
}

/// Per chip of a shard, what its [`TableShape`] needs besides its height.
#[derive(Clone, Debug)]
pub(crate) struct ShardPlanner {
    tables: Vec<TableShape>,
    settings: FriSettings,
}

impl ShardPlanner {
    /// Compile the chips' constraint programs (as the prover does, at `shard`'s heights; the
    /// quotient size depends on constraint degrees, not heights).
    pub(crate) fn new<F: PlanField>(
        shard: &Shard<F>,
        settings: FriSettings,
    ) -> Result<Self, ProveError> {
        let heights = log_heights(shard);
        let tables = F::table_shapes(shard, &heights, settings)?;
        Ok(Self { tables, settings })
    }

    /// The shape of `shard` (its own table heights).
    pub(crate) fn shape<F: Clone + Send + Sync>(&self, shard: &Shard<F>) -> ShardShape {
        self.shape_at(&log_heights(shard))
    }

    /// The shape of a shard whose tables have these log heights.
    pub(crate) fn shape_at(&self, log_heights: &[usize]) -> ShardShape {
        let tables = self
            .tables
            .iter()
            .zip(log_heights.iter().copied())
            .map(|(t, h)| TableShape {
                log_height: h,
                ..t.clone()
            })
            .collect();
        ShardShape::new(tables, &self.settings)
    }
}

/// The fields whose chips' programs the planner compiles (the prover's types are per field).
pub(crate) trait PlanField:
    slotproof_air::CarryField + ProverField + Clone + Send + Sync
{
    /// Every chip's table shape at `heights`, from its compiled constraint program.
    fn table_shapes(
        shard: &Shard<Self>,
        heights: &[usize],
        settings: FriSettings,
    ) -> Result<Vec<TableShape>, ProveError>;

    /// The chips' compiled constraint programs, compiled once per process for each list of
    /// chips and settings (at the first caller's `heights`: programs do not depend on heights)
    /// and shared by the planner and every shard proof.
    fn shard_programs(
        airs: &[EvmAir],
        heights: &[usize],
        settings: FriSettings,
    ) -> Result<Arc<ShardPrograms<ProverConfig<Self>>>, ProveError>;

    /// [`Self::shard_programs`] if this process has compiled them already (verification uses
    /// their key when the heights agree, and compiles nothing).
    fn compiled_programs(
        airs: &[EvmAir],
        settings: FriSettings,
    ) -> Option<Arc<ShardPrograms<ProverConfig<Self>>>> {
        Self::programs_cache()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(a, s, _)| a.as_slice() == airs && *s == settings)
            .map(|(_, _, p)| p.clone())
    }

    /// This process's compiled programs: one entry per list of chips and settings.
    fn programs_cache() -> &'static Mutex<CachedPrograms<Self>>;
}

type CachedPrograms<F> = Vec<(
    Vec<EvmAir>,
    FriSettings,
    Arc<ShardPrograms<ProverConfig<F>>>,
)>;

macro_rules! plan_field {
    ($F:ty) => {
        impl PlanField for $F {
            fn shard_programs(
                airs: &[EvmAir],
                heights: &[usize],
                settings: FriSettings,
            ) -> Result<Arc<ShardPrograms<ProverConfig<$F>>>, ProveError> {
                if let Some(p) = <$F as PlanField>::compiled_programs(airs, settings) {
                    return Ok(p);
                }
                // Compiled without the lock held: compiling runs on rayon, whose workers may
                // pick up another proof that asks for the same programs.
                let compiled = CpuShardProver::<$F>::cpu(settings)
                    .compile_programs(airs, heights)
                    .map_err(|e| {
                        ProveError::Settings(format!("compiling the chips' programs: {e}"))
                    })?;
                let mut cache = Self::programs_cache()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                // Another thread may have compiled them meanwhile: keep the first.
                if let Some((_, _, p)) = cache
                    .iter()
                    .find(|(a, s, _)| a.as_slice() == airs && *s == settings)
                {
                    return Ok(p.clone());
                }
                let p = Arc::new(compiled);
                cache.push((airs.to_vec(), settings, p.clone()));
                Ok(p)
            }

            fn programs_cache() -> &'static Mutex<CachedPrograms<Self>> {
                static CACHE: Mutex<CachedPrograms<$F>> = Mutex::new(Vec::new());
                &CACHE
            }

            fn table_shapes(
                shard: &Shard<Self>,
                heights: &[usize],
                settings: FriSettings,
            ) -> Result<Vec<TableShape>, ProveError> {
                let programs = <$F as PlanField>::shard_programs(&shard.airs, heights, settings)?
                    .instance_programs();
                shard
                    .airs
                    .iter()
                    .zip(&programs)
                    .zip(heights)
                    .map(|((air, p), &h)| {
                        TableShape::from_program(
                            air.name(),
                            h,
                            &p.program,
                            p.log_quotient_chunks,
                            scales_with_shard(air),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ProveError::Settings(format!("planning device memory: {e}")))
            }
        }
    };
}

plan_field!(KoalaBear);
plan_field!(BabyBear);

pub(crate) fn log_heights<F: Clone + Send + Sync>(shard: &Shard<F>) -> Vec<usize> {
    use p3_matrix::Matrix;
    shard
        .traces
        .iter()
        .map(|t| t.height().trailing_zeros() as usize)
        .collect()
}

/// Tables whose height follows the shard's steps; the opcode table and range tables are fixed,
/// and the carry table follows the state carried at the shard's two cuts, which cutting the
/// shard again does not shrink.
fn scales_with_shard(air: &EvmAir) -> bool {
    !matches!(
        air,
        EvmAir::OpcodeTable(_) | EvmAir::Range(_) | EvmAir::Carry(_)
    )
}

/// How many times a shard must be halved so that none of its tables that grow with its steps
/// (every table but the fixed ones and the bytecode, which holds the code it runs) is taller
/// than `max_rows`, the cap of its CPU table: `None` if none is. One EXP step adds hundreds of
/// multiplication rows, so a shard of few steps can otherwise hold a table far taller than any
/// other shard's, which the prover's memory and the leaf's rows would pay for. Measured on the
/// tables' natural heights (a shape pads them further).
fn halvings_to_cap(natural: &[usize; NUM_INSTANCES], max_rows: usize) -> Option<usize> {
    let cap = max_rows.next_power_of_two().trailing_zeros() as usize;
    let tallest = EvmAir::shard_airs()
        .iter()
        .zip(natural)
        .filter(|(air, _)| scales_with_shard(air) && !matches!(air, EvmAir::Bytecode(_)))
        .map(|(_, &h)| h)
        .max()?;
    (tallest > cap).then(|| tallest - cap)
}

/// How many times a shard that fits no shape of the menu is halved: by the most any table
/// exceeds the tallest the menu has for it, at least once (a shard whose tables each fit some
/// shape but no one shape holds them all is halved and tried again).
fn halvings_to_menu(natural: &[usize; NUM_INSTANCES]) -> usize {
    (0..NUM_INSTANCES)
        .map(|t| natural[t].saturating_sub(shape::tallest(t)))
        .max()
        .unwrap_or(0)
        .max(1)
}

/// What planning a subblock's shards reads of it: its length and segments (its trace's, or its
/// outline's before the trace is recorded, issue 18: the same ranges).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cuts<'a> {
    pub(crate) steps: usize,
    pub(crate) segments: &'a [SegmentRecord],
}

impl<'a> Cuts<'a> {
    pub(crate) fn of(trace: &'a SubblockTrace) -> Self {
        Self {
            steps: trace.steps.len(),
            segments: &trace.segments,
        }
    }
}

/// `range` planned again at `1 / 2^halvings` of its steps per shard: the parts of a re-cut
/// shard (cut between segments where possible, like any shard).
fn split_range(
    cuts: Cuts<'_>,
    range: &Range<usize>,
    halvings: usize,
    subblock: usize,
) -> Result<Vec<Range<usize>>, ProveError> {
    let rows = range
        .len()
        .div_ceil(1 << halvings.min(usize::BITS as usize - 1));
    plan_shards_of(cuts.steps, cuts.segments, range.clone(), rows.max(1)).map_err(|e| {
        ProveError::TraceGeneration {
            subblock,
            reason: e.to_string(),
        }
    })
}

/// A shard generated for the menu: padded to its smallest fitting shape, or, if it fits none,
/// its tables' natural log heights (it must be cut).
pub(crate) type MenuShard<F> = Result<Shard<F>, [usize; NUM_INSTANCES]>;

/// The shard of `range` padded to the menu ([`Padding::Menu`]).
fn generate_for_menu<F: slotproof_air::CarryField>(
    stream: &ShardStream<'_>,
    range: Range<usize>,
    subblock: usize,
) -> Result<MenuShard<F>, ProveError> {
    menu_shard(stream.generate_padded(range, &Padding::Menu), subblock)
}

/// A shard generated with [`Padding::Menu`], or the natural heights of one that fits no shape.
fn menu_shard<F>(
    generated: Result<Shard<F>, TraceError>,
    subblock: usize,
) -> Result<MenuShard<F>, ProveError> {
    match generated {
        Ok(shard) => Ok(Ok(shard)),
        Err(TraceError::NoShapeFits { natural, .. }) => Ok(Err(*natural)),
        Err(e) => Err(ProveError::TraceGeneration {
            subblock,
            reason: e.to_string(),
        }),
    }
}

/// The parts to re-cut `shard` (of `range`, the `k`-th of its subblock) into, or `None` if it
/// stays whole: first if it fits no shape of the menu ([`halvings_to_menu`]; a one-step shard
/// cannot be cut and is [`ProveError::NoShapeFits`]) or a table outgrows `max_rows`
/// ([`halvings_to_cap`]; a one-step shard stays), then, with a `budget`, if its plan is over it
/// ([`parts_to_fit`]).
#[allow(clippy::too_many_arguments)]
fn parts_to_recut<F: Clone + Send + Sync>(
    cuts: Cuts<'_>,
    range: &Range<usize>,
    shard: &MenuShard<F>,
    plan: Option<&MemoryPlan>,
    planner: Option<&ShardPlanner>,
    budget: Option<u64>,
    max_rows: usize,
    subblock: usize,
    k: usize,
) -> Result<Option<Vec<Range<usize>>>, ProveError> {
    let natural = match shard {
        Ok(s) => &s.natural_log_heights,
        Err(natural) => natural,
    };
    let to_menu = match shard {
        Ok(_) => None,
        Err(natural) if range.len() < 2 => {
            let o = shape::overflow(natural).expect("a shard that fits no shape overflows");
            return Err(ProveError::NoShapeFits {
                subblock,
                shard: k,
                steps: range.clone(),
                table: o.table,
                log_height: o.log_height,
                largest: o.largest,
            });
        }
        Err(natural) => Some(halvings_to_menu(natural)),
    };
    let to_cap = if range.len() >= 2 {
        halvings_to_cap(natural, max_rows)
    } else {
        None
    };
    if let Some(halvings) = to_menu.max(to_cap) {
        return split_range(cuts, range, halvings, subblock).map(Some);
    }
    match (shard, plan, planner, budget) {
        (Ok(shard), Some(plan), Some(planner), Some(budget)) => {
            parts_to_fit(cuts, range, shard, plan, planner, budget, subblock, k)
        }
        _ => Ok(None),
    }
}

/// One subblock's shards with their plans, each within the budget it was fitted to.
pub(crate) struct FittedShards<F> {
    pub(crate) shards: Vec<Shard<F>>,
    pub(crate) plans: Vec<MemoryPlan>,
    /// Per shard: its tables' trace area.
    pub(crate) areas: Vec<Vec<TableArea>>,
    /// Per shard: a part of a re-cut shard.
    pub(crate) cut_to_fit: Vec<bool>,
}

/// The planner, built from `shard` when `planner` is empty.
fn planner_of<'p, F: PlanField>(
    planner: &'p std::sync::OnceLock<Result<ShardPlanner, String>>,
    shard: &Shard<F>,
    settings: FriSettings,
) -> Result<&'p ShardPlanner, ProveError> {
    planner
        .get_or_init(|| ShardPlanner::new(shard, settings).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ProveError::Settings(e.clone()))
}

/// The shards of subblock `subblock`: planned with `max_rows` steps each, each padded to the
/// smallest shape of the menu that fits it; a shard that fits none, or (with a `budget`) whose
/// planned peak exceeds it, re-cut into parts (again until all fit). The planner is built from
/// the first shard generated when `planner` is empty.
pub(crate) fn fit_subblock<F: PlanField + PrimeField32>(
    subblock: usize,
    trace: &SubblockTrace,
    max_rows: usize,
    budget: Option<u64>,
    planner: &std::sync::OnceLock<Result<ShardPlanner, String>>,
    settings: FriSettings,
) -> Result<FittedShards<F>, ProveError> {
    let tracegen = |e: slotproof_air::TraceError| ProveError::TraceGeneration {
        subblock,
        reason: e.to_string(),
    };
    let mut ranges = plan_shards(trace, max_rows).map_err(tracegen)?;
    let mut cut = vec![false; ranges.len()];
    loop {
        let stream = ShardStream::new(trace, &ranges).map_err(tracegen)?;
        let shards: Vec<MenuShard<F>> = ranges
            .par_iter()
            .map(|r| generate_for_menu(&stream, r.clone(), subblock))
            .collect::<Result<_, _>>()?;
        let planner = match shards.iter().find_map(|s| s.as_ref().ok()) {
            Some(first) => Some(planner_of(planner, first, settings)?),
            None => None,
        };
        let shapes: Vec<Option<ShardShape>> = shards
            .iter()
            .map(|s| Some(planner?.shape(s.as_ref().ok()?)))
            .collect();
        let plans: Vec<Option<MemoryPlan>> = shapes.iter().map(|s| s.as_ref().map(plan)).collect();
        let (next, next_cut) = recut_to_fit(
            Cuts::of(trace),
            &ranges,
            &cut,
            &shards,
            &plans,
            planner,
            budget,
            max_rows,
            subblock,
        )?;
        if next.len() == ranges.len() {
            // Nothing was re-cut, so every shard fits a shape and was planned.
            let shards: Vec<Shard<F>> = shards.into_iter().flatten().collect();
            let plans: Vec<MemoryPlan> = plans.into_iter().flatten().collect();
            let areas = shards
                .iter()
                .zip(shapes.iter().flatten())
                .map(|(s, shape)| table_areas(shape, &s.natural_log_heights))
                .collect();
            return Ok(FittedShards {
                shards,
                plans,
                areas,
                cut_to_fit: cut,
            });
        }
        ranges = next;
        cut = next_cut;
    }
}

/// One round of re-cutting: every shard that fits no shape, with a table taller than
/// `max_rows` or (with a `budget`) over the budget replaced by its parts.
#[allow(clippy::too_many_arguments)]
fn recut_to_fit<F: Clone + Send + Sync>(
    cuts: Cuts<'_>,
    ranges: &[Range<usize>],
    cut: &[bool],
    shards: &[MenuShard<F>],
    plans: &[Option<MemoryPlan>],
    planner: Option<&ShardPlanner>,
    budget: Option<u64>,
    max_rows: usize,
    subblock: usize,
) -> Result<(Vec<Range<usize>>, Vec<bool>), ProveError> {
    let mut next = Vec::with_capacity(ranges.len());
    let mut next_cut = Vec::with_capacity(ranges.len());
    for (k, range) in ranges.iter().enumerate() {
        match parts_to_recut(
            cuts,
            range,
            &shards[k],
            plans[k].as_ref(),
            planner,
            budget,
            max_rows,
            subblock,
            k,
        )? {
            None => {
                next.push(range.clone());
                next_cut.push(cut[k]);
            }
            Some(parts) => {
                next_cut.extend(std::iter::repeat_n(true, parts.len()));
                next.extend(parts);
            }
        }
    }
    Ok((next, next_cut))
}

/// `None` if `shard` (of `range`, the `k`-th of its subblock) fits `budget`; else the parts
/// `device_memory::fit` asks to cut it into (each is checked again once generated).
#[allow(clippy::too_many_arguments)]
pub(crate) fn parts_to_fit<F: Clone + Send + Sync>(
    cuts: Cuts<'_>,
    range: &Range<usize>,
    shard: &Shard<F>,
    plan: &MemoryPlan,
    planner: &ShardPlanner,
    budget: u64,
    subblock: usize,
    k: usize,
) -> Result<Option<Vec<Range<usize>>>, ProveError> {
    if plan.peak <= budget {
        return Ok(None);
    }
    let out_of_memory = |needed: u64| ProveError::OutOfDeviceMemory {
        subblock,
        shard: k,
        steps: range.clone(),
        needed,
        available: budget,
    };
    let halvings = match fit(&planner.shape(shard), budget) {
        Ok(Fit::Split { halvings, .. }) => halvings,
        // The plan said it does not fit; the same plan cannot say otherwise.
        Ok(Fit::Fits(_)) => 1,
        Err(e) => return Err(out_of_memory(e.needed)),
    };
    if range.len() < 2 || shard.shape == Some(slotproof_air::shape::SMALLEST_SHAPE) {
        // One step cannot be cut; and the parts of a shard of the smallest shape would be padded
        // to that shape again, so cutting it cannot shrink what it needs.
        return Err(out_of_memory(plan.peak));
    }
    split_range(cuts, range, halvings, subblock).map(Some)
}

/// One shard of a subblock, fitted to the budget, with its plan.
pub(crate) struct FittedShard<F> {
    pub(crate) shard: Shard<F>,
    pub(crate) plan: MemoryPlan,
    pub(crate) areas: Vec<TableArea>,
    pub(crate) cut_to_fit: bool,
}

/// A subblock's shards, generated and fitted one at a time in proof order: the same shards as
/// [`fit_subblock`] (a shard over the budget is replaced by its parts, each checked again),
/// holding only the one being generated. With `incremental` the subblock is analysed shard by
/// shard as they are generated ([`ShardStream::incremental`]), so only the current shard's
/// analysis is held, not the subblock's. It does not keep the trace ([`DetachedShardStream`]):
/// made from the subblock's outline ([`SubblockShards::outlined`]) it takes the trace as it is
/// recorded, which must hold what [`SubblockShards::next_range`] says.
pub(crate) struct SubblockShards {
    subblock: usize,
    steps: usize,
    segments: Vec<SegmentRecord>,
    stream: DetachedShardStream,
    /// Ranges still to generate, in proof order, with whether each is a part of a re-cut shard.
    todo: std::collections::VecDeque<(Range<usize>, bool)>,
    /// Shards handed out so far (for errors).
    done: usize,
    budget: Option<u64>,
    max_rows: usize,
    settings: FriSettings,
}

impl SubblockShards {
    pub(crate) fn new(
        subblock: usize,
        trace: &SubblockTrace,
        max_rows: usize,
        budget: Option<u64>,
        settings: FriSettings,
        incremental: bool,
    ) -> Result<Self, ProveError> {
        let tracegen = |e: slotproof_air::TraceError| ProveError::TraceGeneration {
            subblock,
            reason: e.to_string(),
        };
        let ranges = plan_shards(trace, max_rows).map_err(tracegen)?;
        let stream = if incremental {
            DetachedShardStream::incremental(trace, &ranges)
        } else {
            DetachedShardStream::new(trace, &ranges)
        }
        .map_err(tracegen)?;
        Ok(Self::with_stream(
            subblock,
            Cuts::of(trace),
            stream,
            ranges,
            budget,
            max_rows,
            settings,
        ))
    }

    /// The shards of a subblock whose trace is not recorded yet, planned from its `outline`
    /// (issue 18, the streamed executor): the same shards as [`Self::new`] with `incremental`.
    pub(crate) fn outlined(
        subblock: usize,
        outline: &SubblockOutline,
        max_rows: usize,
        budget: Option<u64>,
        settings: FriSettings,
    ) -> Result<Self, ProveError> {
        let tracegen = |e: slotproof_air::TraceError| ProveError::TraceGeneration {
            subblock,
            reason: e.to_string(),
        };
        let cuts = Cuts {
            steps: outline.steps,
            segments: &outline.segments,
        };
        let ranges =
            plan_shards_of(cuts.steps, cuts.segments, 0..cuts.steps, max_rows).map_err(tracegen)?;
        let stream =
            DetachedShardStream::incremental_outlined(outline, &ranges).map_err(tracegen)?;
        Ok(Self::with_stream(
            subblock, cuts, stream, ranges, budget, max_rows, settings,
        ))
    }

    fn with_stream(
        subblock: usize,
        cuts: Cuts<'_>,
        stream: DetachedShardStream,
        ranges: Vec<Range<usize>>,
        budget: Option<u64>,
        max_rows: usize,
        settings: FriSettings,
    ) -> Self {
        Self {
            subblock,
            steps: cuts.steps,
            segments: cuts.segments.to_vec(),
            stream,
            todo: ranges.into_iter().map(|r| (r, false)).collect(),
            done: 0,
            budget,
            max_rows,
            settings,
        }
    }

    /// The next shard's steps (a re-cut one's parts lie within them), `None` after the last:
    /// the trace [`Self::next`] is handed must hold the steps up to its end included (or the
    /// whole subblock), and their stack words from the step before its start.
    pub(crate) fn next_range(&self) -> Option<Range<usize>> {
        self.todo.front().map(|(r, _)| r.clone())
    }

    /// The next shard in proof order, `None` after the last; `planner` is built from the first
    /// shard generated when it is empty. `trace` is the subblock's (whole, or as recorded so
    /// far: see [`Self::next_end`]).
    pub(crate) fn next<F: PlanField + PrimeField32>(
        &mut self,
        trace: &SubblockTrace,
        planner: &std::sync::OnceLock<Result<ShardPlanner, String>>,
    ) -> Result<Option<FittedShard<F>>, ProveError> {
        let tracegen = |e: slotproof_air::TraceError| ProveError::TraceGeneration {
            subblock: self.subblock,
            reason: e.to_string(),
        };
        let cuts = Cuts {
            steps: self.steps,
            segments: &self.segments,
        };
        while let Some((range, cut_to_fit)) = self.todo.pop_front() {
            let shard: MenuShard<F> = menu_shard(
                self.stream
                    .next_padded(trace, range.clone(), &Padding::Menu),
                self.subblock,
            )?;
            let planned = match &shard {
                Ok(s) => {
                    let planner = planner_of(planner, s, self.settings)?;
                    let shape = planner.shape(s);
                    let plan = plan(&shape);
                    Some((planner, shape, plan))
                }
                Err(_) => None,
            };
            let parts = parts_to_recut(
                cuts,
                &range,
                &shard,
                planned.as_ref().map(|(_, _, plan)| plan),
                planned.as_ref().map(|(planner, _, _)| *planner),
                self.budget,
                self.max_rows,
                self.subblock,
                self.done,
            )?;
            if let Some(parts) = parts {
                drop(shard);
                self.stream.recut(trace, range, &parts).map_err(tracegen)?;
                for part in parts.into_iter().rev() {
                    self.todo.push_front((part, true));
                }
                continue;
            }
            let (Ok(shard), Some((_, shape, plan))) = (shard, planned) else {
                unreachable!("a shard that fits no shape is re-cut or an error");
            };
            self.done += 1;
            return Ok(Some(FittedShard {
                areas: table_areas(&shape, &shard.natural_log_heights),
                shard,
                plan,
                cut_to_fit,
            }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use p3_field::PrimeCharacteristicRing;
    use slotproof_air::shape::{SHARD_SHAPES, SMALLEST_SHAPE, smallest_fitting};
    use slotproof_air::shard::BYTECODE;
    use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};

    use super::*;

    fn fixture_trace(name: &str, subblock: usize) -> SubblockTrace {
        let path = format!("{}/../../fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let input = BlockInput::from_path(&path).unwrap();
        let mut exec = execute_block(&input, &ExecuteOptions::default()).unwrap();
        exec.subblocks.swap_remove(subblock).trace
    }

    fn keccak_trace() -> SubblockTrace {
        fixture_trace("keccak", 0)
    }

    /// Every shard of `trace` streamed (analysed whole or shard by shard), in order.
    fn streamed(
        trace: &SubblockTrace,
        max_rows: usize,
        budget: Option<u64>,
        incremental: bool,
    ) -> Vec<FittedShard<KoalaBear>> {
        let planner = OnceLock::new();
        let mut stream = SubblockShards::new(
            0,
            trace,
            max_rows,
            budget,
            FriSettings::DEFAULT,
            incremental,
        )
        .unwrap();
        std::iter::from_fn(|| stream.next::<KoalaBear>(trace, &planner).unwrap()).collect()
    }

    /// Ranges and shapes of a subblock's shards, fitted at once and streamed (which must agree);
    /// streamed with the subblock analysed whole and shard by shard, the shards' tables and
    /// public values are the same, so their proofs are.
    fn fitted_both_ways(
        trace: &SubblockTrace,
        max_rows: usize,
        budget: Option<u64>,
    ) -> Vec<(Range<usize>, Option<usize>, u64, bool)> {
        let planner = OnceLock::new();
        let settings = FriSettings::DEFAULT;
        let at_once =
            fit_subblock::<KoalaBear>(0, trace, max_rows, budget, &planner, settings).unwrap();
        let at_once: Vec<_> = at_once
            .shards
            .iter()
            .zip(&at_once.plans)
            .zip(&at_once.cut_to_fit)
            .map(|((s, p), &c)| (s.steps.clone(), s.shape, p.peak, c))
            .collect();
        let whole = streamed(trace, max_rows, budget, false);
        let summary: Vec<_> = whole
            .iter()
            .map(|f| {
                (
                    f.shard.steps.clone(),
                    f.shard.shape,
                    f.plan.peak,
                    f.cut_to_fit,
                )
            })
            .collect();
        assert_eq!(summary, at_once);
        assert_same_shards(&whole, &streamed(trace, max_rows, budget, true));
        at_once
    }

    /// The same shards: steps, tables, public values, shape and plan.
    fn assert_same_shards(a: &[FittedShard<KoalaBear>], b: &[FittedShard<KoalaBear>]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.shard.steps, y.shard.steps);
            assert_eq!(x.shard.shape, y.shard.shape);
            assert_eq!(x.cut_to_fit, y.cut_to_fit);
            assert_eq!(x.plan.peak, y.plan.peak);
            assert!(
                x.shard.public_values == y.shard.public_values,
                "{:?}",
                x.shard.steps
            );
            assert!(x.shard.traces == y.shard.traces, "{:?}", x.shard.steps);
        }
    }

    /// Cuts inside transactions and calls (small shards of the mixed block: stack items,
    /// suspended calls and memory carried across): each subblock analysed shard by shard gives
    /// the shards of the subblock analysed whole.
    #[test]
    fn shards_analysed_shard_by_shard_are_the_shards_analysed_whole() {
        let path = format!("{}/../../fixtures/mixed.json", env!("CARGO_MANIFEST_DIR"));
        let input = BlockInput::from_path(&path).unwrap();
        let exec = execute_block(&input, &ExecuteOptions::default()).unwrap();
        let mut carried = 0;
        for sub in exec.subblocks.iter().filter(|s| !s.trace.steps.is_empty()) {
            let whole = streamed(&sub.trace, 1 << 10, None, false);
            carried += whole
                .iter()
                .filter(|f| f.shard.cpu_public.first_entry == KoalaBear::ONE)
                .count();
            assert_same_shards(&whole, &streamed(&sub.trace, 1 << 10, None, true));
        }
        assert!(carried >= 3, "{carried} shards start inside a context");
    }

    /// A trace whose stack does not replay (one recorded stack word changed, in a later shard)
    /// is the same typed error analysed whole or shard by shard; shard by shard, the shards
    /// before it are generated first.
    #[test]
    fn a_malformed_trace_is_the_same_typed_error_analysed_shard_by_shard() {
        let mut trace = fixture_trace("mixed", 1);
        let step = trace.steps.len() * 3 / 4;
        let k = (step..trace.steps.len())
            .find(|&i| trace.steps[i].reads > 0)
            .unwrap();
        trace.stack_words[trace.steps[k].stack_words as usize].0[0] ^= 1;
        // How many shards were generated before the error, and the error.
        let error = |incremental: bool| -> (usize, ProveError) {
            let planner = OnceLock::new();
            let settings = FriSettings::DEFAULT;
            let mut stream =
                match SubblockShards::new(0, &trace, 1 << 10, None, settings, incremental) {
                    Ok(stream) => stream,
                    Err(e) => return (0, e),
                };
            let mut generated = 0;
            loop {
                match stream.next::<KoalaBear>(&trace, &planner) {
                    Ok(Some(_)) => generated += 1,
                    Ok(None) => panic!("the malformed trace was accepted"),
                    Err(e) => return (generated, e),
                }
            }
        };
        let (before_whole, whole) = error(false);
        let (before_incremental, incremental) = error(true);
        assert!(
            matches!(whole, ProveError::TraceGeneration { subblock: 0, .. }),
            "{whole}"
        );
        assert_eq!(incremental.to_string(), whole.to_string());
        assert_eq!(before_whole, 0);
        assert!(before_incremental > 0);
    }

    #[test]
    fn a_shard_of_a_larger_shape_over_the_budget_is_cut_into_parts_of_a_smaller_one() {
        // The mixed block's second subblock: one shard of 11,160 steps, CPU 2^14, the full
        // shape's half-CPU form.
        let trace = fixture_trace("mixed", 1);
        let whole = fitted_both_ways(&trace, 1 << 16, None);
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].1, Some(7));
        // The budget of a shard of the tiny shape 6 (the plan is the shape's; the smallest,
        // micro shape cannot hold some single steps of this subblock).
        let small = fitted_both_ways(&fixture_trace("transfers", 0), 1 << 16, None);
        assert_eq!(small[0].1, Some(SMALLEST_SHAPE));
        let planner = ShardPlanner::new(
            &streamed(&fixture_trace("transfers", 0), 1 << 16, None, false)[0].shard,
            FriSettings::DEFAULT,
        )
        .unwrap();
        let budget = plan(&planner.shape_at(&SHARD_SHAPES[6].log_heights)).peak;
        assert!(small[0].2 < budget && budget < whole[0].2);
        let cut = fitted_both_ways(&trace, 1 << 16, Some(budget));
        assert!(cut.len() > 1);
        for (steps, shape, peak, cut_to_fit) in &cut {
            assert!(cut_to_fit, "{steps:?}");
            assert!(
                [Some(6), Some(SMALLEST_SHAPE)].contains(shape),
                "{steps:?}: {shape:?}"
            );
            assert!(*peak <= budget);
        }
        assert!(cut.iter().any(|c| c.1 == Some(6)));
        assert_eq!(cut[0].0.start, 0);
        assert_eq!(cut[cut.len() - 1].0.end, trace.steps.len());
    }

    #[test]
    fn a_shard_that_fits_no_shape_is_cut_until_every_part_fits_the_smallest_it_can() {
        // 110k steps planned as one shard: its CPU table (2^17) is taller than any shape's.
        let trace = keccak_trace();
        let max_rows = 1 << 20;
        assert_eq!(plan_shards(&trace, max_rows).unwrap().len(), 1);
        let planner = OnceLock::new();
        let settings = FriSettings::DEFAULT;
        let fitted =
            fit_subblock::<KoalaBear>(0, &trace, max_rows, None, &planner, settings).unwrap();
        assert!(fitted.shards.len() >= 2);
        assert!(fitted.cut_to_fit.iter().all(|&c| c));
        let steps: Vec<Range<usize>> = fitted.shards.iter().map(|s| s.steps.clone()).collect();
        assert_eq!(steps[0].start, 0);
        assert_eq!(steps[steps.len() - 1].end, trace.steps.len());
        assert!(steps.windows(2).all(|w| w[0].end == w[1].start));
        for s in &fitted.shards {
            let shape = s.shape.expect("every shard has a shape of the menu");
            assert_eq!(smallest_fitting(&s.natural_log_heights), Some(shape));
            assert!(SHARD_SHAPES[shape].fits(&s.natural_log_heights));
        }
        // The streaming path cuts the same way, with the subblock analysed whole or shard by
        // shard (each re-cut goes back to the shard's start), into the same shards.
        let whole = streamed(&trace, max_rows, None, false);
        let streamed_steps: Vec<_> = whole
            .iter()
            .map(|f| {
                assert!(f.cut_to_fit);
                (f.shard.steps.clone(), f.shard.shape)
            })
            .collect();
        let at_once: Vec<_> = fitted
            .shards
            .iter()
            .map(|s| (s.steps.clone(), s.shape))
            .collect();
        assert_eq!(streamed_steps, at_once);
        assert_same_shards(&whole, &streamed(&trace, max_rows, None, true));
    }

    #[test]
    fn one_step_that_fits_no_shape_is_a_typed_error_naming_the_table() {
        let trace = keccak_trace();
        // A step whose bytecode table would need more rows than any shape has (not one the
        // fixture has: a code that size is not deployable, but the cutter must not rely on it).
        let mut natural = SHARD_SHAPES[0].log_heights;
        natural[BYTECODE] = slotproof_air::shape::tallest(BYTECODE) + 1;
        let shard: MenuShard<KoalaBear> = Err(natural);
        let err = parts_to_recut(
            Cuts::of(&trace),
            &(7..8),
            &shard,
            None,
            None,
            None,
            1 << 16,
            0,
            3,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ProveError::NoShapeFits {
                    subblock: 0,
                    shard: 3,
                    table: "bytecode",
                    ..
                }
            ),
            "{err:?}"
        );
        // Two steps are cut instead.
        let parts = parts_to_recut(
            Cuts::of(&trace),
            &(7..9),
            &shard,
            None,
            None,
            None,
            1 << 16,
            0,
            3,
        )
        .unwrap()
        .expect("cut");
        assert_eq!(parts, vec![7..8, 8..9]);
    }
}
