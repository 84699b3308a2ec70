//! The prover's [`Backend`] on the GPU: **coset LDE + Merkle commitment, the quotient, the
//! openings, FRI folding and FRI's proof-of-work run on the device**; LogUp, FRI commit-phase
//! trees and query answers run on the host, and the proofs are
//! byte-identical to the CPU backend's (`slotproof_prover::test_airs::conformance`).
//!
//! | step (`Backend` method) | where it runs |
//! |---|---|
//! | `load_trace` | nothing: borrows the host trace |
//! | `commit` (main, LogUp traces) | host transpose → **upload** → GPU coset LDE (`GENERATOR / shift`, bit-reversed rows) → GPU Poseidon2 Merkle tree over all LDEs of the round → **download** of every LDE and every digest layer → host tree ([`HostMerkleTree`]) |
//! | `logup_trace` | host (delegated to [`CpuBackend`], `LogUpGadget`) |
//! | `quotient` | the engine: the constraint-program kernel (`crate::quotient`) on the first quotient-domain rows of the committed LDEs (uploaded again in part 1); the reference engine runs the kernel's model. Host fallback (`quotient_values` on `evaluations_on_domain`) when the LDE does not cover the quotient domain |
//! | `commit_quotients` | host split into chunks (`split_evals`) → as `commit`: upload, GPU LDE + Merkle, download |
//! | `evaluate_openings`, `reduce_openings` | the engine: the opening kernels (`crate::opening`: barycentric weights and column dots per point, one device codeword per LDE height with every α-reduction term added in place), fed by re-uploading the downloaded LDEs; the reference engine runs their model |
//! | `prove_fri` | host (`p3_fri::prover::prove_fri`) with each round's fold on the engine (the `fri_fold` kernel, through a `FriFoldingStrategy`) and the query proof-of-work on the engine (the `pow_grind` kernel, lent to the challenger as its `PowSearcher`); commit-phase trees on the host; input openings answered from the downloaded LDEs and digest layers by [`HostTreeMmcs`] |
//!
//! So each commitment round costs one upload of its inputs and one download of its LDEs and
//! digest layers (`~2^log_blowup ×` the input, plus `16 × 4` bytes per LDE row for the tree).
//! Still to do: keep the LDEs and trees resident (no download per round, no re-upload for the
//! quotient and openings), FRI commit rounds (`CudaBackend::fri_commit_round`) and query
//! answers on the device, LogUp on the device, grinding before the LogUp and out-of-domain
//! challenges (drawn by the pipeline, outside any backend call) on the device.
//!
//! The device step sits behind [`CommitEngine`]: [`CudaBackend`] is the GPU; [`ReferenceEngine`]
//! is the kernels' reference model on the CPU, which makes this module's host logic (job
//! shifts, quotient chunking, tree assembly, openings, the FRI proof conversion) testable — and
//! tested, whole proofs byte for byte — on machines without a GPU.

pub mod engine;
pub mod host_tree;

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use p3_commit::{Mmcs, OpenedValues, OpeningRequest, PolynomialSpace};
use p3_dft::{Radix2DitParallel, TwoAdicSubgroupDft};
use p3_field::TwoAdicField;
use p3_field::coset::TwoAdicMultiplicativeCoset;
use p3_fri::{BatchMultiOpening, FriParameters, FriProof, TwoAdicFriFolding};
use p3_matrix::Matrix;
use p3_matrix::bitrev::{BitReversedMatrixView, BitReversibleMatrix};
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixCow};
use p3_merkle_tree::{MerkleTreeError, PrunedMerklePaths};
use slotproof_prover::field::{Challenge, ChallengeMmcs, ValMmcs, fri_components};
use slotproof_prover::{
    Backend, BackendError, CpuBackend, FriSettings, OpeningRound, ProverConfig, ProverField,
};

pub use engine::{
    CommitEngine, CommittedLdes, LdeJob, QuotientInputs, ReduceTerm, ReferenceEngine, from_columns,
    reference_open_evaluations, reference_quotient, reference_reduce_height, to_columns,
};
pub use host_tree::{DIGEST_ELEMS, Digest, HostMerkleTree, HostTreeMmcs, TreeShapeError};

use crate::backend::CudaBackend;
use crate::field::DeviceField;

/// One commitment round's prover data: the (downloaded) bit-reversed LDEs and the Merkle tree.
pub type RoundData<F> = HostMerkleTree<F, RowMajorMatrix<F>>;

/// A round's commitment: the Merkle cap (the configuration's `MerkleTreeMmcs` commitment type).
pub type Commitment<F> = p3_merkle_tree::MerkleCap<F, Digest<F>>;

/// A prover [`Backend`] whose commitments (coset LDE + Merkle tree) run on a [`CommitEngine`]
/// — the GPU by default — and whose other steps run on the host; see the module docs.
pub struct CudaProverBackend<F: ProverField, E = CudaBackend> {
    engine: Arc<E>,
    cpu: CpuBackend<F>,
    mmcs: HostTreeMmcs<F>,
    fri: FriParameters<ChallengeMmcs<F>>,
    log_blowup: usize,
}

/// The backend with the kernels' reference model in place of the GPU (CPU only; for tests).
pub type ReferenceProverBackend<F> = CudaProverBackend<F, ReferenceEngine>;

impl<F: ProverField> CudaProverBackend<F, CudaBackend> {
    /// Open the GPU (device 0) and build the backend for these settings. Without a usable
    /// driver, device or embedded kernels this is a typed [`crate::Error`], never a panic.
    pub fn new(settings: &FriSettings) -> crate::Result<Self> {
        Ok(Self::with_engine(Arc::new(CudaBackend::new()?), settings))
    }
}

impl<F: ProverField, E> CudaProverBackend<F, E> {
    /// A backend committing with `engine` (shared, e.g. one GPU context for several provers).
    pub fn with_engine(engine: Arc<E>, settings: &FriSettings) -> Self {
        let (_, fri) = fri_components::<F>(settings);
        Self {
            engine,
            cpu: CpuBackend::new(settings),
            mmcs: HostTreeMmcs::new(settings),
            fri,
            log_blowup: settings.log_blowup,
        }
    }

    /// The commitment engine.
    pub fn engine(&self) -> &Arc<E> {
        &self.engine
    }

    /// The MMCS that opens this backend's rounds.
    pub fn mmcs(&self) -> &HostTreeMmcs<F> {
        &self.mmcs
    }
}

fn failed<E: core::fmt::Display>(phase: &'static str) -> impl FnOnce(E) -> BackendError {
    move |e| BackendError {
        phase,
        message: e.to_string(),
    }
}

/// The evaluations of committed matrix `lde` (bit-reversed, on `GENERATOR·K`) on `domain`, in
/// natural order — what `TwoAdicFriPcs::get_evaluations_on_domain` returns for the same matrix:
/// a view of the first `|domain|` rows when `domain` is `GENERATOR·K'` with `K' ⊆ K`, else the
/// polynomial recovered from the first `height >> log_blowup` rows and re-evaluated.
pub fn evaluations_on_domain<F: TwoAdicField>(
    lde: &RowMajorMatrix<F>,
    log_blowup: usize,
    domain: TwoAdicMultiplicativeCoset<F>,
) -> BitReversedMatrixView<RowMajorMatrixCow<'_, F>>
where
    Radix2DitParallel<F>: TwoAdicSubgroupDft<F>,
{
    if domain.shift() == F::GENERATOR && lde.height() >= domain.size() {
        return lde.split_rows(domain.size()).0.as_cow().bit_reverse_rows();
    }
    let dft = Radix2DitParallel::<F>::default();
    let poly_height = lde.height() >> log_blowup;
    let natural = lde
        .split_rows(poly_height)
        .0
        .bit_reverse_rows()
        .to_row_major_matrix();
    let mut coeffs = dft.coset_idft_batch(natural, F::GENERATOR);
    let width = coeffs.width();
    coeffs.values.resize(domain.size() * width, F::ZERO);
    let result = dft
        .coset_dft_batch(coeffs, domain.shift())
        .bit_reverse_rows()
        .to_row_major_matrix();
    let width = result.width();
    RowMajorMatrixCow::new(Cow::Owned(result.values), width).bit_reverse_rows()
}

/// Interleaved extension words (4 per element) as challenge-field elements, checked canonical.
fn ext_values<F: ProverField + DeviceField>(words: Vec<u32>) -> crate::Result<Vec<Challenge<F>>> {
    let values = F::vec_from_words(words)?;
    Ok(values
        .chunks_exact(4)
        .map(|c| {
            <Challenge<F> as p3_field::BasedVectorSpace<F>>::from_basis_coefficients_fn(|k| c[k])
        })
        .collect())
}

impl<F: ProverField + DeviceField, E: CommitEngine<F> + 'static> CudaProverBackend<F, E>
where
    HostTreeMmcs<F>: Mmcs<
            F,
            ProverData<RowMajorMatrix<F>> = RoundData<F>,
            MultiProof = PrunedMerklePaths<F, DIGEST_ELEMS>,
            Error = MerkleTreeError,
        >,
{
    /// LDE + commit on the engine, then the host tree and its cap.
    fn commit_round(
        &self,
        phase: &'static str,
        jobs: &[LdeJob<'_, F>],
    ) -> Result<(Commitment<F>, RoundData<F>), BackendError> {
        let CommittedLdes {
            ldes,
            digest_layers,
        } = self
            .engine
            .lde_and_commit(jobs, self.log_blowup)
            .map_err(failed(phase))?;
        let tree = HostMerkleTree::from_parts(ldes, digest_layers).map_err(failed(phase))?;
        Ok((tree.cap(self.mmcs.cap_height()), tree))
    }

    /// `commit`: each trace's evaluations are on `domain` (`shift · H`); the LDE shift is
    /// `GENERATOR / shift`, as in `TwoAdicFriPcs::commit`.
    fn commit_traces(
        &self,
        traces: &[(TwoAdicMultiplicativeCoset<F>, &RowMajorMatrix<F>)],
        phase: &'static str,
    ) -> Result<(Commitment<F>, RoundData<F>), BackendError> {
        let mut jobs = Vec::with_capacity(traces.len());
        for (domain, evals) in traces {
            if domain.size() != evals.height() {
                return Err(BackendError {
                    phase,
                    message: format!(
                        "a matrix of {} rows on a domain of {}",
                        evals.height(),
                        domain.size()
                    ),
                });
            }
            jobs.push(LdeJob {
                evals,
                shift: F::GENERATOR / domain.shift(),
            });
        }
        self.commit_round(phase, &jobs)
    }

    /// `commit_quotients`: flatten each quotient to base columns, split it into its chunks on
    /// the quotient domain's chunk cosets, and commit all chunks of all instances together.
    fn commit_quotient_chunks(
        &self,
        quotients: Vec<(TwoAdicMultiplicativeCoset<F>, usize, Vec<Challenge<F>>)>,
    ) -> Result<(Commitment<F>, RoundData<F>), BackendError> {
        let mut chunks = Vec::new();
        for (quotient_domain, num_chunks, values) in quotients {
            if values.len() != quotient_domain.size() || num_chunks == 0 {
                return Err(BackendError {
                    phase: "quotient commitment",
                    message: format!(
                        "{} quotient values on a domain of {} in {num_chunks} chunks",
                        values.len(),
                        quotient_domain.size()
                    ),
                });
            }
            let flat = RowMajorMatrix::new_col(values).flatten_to_base();
            let evals = quotient_domain.split_evals(num_chunks, flat);
            let domains = quotient_domain.split_domains(num_chunks);
            chunks.extend(domains.into_iter().zip(evals));
        }
        let refs: Vec<_> = chunks.iter().map(|(d, m)| (*d, m)).collect();
        self.commit_traces(&refs, "quotient commitment")
    }

    /// The quotient on the engine (the constraint-program kernel, or its reference model) when
    /// the committed LDEs cover the quotient domain as they are (shift `GENERATOR`, at least
    /// as many rows): `None` otherwise, and the host path runs.
    fn engine_quotient(
        &self,
        job: &slotproof_prover::QuotientJob<'_, ProverConfig<F>, RoundData<F>>,
    ) -> Result<Option<Vec<Challenge<F>>>, BackendError> {
        let q_size = job.quotient_domain.size();
        let (main_data, main_idx) = job.main;
        let main = Self::matrix(main_data, main_idx)?;
        let permutation = match job.permutation {
            Some((data, idx)) => Some(Self::matrix(data, idx)?),
            None => None,
        };
        let covers = |m: &RowMajorMatrix<F>| m.height() >= q_size;
        if job.quotient_domain.shift() != F::GENERATOR
            || job.trace_domain.shift() != F::ONE
            || !covers(main)
            || !permutation.is_none_or(covers)
        {
            return Ok(None);
        }
        let err = failed("quotient");
        let program = crate::quotient::DeviceProgram::lower(job.program).map_err(err)?;
        let env = crate::quotient::QuotientEnv::new(
            job.program,
            job.env.public_values,
            job.env.challenges,
            job.env.permutation_values,
            job.alpha,
        )
        .map_err(failed("quotient"))?;
        let domain = crate::quotient::QuotientDomain::new::<F>(
            job.trace_domain.log_size(),
            job.quotient_domain.log_size(),
        )
        .map_err(failed("quotient"))?;
        let words = self
            .engine
            .quotient(&QuotientInputs {
                program: &program,
                env: &env,
                domain: &domain,
                main,
                permutation,
            })
            .map_err(failed("quotient"))?;
        let values = F::vec_from_words(words).map_err(failed("quotient"))?;
        Ok(Some(
            (0..q_size)
                .map(|i| {
                    <Challenge<F> as p3_field::BasedVectorSpace<F>>::from_basis_coefficients_fn(
                        |k| values[k * q_size + i],
                    )
                })
                .collect(),
        ))
    }

    /// `evaluate_openings` on the engine: every matrix of every round at each of its points.
    fn engine_evaluate_openings(
        &self,
        rounds: &[OpeningRound<'_, RoundData<F>, Challenge<F>>],
    ) -> Result<OpenedValues<Challenge<F>>, BackendError> {
        let err = |e: crate::Error| failed("opening evaluations")(e);
        rounds
            .iter()
            .map(|round| {
                round
                    .committed
                    .leaves()
                    .iter()
                    .zip(&round.points)
                    .map(|(lde, points)| {
                        let log_height = p3_util::log2_strict_usize(lde.height());
                        let log_h = log_height.checked_sub(self.log_blowup).ok_or_else(|| {
                            err(crate::Error::InvalidShape(format!(
                                "LDE of 2^{log_height} rows with blowup 2^{}",
                                self.log_blowup
                            )))
                        })?;
                        let params = points
                            .iter()
                            .map(|&z| crate::opening::weights_params::<F, Challenge<F>>(log_h, z))
                            .collect::<crate::Result<Vec<_>>>()
                            .map_err(err)?;
                        let words = self.engine.open_evaluations(lde, &params).map_err(err)?;
                        words
                            .into_iter()
                            .map(|w| ext_values::<F>(w).map_err(err))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    /// `reduce_openings` on the engine: one codeword per LDE height (tallest first), its terms
    /// in round, matrix, point order with `alpha` offsets counted per height, as
    /// `slotproof_prover::opening::reduce_openings` orders them.
    fn engine_reduce_openings(
        &self,
        rounds: &[OpeningRound<'_, RoundData<F>, Challenge<F>>],
        opened: &OpenedValues<Challenge<F>>,
        alpha: Challenge<F>,
    ) -> Result<Vec<Vec<Challenge<F>>>, BackendError> {
        let err = |e: crate::Error| failed("alpha-reduction")(e);
        let mut heights: Vec<usize> = rounds
            .iter()
            .flat_map(|r| r.committed.leaves().iter().map(|m| m.height()))
            .collect();
        heights.sort_unstable();
        heights.dedup();
        heights.reverse();
        let mut reduced = Vec::with_capacity(heights.len());
        for height in heights {
            let mut terms = Vec::new();
            let mut num_reduced = 0;
            for (round, round_opened) in rounds.iter().zip(opened) {
                for ((lde, points), values) in round
                    .committed
                    .leaves()
                    .iter()
                    .zip(&round.points)
                    .zip(round_opened)
                {
                    if lde.height() != height {
                        continue;
                    }
                    for (&z, ys) in points.iter().zip(values) {
                        let (params, alpha_powers) =
                            crate::opening::reduce_params::<F, Challenge<F>>(
                                p3_util::log2_strict_usize(height),
                                lde.width(),
                                z,
                                ys,
                                alpha,
                                num_reduced,
                            )
                            .map_err(err)?;
                        terms.push(ReduceTerm {
                            lde,
                            params,
                            alpha_powers,
                        });
                        num_reduced += lde.width();
                    }
                }
            }
            let words = self.engine.reduce_height(height, &terms).map_err(err)?;
            reduced.push(ext_values::<F>(words).map_err(err)?);
        }
        Ok(reduced)
    }

    /// The committed matrix `idx` of a round, or a typed error.
    fn matrix(data: &RoundData<F>, idx: usize) -> Result<&RowMajorMatrix<F>, BackendError> {
        data.leaves().get(idx).ok_or_else(|| BackendError {
            phase: "quotient",
            message: format!(
                "matrix {idx} of a round of {} matrices",
                data.leaves().len()
            ),
        })
    }

    /// FRI over the host rounds; the input openings come from [`HostTreeMmcs`] and are
    /// converted to the configuration's proof type (same fields, same multi-proof type).
    #[allow(clippy::type_complexity)]
    fn fri(
        &self,
        reduced: Vec<Vec<Challenge<F>>>,
        rounds: &[OpeningRound<'_, RoundData<F>, Challenge<F>>],
        challenger: &mut slotproof_prover::field::Challenger<F>,
        batch_pow_witness: F,
    ) -> Result<
        FriProof<Challenge<F>, ChallengeMmcs<F>, F, Vec<BatchMultiOpening<F, ValMmcs<F>>>>,
        BackendError,
    >
    where
        ValMmcs<F>: Mmcs<F, MultiProof = PrunedMerklePaths<F, DIGEST_ELEMS>>,
        ChallengeMmcs<F>: Mmcs<Challenge<F>>,
        slotproof_prover::field::Challenger<F>: p3_challenger::FieldChallenger<F>
            + p3_challenger::GrindingChallenger<Witness = F>
            + p3_challenger::CanObserve<<ChallengeMmcs<F> as Mmcs<Challenge<F>>>::Commitment>,
    {
        let log_max_height = rounds
            .iter()
            .flat_map(|r| r.committed.leaves().iter().map(|m| m.height()))
            .max()
            .map_or(0, p3_util::log2_strict_usize);
        let requests: Vec<_> = rounds
            .iter()
            .map(|r| OpeningRequest {
                prover_data: r.committed,
                points: r.points.clone(),
            })
            .collect();
        // The query proof-of-work inside prove_fri grinds on the engine.
        let searcher = Arc::new(EngineSearcher {
            engine: self.engine.clone(),
            error: std::sync::Mutex::new(None),
        });
        let previous = challenger.set_pow_searcher(Some(searcher.clone()));
        let folding = EngineFolding {
            engine: &*self.engine,
            host: TwoAdicFriFolding(PhantomData),
            error: std::sync::Mutex::new(None),
            _f: PhantomData,
        };
        let proof = p3_fri::prover::prove_fri(
            &folding,
            &self.fri,
            reduced,
            challenger,
            log_max_height,
            &requests,
            &self.mmcs,
            batch_pow_witness,
        )
        .map_err(|e| BackendError {
            phase: "FRI",
            message: format!("{e:?}"),
        });
        challenger.set_pow_searcher(previous);
        let proof = proof?;
        if let Some(e) = searcher
            .error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(failed("FRI proof of work")(e));
        }
        if let Some(e) = folding
            .error
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
        {
            return Err(failed("FRI folding")(e));
        }
        Ok(FriProof {
            batch_pow_witness: proof.batch_pow_witness,
            commit_phase_commits: proof.commit_phase_commits,
            commit_pow_witnesses: proof.commit_pow_witnesses,
            input_openings: proof
                .input_openings
                .into_iter()
                .map(|o| BatchMultiOpening {
                    opened_values: o.opened_values,
                    opening_proof: o.opening_proof,
                })
                .collect(),
            commit_phase_openings: proof.commit_phase_openings,
            final_poly: proof.final_poly,
            query_pow_witness: proof.query_pow_witness,
        })
    }
}

/// The challenger's proof-of-work search on the engine (the `pow_grind` kernel, or its model).
/// A failure is recorded (the challenger then searches on the CPU) and returned after FRI.
struct EngineSearcher<E> {
    engine: Arc<E>,
    error: std::sync::Mutex<Option<crate::Error>>,
}

impl<F, E> slotproof_prover::challenger::PowSearcher<F> for EngineSearcher<E>
where
    F: ProverField + DeviceField,
    E: CommitEngine<F>,
{
    fn smallest_witness(
        &self,
        sponge_state: &[F; 16],
        buffered: &[F],
        bits: usize,
    ) -> Result<F, String> {
        let found = crate::pow::PowSearch::new(sponge_state, buffered)
            .and_then(|search| self.engine.pow_witness(&search, bits));
        found.map_err(|e| {
            let message = e.to_string();
            self.error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            message
        })
    }
}

/// p3's FRI folding with `fold_matrix` on the engine (the `fri_fold` kernel, or its model).
/// `fold_matrix` cannot return an error, so an engine failure is recorded, the host fold is
/// used for that call, and [`CudaProverBackend`] returns the recorded error after FRI.
struct EngineFolding<'a, F: ProverField, E> {
    engine: &'a E,
    host: p3_fri::TwoAdicFriFoldingForMmcs<F, HostTreeMmcs<F>>,
    error: std::sync::Mutex<Option<crate::Error>>,
    _f: PhantomData<F>,
}

impl<F, E> p3_fri::FriFoldingStrategy<F, Challenge<F>> for EngineFolding<'_, F, E>
where
    F: ProverField + DeviceField,
    E: CommitEngine<F>,
    HostTreeMmcs<F>: Mmcs<F>,
    p3_fri::TwoAdicFriFoldingForMmcs<F, HostTreeMmcs<F>>:
        p3_fri::FriFoldingStrategy<F, Challenge<F>>,
{
    type InputProof =
        <p3_fri::TwoAdicFriFoldingForMmcs<F, HostTreeMmcs<F>> as p3_fri::FriFoldingStrategy<
            F,
            Challenge<F>,
        >>::InputProof;
    type InputError =
        <p3_fri::TwoAdicFriFoldingForMmcs<F, HostTreeMmcs<F>> as p3_fri::FriFoldingStrategy<
            F,
            Challenge<F>,
        >>::InputError;

    fn extra_query_index_bits(&self) -> usize {
        p3_fri::FriFoldingStrategy::<F, Challenge<F>>::extra_query_index_bits(&self.host)
    }

    fn fold_row(
        &self,
        index: usize,
        log_height: usize,
        log_arity: usize,
        beta: Challenge<F>,
        evals: impl Iterator<Item = Challenge<F>>,
    ) -> Challenge<F> {
        p3_fri::FriFoldingStrategy::<F, Challenge<F>>::fold_row(
            &self.host, index, log_height, log_arity, beta, evals,
        )
    }

    fn fold_matrix<M: Matrix<Challenge<F>>>(
        &self,
        beta: Challenge<F>,
        log_arity: usize,
        m: M,
    ) -> Vec<Challenge<F>> {
        let on_engine = || -> crate::Result<Vec<Challenge<F>>> {
            // Rows of `arity` adjacent elements: the codeword is the rows concatenated.
            let codeword: Vec<Challenge<F>> = m.rows().flatten().collect();
            let log_len = p3_util::log2_strict_usize(codeword.len());
            let schedule =
                crate::fri::FoldSchedule::new::<F, Challenge<F>>(log_len, log_arity, beta)?;
            let words = crate::quotient::ext_slice_words::<F, Challenge<F>>(&codeword)?;
            ext_values::<F>(self.engine.fri_fold(&words, &schedule)?)
        };
        match on_engine() {
            Ok(folded) => folded,
            Err(e) => {
                let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert(e);
                p3_fri::FriFoldingStrategy::<F, Challenge<F>>::fold_matrix(
                    &self.host, beta, log_arity, m,
                )
            }
        }
    }
}

/// The `Backend` implementation for one concrete field (as the CPU backend's, so that
/// Plonky3's PCS bounds are checked on concrete types).
macro_rules! prover_backend_for {
    ($field:ty) => {
        impl<E: CommitEngine<$field> + 'static> Backend<ProverConfig<$field>>
            for CudaProverBackend<$field, E>
        {
            type Trace<'a> = Cow<'a, RowMajorMatrix<$field>>;
            type Committed = RoundData<$field>;
            type Quotient = Vec<Challenge<$field>>;
            type Reduced = Vec<Vec<Challenge<$field>>>;

            fn load_trace<'a>(&self, trace: &'a RowMajorMatrix<$field>) -> Self::Trace<'a> {
                Cow::Borrowed(trace)
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
                let refs: Vec<_> = traces.iter().map(|(d, t)| (*d, t.as_ref())).collect();
                self.commit_traces(&refs, "commit")
            }

            fn logup_trace(
                &self,
                main: &Self::Trace<'_>,
                public_values: &[$field],
                lookups: &[p3_lookup::Lookup<$field>],
                challenges: &[Challenge<$field>],
            ) -> Result<
                (
                    Self::Trace<'static>,
                    Option<p3_lookup::LookupTerminal<Challenge<$field>>>,
                ),
                BackendError,
            > {
                <CpuBackend<$field> as Backend<ProverConfig<$field>>>::logup_trace(
                    &self.cpu,
                    main,
                    public_values,
                    lookups,
                    challenges,
                )
            }

            fn quotient(
                &self,
                job: slotproof_prover::QuotientJob<'_, ProverConfig<$field>, Self::Committed>,
            ) -> Result<Self::Quotient, BackendError> {
                if let Some(q) = self.engine_quotient(&job)? {
                    return Ok(q);
                }
                let (main_data, main_idx) = job.main;
                let main = evaluations_on_domain(
                    Self::matrix(main_data, main_idx)?,
                    self.log_blowup,
                    job.quotient_domain,
                );
                let permutation = match job.permutation {
                    Some((data, idx)) => Some(evaluations_on_domain(
                        Self::matrix(data, idx)?,
                        self.log_blowup,
                        job.quotient_domain,
                    )),
                    None => None,
                };
                Ok(slotproof_prover::quotient::quotient_values(
                    job.program,
                    &job.env,
                    job.alpha,
                    job.trace_domain,
                    job.quotient_domain,
                    &main,
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
                self.commit_quotient_chunks(quotients)
            }

            fn evaluate_openings(
                &self,
                rounds: &[OpeningRound<'_, Self::Committed, Challenge<$field>>],
            ) -> Result<OpenedValues<Challenge<$field>>, BackendError> {
                self.engine_evaluate_openings(rounds)
            }

            fn reduce_openings(
                &self,
                rounds: &[OpeningRound<'_, Self::Committed, Challenge<$field>>],
                opened: &OpenedValues<Challenge<$field>>,
                alpha: Challenge<$field>,
            ) -> Result<Self::Reduced, BackendError> {
                self.engine_reduce_openings(rounds, opened, alpha)
            }

            fn prove_fri(
                &self,
                reduced: Self::Reduced,
                rounds: &[OpeningRound<'_, Self::Committed, Challenge<$field>>],
                challenger: &mut slotproof_prover::field::Challenger<$field>,
                batch_pow_witness: $field,
            ) -> Result<p3_batch_stark::PcsProof<ProverConfig<$field>>, BackendError> {
                self.fri(reduced, rounds, challenger, batch_pow_witness)
            }
        }
    };
}

prover_backend_for!(p3_koala_bear::KoalaBear);
prover_backend_for!(p3_baby_bear::BabyBear);
