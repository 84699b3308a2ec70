//! The CPU backend.
//!
//! Groups of steps are delegated to Plonky3's own CPU pieces, which fixes the bit-exact
//! behaviour the proofs must have: `TwoAdicFriPcs` for commitments (coset LDE with
//! `Radix2DitParallel`, bit reversal, `MerkleTreeMmcs` over Poseidon2) and
//! `p3_fri::prover::prove_fri` for FRI. The LogUp trace ([`crate::logup_trace`]: the values of
//! Plonky3's `LogUpGadget`, its expressions expanded once), the quotient ([`crate::quotient`])
//! and the opening evaluations and α-reduction ([`crate::opening`]) are this crate's own.

use std::borrow::Cow;
use std::marker::PhantomData;

use p3_commit::{Mmcs, OpeningRequest, PolynomialSpace, UnivariateStarkPcs};
use p3_fri::{FriParameters, TwoAdicFriFolding};
use p3_matrix::dense::RowMajorMatrix;

use crate::backend::{BackendError, OpeningRound};
use crate::field::{ChallengeMmcs, ProverConfig, ProverField, ValMmcs, fri_components};
use crate::opening::RoundMatrices;
use crate::security::FriSettings;

/// Runs every heavy step on the host, with rayon.
#[derive(Clone)]
pub struct CpuBackend<F: ProverField> {
    config: ProverConfig<F>,
    /// The trace MMCS and FRI parameters of `config`'s PCS (which keeps its own private).
    input_mmcs: ValMmcs<F>,
    fri: FriParameters<ChallengeMmcs<F>>,
}

impl<F: ProverField> CpuBackend<F> {
    /// A backend for the configuration these settings define.
    pub fn new(settings: &FriSettings) -> Self {
        let (input_mmcs, fri) = fri_components::<F>(settings);
        Self {
            config: crate::field::stark_config::<F>(settings),
            input_mmcs,
            fri,
        }
    }
}

type PcsOf<F> = crate::field::Pcs<F>;

fn failed<E: core::fmt::Debug>(phase: &'static str) -> impl FnOnce(E) -> BackendError {
    move |e| BackendError {
        phase,
        message: format!("{e:?}"),
    }
}

/// The `Backend` implementation for one concrete field. (Written per field so that the many
/// trait bounds of Plonky3's PCS are checked on concrete types.)
macro_rules! cpu_backend_for {
    ($field:ty) => {
        impl crate::backend::Backend<ProverConfig<$field>> for CpuBackend<$field> {
            // (`PcsOf` below names the PCS with its challenge field and challenger fixed.)
            type Trace<'a> = Cow<'a, RowMajorMatrix<$field>>;
            type Committed = <crate::field::Pcs<$field> as p3_commit::Pcs<
                crate::field::Challenge<$field>,
                crate::field::Challenger<$field>,
            >>::ProverData;
            type Quotient = Vec<crate::field::Challenge<$field>>;
            type Reduced = Vec<Vec<crate::field::Challenge<$field>>>;

            fn load_trace<'a>(
                &self,
                trace: &'a RowMajorMatrix<$field>,
            ) -> Result<Self::Trace<'a>, BackendError> {
                Ok(Cow::Borrowed(trace))
            }

            fn commit(
                &self,
                traces: Vec<(
                    p3_batch_stark::Domain<ProverConfig<$field>>,
                    Self::Trace<'_>,
                )>,
            ) -> Result<
                (
                    p3_batch_stark::Commitment<ProverConfig<$field>>,
                    Self::Committed,
                ),
                BackendError,
            > {
                let inputs = traces
                    .into_iter()
                    .map(|(domain, trace)| (domain, trace.into_owned()));
                <PcsOf<$field> as p3_commit::Pcs<crate::field::Challenge<$field>, crate::field::Challenger<$field>>>::commit(self.pcs(), inputs)
                    .map_err(failed("commit"))
            }

            fn logup_trace(
                &self,
                main: &Self::Trace<'_>,
                preprocessed: Option<&RowMajorMatrix<$field>>,
                public_values: &[$field],
                lookups: &[p3_lookup::Lookup<$field>],
                challenges: &[crate::field::Challenge<$field>],
            ) -> Result<
                (
                    Self::Trace<'static>,
                    Option<p3_lookup::LookupTerminal<crate::field::Challenge<$field>>>,
                ),
                BackendError,
            > {
                let (trace, terminal) = crate::logup_trace::logup_trace::<
                    $field,
                    crate::field::Challenge<$field>,
                >(
                    main, preprocessed, public_values, lookups, challenges
                );
                Ok((Cow::Owned(trace.flatten_to_base()), terminal))
            }

            fn quotient(
                &self,
                job: crate::backend::QuotientJob<'_, ProverConfig<$field>, Self::Committed>,
            ) -> Result<Self::Quotient, BackendError> {
                let pcs = self.pcs();
                let (main_data, main_idx) = job.main;
                let main = <PcsOf<$field> as UnivariateStarkPcs<crate::field::Challenge<$field>, crate::field::Challenger<$field>>>::get_evaluations_on_domain(
                    pcs,
                    main_data,
                    main_idx,
                    job.quotient_domain,
                );
                let preprocessed = job.preprocessed.map(|(data, idx)| {
                    <PcsOf<$field> as UnivariateStarkPcs<crate::field::Challenge<$field>, crate::field::Challenger<$field>>>::get_evaluations_on_domain_no_random(
                        pcs,
                        data,
                        idx,
                        job.quotient_domain,
                    )
                });
                let permutation = job.permutation.map(|(data, idx)| {
                    <PcsOf<$field> as UnivariateStarkPcs<crate::field::Challenge<$field>, crate::field::Challenger<$field>>>::get_evaluations_on_domain(
                        pcs,
                        data,
                        idx,
                        job.quotient_domain,
                    )
                });
                Ok(crate::quotient::quotient_values_with_preprocessed(
                    job.program,
                    &job.env,
                    job.alpha,
                    job.trace_domain,
                    job.quotient_domain,
                    &main,
                    preprocessed.as_ref(),
                    permutation.as_ref(),
                ))
            }

            fn commit_quotients(
                &self,
                quotients: Vec<(
                    p3_batch_stark::Domain<ProverConfig<$field>>,
                    usize,
                    Self::Quotient,
                )>,
            ) -> Result<
                (
                    p3_batch_stark::Commitment<ProverConfig<$field>>,
                    Self::Committed,
                ),
                BackendError,
            > {
                let pcs = self.pcs();
                let mut ldes = Vec::new();
                for (quotient_domain, num_chunks, values) in quotients {
                    let flat = RowMajorMatrix::new_col(values).flatten_to_base();
                    let chunks = quotient_domain.split_evals(num_chunks, flat);
                    let domains = quotient_domain.split_domains(num_chunks);
                    ldes.extend(
                        <PcsOf<$field> as UnivariateStarkPcs<crate::field::Challenge<$field>, crate::field::Challenger<$field>>>::get_quotient_ldes(
                            pcs,
                            domains.into_iter().zip(chunks),
                            num_chunks,
                        )
                        .map_err(failed("quotient LDE"))?,
                    );
                }
                <PcsOf<$field> as UnivariateStarkPcs<crate::field::Challenge<$field>, crate::field::Challenger<$field>>>::commit_ldes(pcs, ldes)
                    .map_err(failed("quotient commitment"))
            }

            fn evaluate_openings(
                &self,
                rounds: &[OpeningRound<'_, Self::Committed, crate::field::Challenge<$field>>],
            ) -> Result<p3_commit::OpenedValues<crate::field::Challenge<$field>>, BackendError>
            {
                let rounds = self.round_matrices(rounds);
                Ok(crate::opening::evaluate_at_points(&rounds, self.fri.log_blowup))
            }

            fn reduce_openings(
                &self,
                rounds: &[OpeningRound<'_, Self::Committed, crate::field::Challenge<$field>>],
                opened: &p3_commit::OpenedValues<crate::field::Challenge<$field>>,
                alpha: crate::field::Challenge<$field>,
            ) -> Result<Self::Reduced, BackendError> {
                let rounds = self.round_matrices(rounds);
                Ok(crate::opening::reduce_openings(&rounds, opened, alpha))
            }

            fn prove_fri(
                &self,
                reduced: Self::Reduced,
                rounds: &[OpeningRound<'_, Self::Committed, crate::field::Challenge<$field>>],
                challenger: &mut crate::field::Challenger<$field>,
                batch_pow_witness: $field,
            ) -> Result<p3_batch_stark::PcsProof<ProverConfig<$field>>, BackendError> {
                let log_max_height = rounds
                    .iter()
                    .flat_map(|r| self.input_mmcs.get_matrix_heights(r.committed))
                    .max()
                    .map_or(0, p3_util::log2_strict_usize);
                let requests: Vec<_> = rounds
                    .iter()
                    .map(|r| OpeningRequest {
                        prover_data: r.committed,
                        points: r.points.clone(),
                    })
                    .collect();
                let folding: p3_fri::TwoAdicFriFoldingForMmcs<$field, ValMmcs<$field>> =
                    TwoAdicFriFolding(PhantomData);
                p3_fri::prover::prove_fri(
                    &folding,
                    &self.fri,
                    reduced,
                    challenger,
                    log_max_height,
                    &requests,
                    &self.input_mmcs,
                    batch_pow_witness,
                )
                .map_err(failed("FRI"))
            }
        }

        impl CpuBackend<$field> {
            fn pcs(&self) -> &PcsOf<$field> {
                p3_batch_stark::StarkGenericConfig::pcs(&self.config)
            }

            fn round_matrices<'a>(
                &'a self,
                rounds: &'a [OpeningRound<
                    'a,
                    <CpuBackend<$field> as crate::backend::Backend<ProverConfig<$field>>>::Committed,
                    crate::field::Challenge<$field>,
                >],
            ) -> Vec<RoundMatrices<'a, $field, crate::field::Challenge<$field>>> {
                rounds
                    .iter()
                    .map(|r| RoundMatrices {
                        matrices: self.input_mmcs.get_matrices(r.committed),
                        points: &r.points,
                    })
                    .collect()
            }
        }
    };
}

cpu_backend_for!(p3_koala_bear::KoalaBear);
cpu_backend_for!(p3_baby_bear::BabyBear);
