//! Keys made once and shared: the lookup layout of a shard shape without committing its
//! preprocessed traces, and verifying keys that reuse an earlier key's preprocessed commitment.
//!
//! A preprocessed commitment depends only on the preprocessed traces (the fixed tables), not on
//! the heights of the other tables of a shard. Shards of one AIR list differ in those other
//! heights, so every shape would otherwise commit the same fixed tables again. A key made with
//! a `shared` key reuses its commitment when the preprocessed traces are equal (compared, not
//! assumed); the lookup layout, which depends on every height, is derived per shape.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use p3_air::{Air, BaseAir, BoundaryPublic};
use p3_batch_stark::common::{GlobalPreprocessed, PreprocessedInstanceMeta};
use p3_batch_stark::{CommonData, ProverData, StarkGenericConfig, Val};
use p3_challenger::GrindingChallenger;
use p3_commit::{Pcs, UnivariateStarkPcs};
use p3_field::{Algebra, ExtensionField, Field, PrimeField64};
use p3_lookup::InteractionSymbolicBuilder;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_uni_stark::SymbolicExpressionExt;

use crate::backend::Backend;
use crate::error::{ProveError, VerifyError};
use crate::prover::{MIN_LOG_HEIGHT, ShardProver, check_preprocessed_traces};

/// An AIR seen without its preprocessed trace (its preprocessed width stays): Plonky3's key
/// generation then derives the lookup layout and skips the preprocessed commitment.
pub(crate) struct LayoutOnly<'a, A>(pub(crate) &'a A);

impl<F, A: BaseAir<F>> BaseAir<F> for LayoutOnly<'_, A> {
    fn width(&self) -> usize {
        self.0.width()
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        None
    }
    fn preprocessed_width(&self) -> usize {
        self.0.preprocessed_width()
    }
    fn num_periodic_columns(&self) -> usize {
        self.0.num_periodic_columns()
    }
    fn periodic_columns(&self) -> Cow<'_, [Vec<F>]>
    where
        F: Clone,
    {
        self.0.periodic_columns()
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        self.0.main_next_row_columns()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        self.0.preprocessed_next_row_columns()
    }
    fn num_constraints(&self) -> Option<usize> {
        self.0.num_constraints()
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        self.0.max_constraint_degree()
    }
    fn num_public_values(&self) -> usize {
        self.0.num_public_values()
    }
    fn public_boundary_io(&self) -> &[BoundaryPublic] {
        self.0.public_boundary_io()
    }
    fn assumes_boolean_trace(&self) -> bool {
        self.0.assumes_boolean_trace()
    }
    fn boolean_columns(&self) -> usize {
        self.0.boolean_columns()
    }
}

impl<F: Field, EF: ExtensionField<F>, A> Air<InteractionSymbolicBuilder<F, EF>>
    for LayoutOnly<'_, A>
where
    A: Air<InteractionSymbolicBuilder<F, EF>>,
{
    fn eval(&self, builder: &mut InteractionSymbolicBuilder<F, EF>) {
        self.0.eval(builder)
    }
}

/// The lookup layout of `airs` at `log_heights` (Plonky3's key generation without the
/// preprocessed commitment: `common.preprocessed` is `None`).
pub(crate) fn lookup_layout<SC, A>(
    config: &SC,
    airs: &[A],
    log_heights: &[usize],
) -> Result<ProverData<SC>, String>
where
    SC: StarkGenericConfig,
    SymbolicExpressionExt<Val<SC>, SC::Challenge>: Algebra<SC::Challenge>,
    A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
{
    let hidden: Vec<LayoutOnly<'_, A>> = airs.iter().map(LayoutOnly).collect();
    ProverData::from_airs_and_degrees(config, &hidden, log_heights).map_err(|e| format!("{e:?}"))
}

/// A copy of a global preprocessed commitment (Plonky3's type is not `Clone`).
pub(crate) fn copy_global<SC: StarkGenericConfig>(
    g: &GlobalPreprocessed<SC>,
) -> GlobalPreprocessed<SC> {
    GlobalPreprocessed {
        commitment: g.commitment.clone(),
        instances: g.instances.clone(),
        matrix_to_instance: g.matrix_to_instance.clone(),
    }
}

/// Where each preprocessed trace goes in the global preprocessed commitment, as
/// `ProverData::from_airs_and_degrees` lays it out: per instance its matrix (index, width,
/// height), and per matrix its instance.
pub(crate) fn preprocessed_meta<F: Clone + Send + Sync>(
    traces: &[Option<RowMajorMatrix<F>>],
    log_heights: &[usize],
) -> (Vec<Option<PreprocessedInstanceMeta>>, Vec<usize>) {
    let mut instances = Vec::with_capacity(traces.len());
    let mut matrix_to_instance = Vec::new();
    for (i, (trace, &log_height)) in traces.iter().zip(log_heights).enumerate() {
        instances.push(trace.as_ref().map(|t| {
            matrix_to_instance.push(i);
            PreprocessedInstanceMeta {
                matrix_index: matrix_to_instance.len() - 1,
                width: t.width(),
                degree_bits: log_height,
            }
        }));
    }
    (instances, matrix_to_instance)
}

/// Plonky3's commitment to the preprocessed traces (`None` where there are none), laid out as
/// `ProverData::from_airs_and_degrees` lays it out.
pub(crate) fn commit_preprocessed<SC: StarkGenericConfig>(
    config: &SC,
    traces: &[Option<RowMajorMatrix<Val<SC>>>],
    log_heights: &[usize],
) -> Result<Option<GlobalPreprocessed<SC>>, String> {
    let (instances, matrix_to_instance) = preprocessed_meta(traces, log_heights);
    if matrix_to_instance.is_empty() {
        return Ok(None);
    }
    let pcs = config.pcs();
    let domains_and_traces: Vec<_> = matrix_to_instance
        .iter()
        .map(|&i| {
            let trace = traces[i]
                .clone()
                .expect("an instance with a matrix has a trace");
            (pcs.natural_domain_for_degree(1 << log_heights[i]), trace)
        })
        .collect();
    let (commitment, _) = pcs
        .commit_preprocessing(domains_and_traces)
        .map_err(|e| format!("{e:?}"))?;
    Ok(Some(GlobalPreprocessed {
        commitment,
        instances,
        matrix_to_instance,
    }))
}

/// What a verifier needs for proofs of one shard shape: Plonky3's `CommonData` (the lookup
/// layout and the preprocessed commitment), with the preprocessed traces it commits to (so a
/// later key can tell whether it may share the commitment).
pub struct VerifyingKey<SC: StarkGenericConfig> {
    pub log_heights: Vec<usize>,
    pub common: CommonData<SC>,
    preprocessed_traces: Vec<Option<RowMajorMatrix<Val<SC>>>>,
}

impl<SC, B> ShardProver<SC, B>
where
    SC: StarkGenericConfig,
    Val<SC>: PrimeField64,
    SymbolicExpressionExt<Val<SC>, SC::Challenge>: Algebra<SC::Challenge>,
    SC::Challenger: GrindingChallenger<Witness = Val<SC>>,
    B: Backend<SC>,
{
    /// The verifying key of `airs` at `log_heights` (e.g. a proof's `degree_bits`). With
    /// `shared`, its preprocessed commitment is reused when it commits to the same
    /// preprocessed traces as these AIRs at these heights (otherwise they are committed here).
    /// Heights are untrusted input: a preprocessed trace of another height is an error, never
    /// a panic.
    pub fn verifying_key<A>(
        &self,
        airs: &[A],
        log_heights: &[usize],
        shared: Option<&VerifyingKey<SC>>,
    ) -> Result<VerifyingKey<SC>, VerifyError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>,
    {
        if airs.len() != log_heights.len() {
            return Err(VerifyError::Malformed(format!(
                "{} heights for {} AIRs",
                log_heights.len(),
                airs.len()
            )));
        }
        let max = self.max_verified_log_height();
        if let Some(i) = log_heights
            .iter()
            .position(|h| !(MIN_LOG_HEIGHT..=max).contains(h))
        {
            return Err(VerifyError::Malformed(format!(
                "instance {i}: degree bits {} outside {MIN_LOG_HEIGHT}..={max}",
                log_heights[i]
            )));
        }
        let traces = check_preprocessed_traces(airs, log_heights).map_err(|e| match e {
            ProveError::PreprocessedTrace { instance, reason } => {
                VerifyError::Malformed(format!("instance {instance}: preprocessed trace {reason}"))
            }
            other => VerifyError::Malformed(other.to_string()),
        })?;
        let config = self.config();
        let layout = catch_unwind(AssertUnwindSafe(|| {
            lookup_layout(config, airs, log_heights)
        }))
        .map_err(|_| VerifyError::Malformed("lookup layout: key generation panicked".into()))?
        .map_err(VerifyError::Malformed)?;
        let reused = shared.filter(|s| {
            s.preprocessed_traces == traces && same_preprocessed_heights(s, &traces, log_heights)
        });
        let preprocessed = match reused {
            Some(s) => s.common.preprocessed.as_ref().map(copy_global),
            None => {
                commit_preprocessed(config, &traces, log_heights).map_err(VerifyError::Malformed)?
            }
        };
        Ok(VerifyingKey {
            log_heights: log_heights.to_vec(),
            common: CommonData::new(preprocessed, layout.common.lookups),
            preprocessed_traces: traces,
        })
    }
}

/// Equal traces have equal heights; this also checks the key's recorded heights of them.
fn same_preprocessed_heights<SC: StarkGenericConfig>(
    key: &VerifyingKey<SC>,
    traces: &[Option<RowMajorMatrix<Val<SC>>>],
    log_heights: &[usize],
) -> bool {
    traces
        .iter()
        .zip(key.log_heights.iter().zip(log_heights))
        .all(|(t, (a, b))| t.is_none() || a == b)
}
