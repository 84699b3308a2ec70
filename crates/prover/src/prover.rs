//! The shard-proving pipeline: our own orchestration of a Plonky3 batch-STARK proof.
//!
//! The phases and the transcript follow `p3_batch_stark::prove_batch` step for step (the
//! transcript is driven through Plonky3's public `BatchProverTranscript`, so every absorb and
//! squeeze happens in the same order), which is what makes the proofs byte-identical and lets the
//! stock `verify_batch` accept them. The heavy steps run on a [`Backend`]; the quotient is our own
//! compiled-constraint evaluator.

use p3_air::symbolic::AirLayout;
use p3_air::{Air, BaseAir};
use p3_batch_stark::PcsProof;
use p3_batch_stark::symbolic::{
    get_constraint_layout, get_log_num_quotient_chunks_for_domain, get_symbolic_constraints,
};
use p3_batch_stark::{
    BatchCommitments, BatchOpenedValues, BatchProof, BatchProverTranscript, BatchShape, Commitment,
    Domain, ProverData, StarkGenericConfig, Val,
};
use p3_challenger::GrindingChallenger;
use p3_commit::{Pcs, PolynomialSpace, UnivariateStarkPcs};
use p3_field::{Algebra, PrimeCharacteristicRing, PrimeField64};
use p3_fri::{PcsProverTranscript, PcsShape};
use p3_lookup::{
    InteractionSymbolicBuilder, LogUpGadget, Lookup, LookupProtocol, LookupTerminal,
    check_multiplicity_height_bound,
};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_uni_stark::{OpenedValues, StarkOpeningLayout, SymbolicExpressionExt};
use p3_util::log2_strict_usize;

use crate::backend::{Backend, BackendError, OpeningRound, QuotientJob};
use crate::cpu::CpuBackend;
use crate::error::ProveError;
use crate::field::{ProverConfig, ProverField, stark_config};
use crate::interpreter::ProgramEnv;
use crate::program::{ConstraintProgram, ProgramInputs};
use crate::quotient::first_violation;
use crate::security::{FriSettings, SecurityLevel};
use crate::timings::PhaseTimings;

/// Smallest supported trace: 2^MIN_LOG_HEIGHT rows.
pub const MIN_LOG_HEIGHT: usize = 2;

/// Knobs of the pipeline that do not change the proof.
#[derive(Clone, Copy, Debug)]
pub struct ProverOptions {
    /// Check every AIR constraint on every trace row (and the lookup balance) before
    /// committing, and report a violation as [`ProveError`]. Without it a bad witness still
    /// yields a "proof", which the verifier rejects.
    pub check_witness: bool,
}

impl Default for ProverOptions {
    fn default() -> Self {
        Self {
            check_witness: true,
        }
    }
}

/// Proves shards (batches of AIR tables) under one configuration on one backend.
pub struct ShardProver<SC, B> {
    config: SC,
    settings: FriSettings,
    backend: B,
    options: ProverOptions,
}

/// A shard prover for field `F` on the CPU backend.
pub type CpuShardProver<F> = ShardProver<ProverConfig<F>, CpuBackend<F>>;

impl<F: ProverField> ShardProver<ProverConfig<F>, CpuBackend<F>> {
    /// A CPU prover for field `F` with the given FRI settings.
    pub fn cpu(settings: FriSettings) -> Self {
        Self::with_backend(settings, |_, settings| CpuBackend::new(settings))
    }
}

impl<F: ProverField, B> ShardProver<ProverConfig<F>, B> {
    /// A prover for field `F` on a backend built from the configuration and its settings.
    pub fn with_backend(
        settings: FriSettings,
        make_backend: impl FnOnce(&ProverConfig<F>, &FriSettings) -> B,
    ) -> Self {
        let config = stark_config::<F>(&settings);
        let backend = make_backend(&config, &settings);
        Self {
            config,
            settings,
            backend,
            options: ProverOptions::default(),
        }
    }

    /// The conjectured security of this prover's settings.
    pub fn security(&self) -> SecurityLevel {
        self.settings.security::<F>()
    }
}

impl<SC, B> ShardProver<SC, B> {
    /// Replace the pipeline options.
    pub fn with_options(mut self, options: ProverOptions) -> Self {
        self.options = options;
        self
    }

    /// The STARK configuration proofs are made (and must be verified) under.
    pub fn config(&self) -> &SC {
        &self.config
    }

    /// The FRI settings of this prover.
    pub fn settings(&self) -> &FriSettings {
        &self.settings
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }
}

/// An instance's compiled constraints (AIR + LogUp), as the quotient evaluates them.
#[derive(Clone, Debug)]
pub struct InstanceProgram<F, EF> {
    /// log2 of the quotient chunks (the quotient domain is this much taller than the trace).
    pub log_quotient_chunks: usize,
    pub program: ConstraintProgram<F, EF>,
}

/// The [`InstanceProgram`] of a configuration's fields.
pub type ConfigInstanceProgram<SC> =
    InstanceProgram<Val<SC>, <SC as StarkGenericConfig>::Challenge>;

/// Every instance's compiled constraints for one list of AIRs, and the lookup layout they were
/// compiled against: what proving needs beyond the [`ShardKey`], made once (in parallel) and
/// shared by every shard of those AIRs, whatever their heights. Like a key, a set must be used
/// with the AIRs it was compiled for; proving checks what is cheap to check (the lookup layout
/// and every instance's widths) and compiles afresh on a mismatch.
pub struct ShardPrograms<SC: StarkGenericConfig> {
    /// The postcard encoding of the lookup layout (`CommonData::lookups`) compiled against;
    /// `None` if it could not be encoded (then no layout matches it).
    lookup_layout: Option<Vec<u8>>,
    /// Each instance's (main width, preprocessed width, public values).
    widths: Vec<(usize, usize, usize)>,
    plans: Vec<InstancePlan<Val<SC>, SC::Challenge>>,
    /// The heights compiled at (log2 rows) and the verifying key there, which key generation
    /// and verification at those heights reuse instead of deriving it again.
    log_heights: Vec<usize>,
    common: p3_batch_stark::CommonData<SC>,
}

impl<SC: StarkGenericConfig> ShardPrograms<SC> {
    /// Each instance's constraint program (AIR + LogUp) and quotient size.
    pub fn instance_programs(&self) -> Vec<ConfigInstanceProgram<SC>> {
        self.plans
            .iter()
            .map(|p| InstanceProgram {
                log_quotient_chunks: p.log_quotient_chunks,
                program: p.program.clone(),
            })
            .collect()
    }

    /// How many instances.
    pub fn len(&self) -> usize {
        self.plans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }

    /// The heights (log2 rows) the programs were compiled at.
    pub fn log_heights(&self) -> &[usize] {
        &self.log_heights
    }

    /// The verifying key of shards at [`Self::log_heights`] (what `setup` derives there).
    pub fn common(&self) -> &p3_batch_stark::CommonData<SC> {
        &self.common
    }

    /// Whether these programs were compiled for AIRs of these shapes (what is cheap to check).
    fn fits<A: BaseAir<Val<SC>>>(&self, airs: &[A]) -> bool {
        self.widths.iter().copied().eq(airs.iter().map(air_widths))
    }
}

/// A copy of a verifying key (Plonky3's `CommonData` is not `Clone`).
fn clone_common<SC: StarkGenericConfig>(
    common: &p3_batch_stark::CommonData<SC>,
) -> p3_batch_stark::CommonData<SC> {
    p3_batch_stark::CommonData::new(
        common
            .preprocessed
            .as_ref()
            .map(|g| p3_batch_stark::common::GlobalPreprocessed {
                commitment: g.commitment.clone(),
                instances: g.instances.clone(),
                matrix_to_instance: g.matrix_to_instance.clone(),
            }),
        common.lookups.clone(),
    )
}

/// Lookup layout encoding, widths and plans of every instance.
type CompiledPlans<SC> = (
    Option<Vec<u8>>,
    Vec<(usize, usize, usize)>,
    Vec<InstancePlan<Val<SC>, <SC as StarkGenericConfig>::Challenge>>,
);

/// What a [`ShardPrograms`] records of each AIR to check it is used with the same AIRs.
fn air_widths<F, A: BaseAir<F>>(air: &A) -> (usize, usize, usize) {
    (
        air.width(),
        air.preprocessed_width(),
        air.num_public_values(),
    )
}

/// The encoding a [`ShardPrograms`] records its lookup layout by (`Lookup` has no `Eq`).
fn lookup_layout<F: p3_field::Field>(lookups: &[p3_lookup::Lookups<F>]) -> Option<Vec<u8>> {
    postcard::to_allocvec(lookups).ok()
}

/// What is fixed for a list of AIRs at given trace heights, made once and reused for every
/// shard of that shape: the lookup layout and the commitment to the preprocessed traces.
///
/// `data.common` is the verifying key `verify_batch` takes. The preprocessed traces are
/// committed twice at key generation, by Plonky3's PCS (the reference commitment in `data`)
/// and by the backend (the round the backend opens when proving); the two must agree.
pub struct ShardKey<SC: StarkGenericConfig, Committed> {
    /// log2 of each instance's trace height.
    pub log_heights: Vec<usize>,
    /// Plonky3's prover data; its CPU copy of the preprocessed LDEs is dropped (the backend
    /// holds its own).
    pub data: ProverData<SC>,
    /// Each instance's preprocessed trace (host copy; lookups may read it).
    preprocessed_traces: Vec<Option<RowMajorMatrix<Val<SC>>>>,
    /// The backend's committed preprocessed round, when any AIR has preprocessed columns.
    preprocessed: Option<Committed>,
}

impl<SC: StarkGenericConfig, Committed> ShardKey<SC, Committed> {
    /// The verifying key: lookup layout and preprocessed commitment.
    pub fn common(&self) -> &p3_batch_stark::CommonData<SC> {
        &self.data.common
    }

    /// The commitment to the preprocessed traces, when there are any.
    pub fn preprocessed_commitment(&self) -> Option<&Commitment<SC>> {
        self.data
            .common
            .preprocessed
            .as_ref()
            .map(|g| &g.commitment)
    }
}

/// Every AIR that declares preprocessed columns must supply a trace of that width and of its
/// instance's height (Plonky3's key generation asserts this; here it is a typed error).
fn check_preprocessed_traces<F: Clone + Send + Sync, A: BaseAir<F>>(
    airs: &[A],
    log_heights: &[usize],
) -> Result<Vec<Option<RowMajorMatrix<F>>>, ProveError> {
    airs.iter()
        .zip(log_heights)
        .enumerate()
        .map(|(instance, (air, &log_height))| {
            let width = air.preprocessed_width();
            let trace = air.preprocessed_trace();
            match (width, trace) {
                (0, None) => Ok(None),
                (0, Some(t)) if t.width() == 0 => Ok(None),
                (0, Some(t)) => Err(ProveError::PreprocessedTrace {
                    instance,
                    reason: format!("{} columns, but the AIR declares none", t.width()),
                }),
                (_, None) => Err(ProveError::PreprocessedTrace {
                    instance,
                    reason: format!("the AIR declares {width} columns but supplies no trace"),
                }),
                (_, Some(t)) if t.width() != width || t.height() != 1 << log_height => {
                    Err(ProveError::PreprocessedTrace {
                        instance,
                        reason: format!(
                            "{} x {}, expected {} x {width}",
                            t.height(),
                            t.width(),
                            1usize << log_height
                        ),
                    })
                }
                (_, Some(t)) => Ok(Some(t)),
            }
        })
        .collect()
}

/// What the pipeline derives once per instance before the transcript starts.
struct InstancePlan<F: p3_field::Field, EF> {
    log_quotient_chunks: usize,
    /// AIR + LogUp constraints: what the quotient folds.
    program: ConstraintProgram<F, EF>,
    /// The AIR's own constraints only: checked on the trace before proving.
    witness_program: ConstraintProgram<F, EF>,
    opens_next_row: bool,
    /// The preprocessed trace is opened at the next row too.
    opens_preprocessed_next_row: bool,
}

fn backend_err(e: BackendError) -> ProveError {
    ProveError::Backend {
        phase: e.phase,
        message: e.message,
    }
}

/// Checks that do not depend on the configuration: counts, widths, heights, public values.
pub(crate) fn validate_shapes<F: Clone + Send + Sync, A: BaseAir<F>>(
    airs: &[A],
    traces: &[RowMajorMatrix<F>],
    public_values: &[Vec<F>],
    max_log_height: usize,
) -> Result<(), ProveError> {
    if airs.is_empty() {
        return Err(ProveError::NoInstances);
    }
    if airs.len() != traces.len() || airs.len() != public_values.len() {
        return Err(ProveError::CountMismatch {
            airs: airs.len(),
            traces: traces.len(),
            public_values: public_values.len(),
        });
    }
    for (instance, ((air, trace), pv)) in airs.iter().zip(traces).zip(public_values).enumerate() {
        if trace.width() != air.width() {
            return Err(ProveError::TraceWidth {
                instance,
                expected: air.width(),
                actual: trace.width(),
            });
        }
        let height = trace.height();
        if !height.is_power_of_two() {
            return Err(ProveError::TraceHeightNotPowerOfTwo { instance, height });
        }
        let log_height = log2_strict_usize(height);
        if !(MIN_LOG_HEIGHT..=max_log_height).contains(&log_height) {
            return Err(ProveError::TraceHeightOutOfRange {
                instance,
                log_height,
                min: MIN_LOG_HEIGHT,
                max: max_log_height,
            });
        }
        if pv.len() != air.num_public_values() {
            return Err(ProveError::PublicValueCount {
                instance,
                expected: air.num_public_values(),
                actual: pv.len(),
            });
        }
        if air.num_periodic_columns() > 0 {
            return Err(ProveError::Unsupported(format!(
                "instance {instance}: periodic columns"
            )));
        }
        if !air.public_boundary_io().is_empty() {
            return Err(ProveError::Unsupported(format!(
                "instance {instance}: boundary-IO public values"
            )));
        }
    }
    Ok(())
}

impl<SC, B> ShardProver<SC, B>
where
    SC: StarkGenericConfig,
    Val<SC>: PrimeField64,
    SymbolicExpressionExt<Val<SC>, SC::Challenge>: Algebra<SC::Challenge>,
    SC::Challenger: GrindingChallenger<Witness = Val<SC>>,
    Domain<SC>: Send + Sync,
    B: Backend<SC>,
{
    /// The largest trace (log2 rows) this configuration can commit: its LDE must fit the
    /// field's two-adic subgroup.
    pub fn max_log_height(&self) -> usize {
        self.config
            .pcs()
            .log_max_trace_height()
            .saturating_sub(self.settings.log_blowup.max(1))
    }

    /// The preprocessing every shard of this shape shares (the lookup layout); it is what
    /// `verify_batch` needs as `CommonData`.
    pub fn setup<A>(&self, airs: &[A], log_heights: &[usize]) -> Result<ProverData<SC>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
    {
        self.setup_with_preprocessed(airs, log_heights)
            .map(|(data, _)| data)
    }

    /// [`Self::setup`], also returning each instance's checked preprocessed trace (generated
    /// once here, so that key generation need not generate it again).
    #[allow(clippy::type_complexity)]
    fn setup_with_preprocessed<A>(
        &self,
        airs: &[A],
        log_heights: &[usize],
    ) -> Result<(ProverData<SC>, Vec<Option<RowMajorMatrix<Val<SC>>>>), ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
    {
        if airs.len() != log_heights.len() {
            return Err(ProveError::CountMismatch {
                airs: airs.len(),
                traces: log_heights.len(),
                public_values: log_heights.len(),
            });
        }
        let preprocessed = check_preprocessed_traces(airs, log_heights)?;
        // `is_zk` is 0 for the supported (non-hiding) PCS, so extended degrees are the heights.
        let data = ProverData::from_airs_and_degrees(&self.config, airs, log_heights)
            .map_err(|e| ProveError::Setup(format!("{e:?}")))?;
        Ok((data, preprocessed))
    }

    /// The constraint program and quotient size of every instance of a shard with these AIRs
    /// and trace heights, compiled exactly as proving compiles them (for planning, e.g.
    /// [`crate::device_memory`]).
    pub fn instance_programs<A>(
        &self,
        airs: &[A],
        log_heights: &[usize],
    ) -> Result<Vec<ConfigInstanceProgram<SC>>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        Ok(self
            .compile_programs(airs, log_heights)?
            .instance_programs())
    }

    /// Compile every instance's constraints (in parallel) for shards of these AIRs: the
    /// lookup layout is derived at these heights (log2 rows), as key generation derives it.
    pub fn compile_programs<A>(
        &self,
        airs: &[A],
        log_heights: &[usize],
    ) -> Result<ShardPrograms<SC>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        if airs.len() != log_heights.len() {
            return Err(ProveError::CountMismatch {
                airs: airs.len(),
                traces: log_heights.len(),
                public_values: log_heights.len(),
            });
        }
        let data = self.setup(airs, log_heights)?;
        let (lookup_layout, widths, plans) =
            self.compile_for_layout(airs, log_heights, &data.common.lookups)?;
        Ok(ShardPrograms {
            lookup_layout,
            widths,
            plans,
            log_heights: log_heights.to_vec(),
            common: data.common,
        })
    }

    /// [`Self::compile_programs`] against a lookup layout already derived.
    fn compile_for_layout<A>(
        &self,
        airs: &[A],
        log_heights: &[usize],
        lookups: &[p3_lookup::Lookups<Val<SC>>],
    ) -> Result<CompiledPlans<SC>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        use p3_maybe_rayon::prelude::*;
        let pcs = self.config.pcs();
        let domains: Vec<Domain<SC>> = log_heights
            .iter()
            .map(|&h| pcs.natural_domain_for_degree(1 << h))
            .collect();
        let plans = airs
            .par_iter()
            .zip(domains.par_iter())
            .zip(lookups.par_iter())
            .map(|((air, &domain), lookups)| Self::plan(air, domain, lookups))
            .collect::<Result<Vec<_>, _>>()?;
        self.check_quotient_domains(&plans, log_heights)?;
        Ok((
            lookup_layout(lookups),
            airs.iter().map(air_widths).collect(),
            plans,
        ))
    }

    /// The key for shards of these AIRs at these heights (log2 rows): the lookup layout and,
    /// when an AIR has preprocessed columns, their commitment, made on the backend and checked
    /// against Plonky3's.
    pub fn keygen<A>(
        &self,
        airs: &[A],
        log_heights: &[usize],
    ) -> Result<ShardKey<SC, B::Committed>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
    {
        self.keygen_reusing(airs, log_heights, None)
    }

    /// [`Self::keygen`], taking the verifying key from `common` when given (one derived by
    /// [`Self::setup`] for these AIRs at these heights) instead of deriving it again. The
    /// backend's commitment to the preprocessed traces is still made, and checked against it.
    fn keygen_reusing<A>(
        &self,
        airs: &[A],
        log_heights: &[usize],
        common: Option<&p3_batch_stark::CommonData<SC>>,
    ) -> Result<ShardKey<SC, B::Committed>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
    {
        let (mut data, preprocessed_traces) = match common {
            Some(common) if common.lookups.len() == airs.len() => {
                let traces = check_preprocessed_traces(airs, log_heights)?;
                if common.preprocessed.is_some() != traces.iter().any(Option::is_some) {
                    return Err(ProveError::Setup(
                        "the reused key disagrees on preprocessed columns".into(),
                    ));
                }
                let data = ProverData {
                    common: clone_common(common),
                    prover_only: p3_batch_stark::ProverOnlyData {
                        preprocessed_prover_data: None,
                    },
                };
                (data, traces)
            }
            _ => self.setup_with_preprocessed(airs, log_heights)?,
        };
        let preprocessed = match &data.common.preprocessed {
            None => None,
            Some(global) => {
                let pcs = self.config.pcs();
                let loaded = global
                    .matrix_to_instance
                    .iter()
                    .map(|&i| {
                        let trace = preprocessed_traces[i].as_ref().ok_or_else(|| {
                            ProveError::PreprocessedTrace {
                                instance: i,
                                reason: "missing from the key".into(),
                            }
                        })?;
                        let domain = pcs.natural_domain_for_degree(1 << log_heights[i]);
                        Ok((domain, self.backend.load_trace(trace).map_err(backend_err)?))
                    })
                    .collect::<Result<Vec<_>, ProveError>>()?;
                let (commitment, committed) = self.backend.commit(loaded).map_err(backend_err)?;
                // Commitments are compared by their encoding (the PCS does not promise `Eq`).
                let same = postcard::to_allocvec(&commitment).ok()
                    == postcard::to_allocvec(&global.commitment).ok();
                if !same {
                    return Err(ProveError::Backend {
                        phase: "preprocessed commitment",
                        message: "the backend's commitment differs from Plonky3's".into(),
                    });
                }
                Some(committed)
            }
        };
        // The backend proves from its own round; Plonky3's copy of the LDEs is not needed.
        data.prover_only.preprocessed_prover_data = None;
        Ok(ShardKey {
            log_heights: log_heights.to_vec(),
            data,
            preprocessed_traces,
            preprocessed,
        })
    }

    /// Prove one shard: `traces[i]` is a witness of `airs[i]` with `public_values[i]`.
    pub fn prove<A>(
        &self,
        airs: &[A],
        traces: &[RowMajorMatrix<Val<SC>>],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<BatchProof<SC>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        self.prove_timed(airs, traces, public_values)
            .map(|(proof, _)| proof)
    }

    /// Every trace's log height, once the traces are checked against the AIRs' widths, the
    /// public values and the field's largest height.
    fn checked_log_degrees<A>(
        &self,
        airs: &[A],
        traces: &[RowMajorMatrix<Val<SC>>],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<Vec<usize>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
    {
        validate_shapes(airs, traces, public_values, self.max_log_height())?;
        Ok(traces
            .iter()
            .map(|t| log2_strict_usize(t.height()))
            .collect())
    }

    /// [`Self::prove`], also returning the wall time of every phase.
    pub fn prove_timed<A>(
        &self,
        airs: &[A],
        traces: &[RowMajorMatrix<Val<SC>>],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<(BatchProof<SC>, PhaseTimings), ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        let mut timer = PhaseTimings::start();
        let log_degrees = self.checked_log_degrees(airs, traces, public_values)?;
        let key = self.keygen(airs, &log_degrees)?;
        timer.lap("key generation");
        let (proof, more) = self.prove_timed_with_key(&key, airs, traces, public_values)?;
        timer.extend(more);
        Ok((proof, timer))
    }

    /// [`Self::prove_timed`] with the AIRs' constraints compiled beforehand
    /// ([`Self::compile_programs`], for these AIRs): the proof is the same, without compiling
    /// every AIR again for every shard.
    pub fn prove_timed_with_programs<A>(
        &self,
        programs: &ShardPrograms<SC>,
        airs: &[A],
        traces: &[RowMajorMatrix<Val<SC>>],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<(BatchProof<SC>, PhaseTimings), ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        let mut timer = PhaseTimings::start();
        let log_degrees = self.checked_log_degrees(airs, traces, public_values)?;
        let reuse = (programs.log_heights == log_degrees && programs.fits(airs))
            .then_some(&programs.common);
        let key = self.keygen_reusing(airs, &log_degrees, reuse)?;
        timer.lap("key generation");
        let (proof, more) = self.prove_inner(&key, Some(programs), airs, traces, public_values)?;
        timer.extend(more);
        Ok((proof, timer))
    }

    /// Prove one shard with a key made by [`Self::keygen`] for these AIRs and heights.
    pub fn prove_with_key<A>(
        &self,
        key: &ShardKey<SC, B::Committed>,
        airs: &[A],
        traces: &[RowMajorMatrix<Val<SC>>],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<BatchProof<SC>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        self.prove_timed_with_key(key, airs, traces, public_values)
            .map(|(proof, _)| proof)
    }

    /// [`Self::prove_with_key`], also returning the wall time of every phase.
    pub fn prove_timed_with_key<A>(
        &self,
        key: &ShardKey<SC, B::Committed>,
        airs: &[A],
        traces: &[RowMajorMatrix<Val<SC>>],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<(BatchProof<SC>, PhaseTimings), ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        self.prove_inner(key, None, airs, traces, public_values)
    }

    /// The pipeline, with the AIRs' compiled constraints when the caller has them (used when
    /// compiled against the key's lookup layout; otherwise compiled here).
    fn prove_inner<A>(
        &self,
        key: &ShardKey<SC, B::Committed>,
        programs: Option<&ShardPrograms<SC>>,
        airs: &[A],
        traces: &[RowMajorMatrix<Val<SC>>],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<(BatchProof<SC>, PhaseTimings), ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>> + Sync,
    {
        let mut timer = PhaseTimings::start();
        validate_shapes(airs, traces, public_values, self.max_log_height())?;
        if SC::Pcs::ZK {
            return Err(ProveError::Unsupported(
                "hiding (zero-knowledge) PCS".into(),
            ));
        }
        let pcs = self.config.pcs();
        let gadget = LogUpGadget::new();
        let n = airs.len();

        let degrees: Vec<usize> = traces.iter().map(|t| t.height()).collect();
        let log_degrees: Vec<usize> = degrees.iter().map(|&d| log2_strict_usize(d)).collect();
        if key.log_heights.len() != n {
            return Err(ProveError::CountMismatch {
                airs: n,
                traces: key.log_heights.len(),
                public_values: public_values.len(),
            });
        }
        if let Some(instance) = (0..n).find(|&i| key.log_heights[i] != log_degrees[i]) {
            return Err(ProveError::KeyMismatch {
                instance,
                key_log_height: key.log_heights[instance],
                log_height: log_degrees[instance],
            });
        }
        // A key of other AIRs with the same heights would give a proof that does not verify;
        // the preprocessed widths are what can be checked cheaply.
        if let Some(instance) = (0..n).find(|&i| {
            key.preprocessed_traces[i].as_ref().map_or(0, |t| t.width())
                != airs[i].preprocessed_width()
        }) {
            return Err(ProveError::PreprocessedTrace {
                instance,
                reason: "the key was made for another preprocessed width".into(),
            });
        }
        let prover_data = &key.data;
        let preprocessed_global = prover_data.common.preprocessed.as_ref();
        // Each instance's preprocessed matrix index in the key's round.
        let preprocessed_index: Vec<Option<usize>> = (0..n)
            .map(|i| {
                preprocessed_global.and_then(|g| g.instances[i].as_ref().map(|m| m.matrix_index))
            })
            .collect();
        let lookups: Vec<&[Lookup<Val<SC>>]> =
            prover_data.common.lookups.iter().map(|l| &**l).collect();
        check_multiplicity_height_bound(&prover_data.common.lookups, &degrees)
            .map_err(|e| ProveError::MultiplicityBound(e.to_string()))?;

        let trace_domains: Vec<Domain<SC>> = degrees
            .iter()
            .map(|&d| pcs.natural_domain_for_degree(d))
            .collect();
        let compiled;
        let plans: &[InstancePlan<Val<SC>, SC::Challenge>] = match programs {
            Some(p)
                if p.fits(airs)
                    && p.lookup_layout.is_some()
                    && p.lookup_layout == lookup_layout(&prover_data.common.lookups) =>
            {
                &p.plans
            }
            _ => {
                compiled =
                    self.compile_for_layout(airs, &log_degrees, &prover_data.common.lookups)?;
                &compiled.2
            }
        };
        self.check_quotient_domains(plans, &log_degrees)?;
        timer.lap("setup");

        if self.options.check_witness {
            for (instance, (plan, (trace, pv))) in plans
                .iter()
                .zip(traces.iter().zip(public_values))
                .enumerate()
            {
                let env = ProgramEnv {
                    public_values: pv,
                    challenges: &[],
                    permutation_values: &[],
                };
                let preprocessed = key.preprocessed_traces[instance].as_ref();
                if let Some((row, out)) =
                    first_violation(&plan.witness_program, &env, trace, preprocessed)
                {
                    return Err(ProveError::ConstraintViolation {
                        instance,
                        row,
                        constraint: plan.witness_program.outputs[out].emission_index as usize,
                    });
                }
            }
            timer.lap("witness check");
        }

        // Transcript: the same description prove_batch seeds its sponge with.
        let shape = BatchShape {
            trace_widths: airs.iter().map(|a| a.width()).collect(),
            public_value_counts: public_values.iter().map(Vec::len).collect(),
            preprocessed_widths: airs.iter().map(|a| a.preprocessed_width()).collect(),
            has_preprocessed_commitment: preprocessed_global.is_some(),
            num_lookup_instances: lookups.iter().filter(|l| !l.is_empty()).count(),
            lookup_pow_bits: self.config.lookup_proof_of_work_bits(),
            has_randomization_commitment: false,
            ood_pow_bits: self.config.ood_proof_of_work_bits(),
        };
        let mut challenger = self.config.initialise_challenger();
        let mut transcript =
            BatchProverTranscript::<SC::Challenger, Val<SC>, SC::Challenge, Commitment<SC>>::new(
                &mut challenger,
                shape,
            );
        transcript.instance_bindings(&log_degrees);

        // Any error from here on must release the transcript's drop check.
        macro_rules! bail_on_err {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(err) => {
                        transcript.abort();
                        return Err(err);
                    }
                }
            };
        }

        // Phase 1: main traces.
        let loaded: Vec<B::Trace<'_>> = bail_on_err!(
            traces
                .iter()
                .map(|t| self.backend.load_trace(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend_err)
        );
        let (main_commit, main_data) = bail_on_err!(
            self.backend
                .commit(
                    trace_domains
                        .iter()
                        .copied()
                        .zip(loaded.iter().cloned())
                        .collect()
                )
                .map_err(backend_err)
        );
        timer.lap("main commit (LDE + Merkle)");
        transcript.main_phase(main_commit.clone(), public_values);
        transcript.preprocessed_phase(preprocessed_global.map(|g| g.commitment.clone()));

        // Phase 2: LogUp challenges, LogUp traces, their commitment.
        let (lookup_challenges, lookup_pow_witness) = transcript.lookup_phase(&lookups, &gadget);
        let mut lookup_terminals: Vec<Option<LookupTerminal<SC::Challenge>>> = vec![None; n];
        let mut permutation_inputs = Vec::new();
        for i in 0..n {
            if lookups[i].is_empty() {
                continue;
            }
            let (perm, terminal) = bail_on_err!(
                self.backend
                    .logup_trace(
                        &loaded[i],
                        key.preprocessed_traces[i].as_ref(),
                        &public_values[i],
                        lookups[i],
                        &lookup_challenges[i]
                    )
                    .map_err(backend_err)
            );
            lookup_terminals[i] = terminal;
            permutation_inputs.push((trace_domains[i], perm));
        }
        if self.options.check_witness {
            bail_on_err!(
                gadget
                    .verify_terminal_sum(&lookup_terminals)
                    .map_err(|e| ProveError::LookupImbalance(e.to_string()))
            );
        }
        // The main traces are committed and their LogUp traces derived: a device backend can
        // free them now.
        drop(loaded);
        timer.lap("LogUp traces");
        let permutation = if permutation_inputs.is_empty() {
            None
        } else {
            Some(bail_on_err!(
                self.backend.commit(permutation_inputs).map_err(backend_err)
            ))
        };
        timer.lap("LogUp commit (LDE + Merkle)");
        let terminal_values: Vec<SC::Challenge> =
            lookup_terminals.iter().flatten().map(|t| t.0).collect();
        let alpha = transcript.permutation_phase(
            permutation.as_ref().map(|(c, _)| c.clone()),
            &terminal_values,
        );

        // Phase 3: quotients, per instance, then one commitment over all chunks.
        let mut perm_index = 0;
        let mut quotients = Vec::with_capacity(n);
        let mut chunk_counts = Vec::with_capacity(n);
        for i in 0..n {
            let plan = &plans[i];
            let quotient_domain = trace_domains[i]
                .create_disjoint_domain(1 << (log_degrees[i] + plan.log_quotient_chunks));
            let permutation_matrix = match (&permutation, lookups[i].is_empty()) {
                (Some((_, data)), false) => {
                    perm_index += 1;
                    Some((data, perm_index - 1))
                }
                _ => None,
            };
            let permutation_values: Vec<SC::Challenge> =
                lookup_terminals[i].iter().map(|t| t.0).collect();
            let job = QuotientJob {
                program: &plan.program,
                env: ProgramEnv {
                    public_values: &public_values[i],
                    challenges: &lookup_challenges[i],
                    permutation_values: &permutation_values,
                },
                alpha,
                trace_domain: trace_domains[i],
                quotient_domain,
                main: (&main_data, i),
                preprocessed: match (&key.preprocessed, preprocessed_index[i]) {
                    (Some(round), Some(idx)) => Some((round, idx)),
                    _ => None,
                },
                permutation: permutation_matrix,
            };
            let q = bail_on_err!(self.backend.quotient(job).map_err(backend_err));
            let num_chunks = 1 << plan.log_quotient_chunks;
            chunk_counts.push(num_chunks);
            quotients.push((quotient_domain, num_chunks, q));
        }
        timer.lap("quotient evaluation");
        let (quotient_commit, quotient_data) = bail_on_err!(
            self.backend
                .commit_quotients(quotients)
                .map_err(backend_err)
        );
        timer.lap("quotient commit (split + LDE + Merkle)");
        transcript.quotient_phase(quotient_commit.clone(), None);

        // Phase 4: out-of-domain point and the opening argument.
        let (zeta, ood_pow_witness) = transcript.ood_phase();
        let next_points: Vec<SC::Challenge> = bail_on_err!(
            trace_domains
                .iter()
                .map(|d| {
                    d.next_point(zeta).ok_or_else(|| {
                        ProveError::Unsupported("domain without a next point".into())
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        );
        let mut rounds = Vec::with_capacity(3);
        rounds.push(OpeningRound {
            committed: &main_data,
            points: (0..n)
                .map(|i| {
                    if plans[i].opens_next_row {
                        vec![zeta, next_points[i]]
                    } else {
                        vec![zeta]
                    }
                })
                .collect(),
        });
        let total_chunks: usize = chunk_counts.iter().sum();
        rounds.push(OpeningRound {
            committed: &quotient_data,
            points: vec![vec![zeta]; total_chunks],
        });
        // Preprocessed traces (round of the key), between the quotient and LogUp rounds as in
        // `prove_batch`.
        if let (Some(global), Some(round)) = (preprocessed_global, &key.preprocessed) {
            rounds.push(OpeningRound {
                committed: round,
                points: global
                    .matrix_to_instance
                    .iter()
                    .map(|&i| {
                        if plans[i].opens_preprocessed_next_row {
                            vec![zeta, next_points[i]]
                        } else {
                            vec![zeta]
                        }
                    })
                    .collect(),
            });
        }
        if let Some((_, perm_data)) = &permutation {
            rounds.push(OpeningRound {
                committed: perm_data,
                points: (0..n)
                    .filter(|&i| !lookups[i].is_empty())
                    .map(|i| vec![zeta, next_points[i]])
                    .collect(),
            });
        }
        let opened_values =
            bail_on_err!(self.backend.evaluate_openings(&rounds).map_err(backend_err));
        timer.lap("opening evaluations");
        let opening_proof = bail_on_err!(transcript.delegate(|challenger| {
            self.opening_argument(&rounds, &opened_values, challenger, &mut timer)
        }));
        transcript.finish();

        // Distribute the opened values back to instances.
        let layout = StarkOpeningLayout::new(false);
        let main_values = &opened_values[layout.trace];
        let mut quotient_values = opened_values[layout.quotient].iter();
        let preprocessed_values = preprocessed_global.map(|_| &opened_values[layout.preprocessed]);
        let permutation_round = layout.preprocessed + usize::from(preprocessed_global.is_some());
        let mut permutation_values = permutation
            .as_ref()
            .map(|_| opened_values[permutation_round].iter());
        let mut instances = Vec::with_capacity(n);
        for i in 0..n {
            let trace_local = main_values[i][0].clone();
            let trace_next = plans[i].opens_next_row.then(|| main_values[i][1].clone());
            let quotient_chunks = (0..chunk_counts[i])
                .map(|_| quotient_values.next().map(|v| v[0].clone()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ProveError::Backend {
                    phase: "opening",
                    message: "fewer quotient openings than chunks".into(),
                })?;
            let (permutation_local, permutation_next) = match &mut permutation_values {
                Some(it) if !lookups[i].is_empty() => {
                    let v = it.next().ok_or_else(|| ProveError::Backend {
                        phase: "opening",
                        message: "fewer LogUp openings than instances with lookups".into(),
                    })?;
                    (v[0].clone(), v[1].clone())
                }
                _ => (vec![], vec![]),
            };
            let preprocessed = match (preprocessed_values, preprocessed_index[i]) {
                (Some(round), Some(idx)) => {
                    let v = round.get(idx).ok_or_else(|| ProveError::Backend {
                        phase: "opening",
                        message: "fewer preprocessed openings than preprocessed matrices".into(),
                    })?;
                    Some(p3_uni_stark::PreprocessedOpenedValues {
                        local: v[0].clone(),
                        next: plans[i].opens_preprocessed_next_row.then(|| v[1].clone()),
                    })
                }
                _ => None,
            };
            instances.push(p3_batch_stark::proof::OpenedValuesWithLookups {
                base_opened_values: OpenedValues {
                    trace_local,
                    trace_next,
                    preprocessed,
                    quotient_chunks,
                    random: None,
                },
                permutation_local,
                permutation_next,
            });
        }

        let proof = BatchProof {
            commitments: BatchCommitments {
                main: main_commit,
                permutation: permutation.map(|(c, _)| c),
                quotient_chunks: quotient_commit,
                random: None,
            },
            opened_values: BatchOpenedValues { instances },
            opening_proof,
            lookup_terminals,
            degree_bits: log_degrees,
            lookup_pow_witness,
            ood_pow_witness,
        };
        Ok((proof, timer))
    }

    /// The opening argument of the two-adic FRI PCS, as `TwoAdicFriPcs::open` runs it after
    /// evaluating: bind the claimed evaluations, grind and draw the batching challenge, reduce,
    /// then FRI inside its own bracket.
    fn opening_argument(
        &self,
        rounds: &[OpeningRound<'_, B::Committed, SC::Challenge>],
        opened_values: &p3_commit::OpenedValues<SC::Challenge>,
        challenger: &mut SC::Challenger,
        timer: &mut PhaseTimings,
    ) -> Result<PcsProof<SC>, ProveError> {
        let shape = PcsShape {
            claimed_evaluation_counts: opened_values
                .iter()
                .map(|round| {
                    round
                        .iter()
                        .map(|matrix| matrix.iter().map(Vec::len).collect())
                        .collect()
                })
                .collect(),
            batch_pow_bits: self.settings.batch_pow_bits,
        };
        let mut transcript =
            PcsProverTranscript::<SC::Challenger, Val<SC>, SC::Challenge>::new(challenger, shape);
        transcript.claimed_openings(opened_values);
        let (alpha, batch_pow_witness) = transcript.batch_phase();
        // Zero difficulty still fills the witness slot of the proof.
        let batch_pow_witness = batch_pow_witness.unwrap_or(Val::<SC>::ZERO);
        let reduced = match self.backend.reduce_openings(rounds, opened_values, alpha) {
            Ok(reduced) => reduced,
            Err(e) => {
                transcript.abort();
                return Err(backend_err(e));
            }
        };
        timer.lap("opening α-reduction");
        let proof = transcript.delegate(|challenger| {
            self.backend
                .prove_fri(reduced, rounds, challenger, batch_pow_witness)
        });
        match proof {
            Ok(proof) => {
                transcript.finish();
                timer.lap("FRI (fold + commit, queries)");
                Ok(proof)
            }
            Err(e) => {
                transcript.abort();
                Err(backend_err(e))
            }
        }
    }

    /// Every quotient domain must fit the field's two-adic subgroup (checked per shard: a
    /// program compiled once serves shards of any height).
    fn check_quotient_domains(
        &self,
        plans: &[InstancePlan<Val<SC>, SC::Challenge>],
        log_heights: &[usize],
    ) -> Result<(), ProveError> {
        let max = self.config.pcs().log_max_trace_height();
        match plans
            .iter()
            .zip(log_heights)
            .map(|(p, &h)| h + p.log_quotient_chunks)
            .find(|&log_quotient| log_quotient > max)
        {
            Some(log_quotient) => Err(ProveError::Unsupported(format!(
                "quotient domain 2^{log_quotient} exceeds the field's two-adicity"
            ))),
            None => Ok(()),
        }
    }

    /// One instance's programs (what `plan` derives depends on the AIR and its lookups only:
    /// the quotient size comes from constraint degrees, and periodic columns are refused).
    fn plan<A>(
        air: &A,
        trace_domain: Domain<SC>,
        lookups: &[Lookup<Val<SC>>],
    ) -> Result<InstancePlan<Val<SC>, SC::Challenge>, ProveError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
    {
        let gadget = LogUpGadget::new();
        let preprocessed_width = air.preprocessed_width();
        let layout = AirLayout {
            preprocessed_width,
            main_width: air.width(),
            num_public_values: air.num_public_values(),
            num_periodic_columns: air.num_periodic_columns(),
            ..Default::default()
        };
        let log_quotient_chunks = get_log_num_quotient_chunks_for_domain::<_, SC::Challenge, A, _>(
            air,
            layout,
            trace_domain,
            lookups,
            0,
            &gadget,
        );
        let compile = |lookups: &[Lookup<Val<SC>>]| {
            let (base, ext) = get_symbolic_constraints(air, layout, lookups, &gadget);
            let constraint_layout = get_constraint_layout(air, layout, lookups, &gadget);
            let has_lookups = !lookups.is_empty();
            ConstraintProgram::compile_with_preprocessed(
                &base,
                &ext,
                &constraint_layout,
                ProgramInputs {
                    main_width: air.width() + preprocessed_width,
                    permutation_width: if has_lookups { lookups.len() + 1 } else { 0 },
                    num_public_values: air.num_public_values(),
                    num_challenges: lookups.len() * gadget.num_challenges(),
                    num_permutation_values: usize::from(has_lookups),
                },
                preprocessed_width,
            )
        };
        Ok(InstancePlan {
            log_quotient_chunks,
            program: compile(lookups)?,
            witness_program: compile(&[])?,
            opens_next_row: !air.main_next_row_columns().is_empty(),
            opens_preprocessed_next_row: !air.preprocessed_next_row_columns().is_empty(),
        })
    }
}
