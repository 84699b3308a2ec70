//! The prover's [`Backend`] on the GPU, **device-resident**: a trace is uploaded once, and
//! every LDE, Merkle tree, quotient, α-reduced codeword and FRI layer of the shard stays on the
//! engine until the proof is assembled. What comes back to the host is what the transcript and
//! the proof need: Merkle caps, opened values, the final polynomial, proof-of-work witnesses and
//! the rows and digests the query answers name. Proofs are byte-identical to the CPU backend's
//! (`slotproof_prover::test_airs::conformance`).
//!
//! | step (`Backend` method) | where it runs |
//! |---|---|
//! | `load_trace` | host transpose → **upload**; the trace stays resident until its LogUp trace is derived |
//! | `commit` (main, LogUp traces) | coset LDE (`GENERATOR / shift`, bit-reversed rows) of each resident trace → Poseidon2 Merkle tree over all LDEs of the round, both resident → **cap** back |
//! | `logup_trace` | the LogUp kernels (`crate::logup`: fractions, extension prefix scan, accumulator) on the resident main trace; the LogUp trace resident → **terminal** back |
//! | `quotient` | the constraint-program kernel (`crate::quotient`) on the first quotient-domain rows of the resident LDEs; result resident. When the quotient domain is taller than the LDE (constraint degree above the blowup: the CPU and ALU chips), the LDE's first rows are bit-reversed back to natural order (`bitrev_rows`) and re-extended onto the quotient domain first, on the engine. Host fallback (downloads the LDEs) only for domains not on `GENERATOR`'s coset, which the prover never asks for |
//! | `commit_quotients` | `quotient_split` on the engine, each chunk extended with its coset shift and all chunks committed in one tree, resident → **cap** back |
//! | `evaluate_openings` | the opening kernels (`crate::opening`, barycentric weights and column dots per point) on the resident LDEs → **opened values** back |
//! | `reduce_openings` | one resident codeword per LDE height, every α-reduction term added in place |
//! | `prove_fri` | [`fri::prove_fri`]: per round `fri_leaves` + tree (resident, **cap** back), fold with roll-in (resident); **final polynomial** back; query proof-of-work on the engine (`pow_grind`, lent to the challenger as its `PowSearcher`); query answers gathered from the resident matrices and trees (**rows and sibling digests** back) |
//!
//! Preprocessed columns (fixed tables, committed once per key through `commit` like any trace,
//! so their LDE and tree are resident): an instance that has them takes the host paths for its
//! LogUp trace and its quotient (the LogUp and quotient kernels read one main matrix; reading
//! `[main | preprocessed]` on the engine is the next step).
//!
//! Still on the host: the grinding before the LogUp and out-of-domain challenges (drawn by the
//! pipeline, outside any backend call; 0 bits in the default settings) and the transcript.
//!
//! The device sits behind [`ProverEngine`]: [`CudaBackend`] is the GPU; [`ReferenceEngine`]
//! is the kernels' reference model on the CPU, which makes this module's logic (job shifts,
//! quotient chunking, openings, the FRI prover, query answers) testable — and tested, whole
//! proofs byte for byte — on machines without a GPU.

pub mod columns;
pub mod engine;
pub mod fri;
pub mod host_tree;
pub mod metered;
pub mod openings;
pub mod reference_engine;

use std::borrow::Cow;
use std::sync::Arc;

use p3_commit::{OpenedValues, PolynomialSpace};
use p3_dft::{Radix2DitParallel, TwoAdicSubgroupDft};
use p3_field::TwoAdicField;
use p3_field::coset::TwoAdicMultiplicativeCoset;
use p3_fri::FriParameters;
use p3_matrix::Matrix;
use p3_matrix::bitrev::{BitReversedMatrixView, BitReversibleMatrix};
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixCow};
use slotproof_prover::field::{Challenge, ChallengeMmcs, fri_components};
use slotproof_prover::{
    Backend, BackendError, FriSettings, OpeningRound, ProverConfig, ProverField,
};

pub(crate) use columns::columns_range_into;
pub use columns::{from_columns, to_columns};
pub use engine::{ProverEngine, QuotientInputs, ReduceTerm};
pub use host_tree::{DIGEST_ELEMS, Digest, HostMerkleTree, HostTreeMmcs, TreeShapeError};
pub use metered::{Metered, MeteredEngine, ResidentMeter};
pub use reference_engine::{ModelMatrix, ModelTree, ReferenceEngine};

use crate::backend::CudaBackend;
use crate::field::DeviceField;

/// A round's commitment: the Merkle cap (the configuration's `MerkleTreeMmcs` commitment type).
pub type Commitment<F> = p3_merkle_tree::MerkleCap<F, Digest<F>>;

/// A resident LogUp trace and its terminal.
type ResidentLogUp<F, E> = (
    Arc<<E as ProverEngine<F>>::Matrix>,
    Option<p3_lookup::LookupTerminal<Challenge<F>>>,
);

/// One commitment round, resident on the engine: the bit-reversed LDEs in commit order and the
/// Merkle tree over them.
pub struct ResidentRound<F: DeviceField, E: ProverEngine<F>> {
    pub matrices: Vec<E::Matrix>,
    pub tree: E::Tree,
}

/// A prover [`Backend`] whose heavy steps run on a [`ProverEngine`] — the GPU by default —
/// on resident data; see the module docs.
pub struct CudaProverBackend<F: ProverField, E = CudaBackend> {
    engine: Arc<E>,
    fri: FriParameters<ChallengeMmcs<F>>,
    cap_height: usize,
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
    /// A backend proving on `engine` (shared, e.g. one GPU context for several provers).
    pub fn with_engine(engine: Arc<E>, settings: &FriSettings) -> Self {
        let (_, fri) = fri_components::<F>(settings);
        Self {
            engine,
            fri,
            cap_height: settings.merkle_cap_height,
            log_blowup: settings.log_blowup,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<E> {
        &self.engine
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
pub(crate) fn ext_values<F: ProverField + DeviceField>(
    words: Vec<u32>,
) -> crate::Result<Vec<Challenge<F>>> {
    let values = F::vec_from_words(words)?;
    Ok(values
        .chunks_exact(4)
        .map(|c| {
            <Challenge<F> as p3_field::BasedVectorSpace<F>>::from_basis_coefficients_fn(|k| c[k])
        })
        .collect())
}

impl<F: ProverField + DeviceField, E: ProverEngine<F> + 'static> CudaProverBackend<F, E> {
    /// The tree over a round's LDEs and its cap.
    fn commit_ldes(
        &self,
        phase: &'static str,
        matrices: Vec<E::Matrix>,
    ) -> Result<(Commitment<F>, ResidentRound<F, E>), BackendError> {
        let refs: Vec<&E::Matrix> = matrices.iter().collect();
        let tree = self.engine.merkle_tree(&refs).map_err(failed(phase))?;
        let cap = fri::tree_cap(&*self.engine, &tree, self.cap_height).map_err(failed(phase))?;
        Ok((cap, ResidentRound { matrices, tree }))
    }

    /// `commit`: each trace's evaluations are on `domain` (`shift · H`); the LDE shift is
    /// `GENERATOR / shift`, as in `TwoAdicFriPcs::commit`. A trace no one else holds (a LogUp
    /// trace) is extended in place of its buffer; a shared one (a main trace, still needed
    /// for LogUp) from a copy.
    fn commit_traces(
        &self,
        traces: Vec<(TwoAdicMultiplicativeCoset<F>, Arc<E::Matrix>)>,
        phase: &'static str,
    ) -> Result<(Commitment<F>, ResidentRound<F, E>), BackendError> {
        let err = failed(phase);
        if traces.is_empty() {
            return Err(err("a commitment round needs a matrix"));
        }
        let mut matrices = Vec::with_capacity(traces.len());
        for (domain, trace) in traces {
            let rows = self.engine.dims(&trace).0;
            if domain.size() != rows {
                return Err(BackendError {
                    phase,
                    message: format!("a matrix of {rows} rows on a domain of {}", domain.size()),
                });
            }
            let shift = F::GENERATOR / domain.shift();
            let lde = match Arc::try_unwrap(trace) {
                Ok(owned) => self.engine.coset_lde(owned, self.log_blowup, shift),
                Err(shared) => self.engine.coset_lde_of(&shared, self.log_blowup, shift),
            };
            matrices.push(lde.map_err(failed(phase))?);
        }
        self.commit_ldes(phase, matrices)
    }

    /// `commit_quotients`: split each resident quotient into its chunks on the quotient
    /// domain's chunk cosets, extend each with its shift, commit all chunks of all instances.
    fn commit_quotient_chunks(
        &self,
        quotients: Vec<(TwoAdicMultiplicativeCoset<F>, usize, E::Matrix)>,
    ) -> Result<(Commitment<F>, ResidentRound<F, E>), BackendError> {
        let phase = "quotient commitment";
        let mut ldes = Vec::new();
        for (quotient_domain, num_chunks, q) in quotients {
            let (rows, width) = self.engine.dims(&q);
            if rows != quotient_domain.size()
                || width != 4
                || !num_chunks.is_power_of_two()
                || num_chunks > rows
            {
                return Err(BackendError {
                    phase,
                    message: format!(
                        "a {rows} x {width} quotient on a domain of {} in {num_chunks} chunks",
                        quotient_domain.size()
                    ),
                });
            }
            let chunks = self
                .engine
                .split_quotient(&q, num_chunks.trailing_zeros() as usize)
                .map_err(failed(phase))?;
            drop(q);
            let domains = quotient_domain.split_domains(num_chunks);
            for (chunk, d) in chunks.into_iter().zip(domains) {
                let lde = self
                    .engine
                    .coset_lde(chunk, self.log_blowup, F::GENERATOR / d.shift())
                    .map_err(failed(phase))?;
                ldes.push(lde);
            }
        }
        if ldes.is_empty() {
            return Err(failed(phase)("no quotient to commit"));
        }
        self.commit_ldes(phase, ldes)
    }

    /// The LogUp trace of a resident main trace on the engine.
    fn engine_logup(
        &self,
        main: &E::Matrix,
        public_values: &[F],
        lookups: &[p3_lookup::Lookup<F>],
        challenges: &[Challenge<F>],
    ) -> Result<ResidentLogUp<F, E>, BackendError> {
        let err = |e: crate::Error| failed("LogUp trace")(e);
        let main_width = self.engine.dims(main).1;
        let program = crate::logup::LogUpProgram::compile::<F, Challenge<F>>(
            lookups,
            main_width,
            public_values.len(),
        )
        .map_err(err)?;
        let env =
            crate::logup::LogUpEnv::new::<F, Challenge<F>>(&program, public_values, challenges)
                .map_err(err)?;
        let (trace, terminal) = self.engine.logup_trace(&program, &env, main).map_err(err)?;
        let terminal = terminal
            .map(|w| {
                crate::logup::ext_from_words::<F, Challenge<F>>(w).map(p3_lookup::LookupTerminal)
            })
            .transpose()
            .map_err(err)?;
        Ok((Arc::new(trace), terminal))
    }

    /// The LogUp trace of an instance whose lookups may read its preprocessed columns, on the
    /// host (Plonky3's `LogUpGadget` on a downloaded main trace), made resident. The LogUp
    /// kernels read one main matrix; preprocessed tables are small fixed tables, so this
    /// fallback costs one download of the (table) trace.
    fn host_logup(
        &self,
        main: &E::Matrix,
        preprocessed: &RowMajorMatrix<F>,
        public_values: &[F],
        lookups: &[p3_lookup::Lookup<F>],
        challenges: &[Challenge<F>],
    ) -> Result<ResidentLogUp<F, E>, BackendError> {
        use p3_lookup::LookupProtocol;
        let phase = "LogUp trace (host, preprocessed)";
        let main = self.engine.download(main).map_err(failed(phase))?;
        let (trace, terminal) = p3_lookup::LogUpGadget::new()
            .generate_permutation::<F, Challenge<F>>(
                &main,
                &Some(preprocessed.clone()),
                public_values,
                lookups,
                challenges,
            );
        let resident = self
            .engine
            .upload(&trace.flatten_to_base())
            .map_err(failed(phase))?;
        Ok((Arc::new(resident), terminal))
    }

    /// The quotient on the engine when the committed LDEs cover the quotient domain as they
    /// are (shift `GENERATOR`, at least as many rows); otherwise the host fallback. An
    /// instance with preprocessed columns also takes the host path: the quotient kernel reads
    /// one main matrix, and the program reads `[main | preprocessed]`.
    fn quotient_job(
        &self,
        job: &slotproof_prover::QuotientJob<'_, ProverConfig<F>, ResidentRound<F, E>>,
    ) -> Result<E::Matrix, BackendError> {
        let main = Self::matrix(job.main.0, job.main.1)?;
        let permutation = match job.permutation {
            Some((data, idx)) => Some(Self::matrix(data, idx)?),
            None => None,
        };
        let preprocessed = match job.preprocessed {
            Some((data, idx)) => Some(Self::matrix(data, idx)?),
            None => None,
        };
        if job.quotient_domain.shift() != F::GENERATOR
            || job.trace_domain.shift() != F::ONE
            || preprocessed.is_some()
        {
            return self.host_quotient(job, main, preprocessed, permutation);
        }
        // A constraint degree above the blowup makes the quotient domain taller than the LDE
        // (the CPU and ALU chips: 4 chunks at blowup 2): re-extend onto the quotient domain.
        let extended_main = self.quotient_domain_lde(main, job)?;
        let extended_perm = match permutation {
            Some(m) => self.quotient_domain_lde(m, job)?,
            None => None,
        };
        let main = extended_main.as_ref().unwrap_or(main);
        let permutation = extended_perm.as_ref().or(permutation);
        let program =
            crate::quotient::DeviceProgram::lower(job.program).map_err(failed("quotient"))?;
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
        self.engine
            .quotient(&QuotientInputs {
                program: &program,
                env: &env,
                domain: &domain,
                main,
                permutation,
            })
            .map_err(failed("quotient"))
    }

    /// When committed LDE `lde` does not cover the quotient domain, its polynomial's
    /// evaluations there, in the committed layout (bit-reversed on `GENERATOR·K_q`), as
    /// `TwoAdicFriPcs::get_evaluations_on_domain` recovers them: the LDE's first `n` rows are
    /// the evaluations on `GENERATOR·H` in bit-reversed order; in natural order they are those
    /// of `x -> p(GENERATOR·x)` on `H`, whose LDE with shift 1 by `q / n` is `p` on
    /// `GENERATOR·K_q`. `None` when the LDE already covers the domain.
    fn quotient_domain_lde(
        &self,
        lde: &E::Matrix,
        job: &slotproof_prover::QuotientJob<'_, ProverConfig<F>, ResidentRound<F, E>>,
    ) -> Result<Option<E::Matrix>, BackendError> {
        let rows = self.engine.dims(lde).0;
        let (log_n, log_q) = (job.trace_domain.log_size(), job.quotient_domain.log_size());
        if rows >= 1 << log_q {
            return Ok(None);
        }
        if rows != 1 << (log_n + self.log_blowup) {
            return Err(failed("quotient")(format!(
                "an LDE of {rows} rows for a trace of 2^{log_n} at blowup 2^{}",
                self.log_blowup
            )));
        }
        let natural = self
            .engine
            .bitrev_rows(lde, log_n)
            .map_err(failed("quotient"))?;
        self.engine
            .coset_lde(natural, log_q - log_n, F::ONE)
            .map(Some)
            .map_err(failed("quotient"))
    }

    /// The quotient on the host from downloaded LDEs (`evaluations_on_domain`), made resident.
    fn host_quotient(
        &self,
        job: &slotproof_prover::QuotientJob<'_, ProverConfig<F>, ResidentRound<F, E>>,
        main: &E::Matrix,
        preprocessed: Option<&E::Matrix>,
        permutation: Option<&E::Matrix>,
    ) -> Result<E::Matrix, BackendError>
    where
        Radix2DitParallel<F>: TwoAdicSubgroupDft<F>,
    {
        let err = failed("quotient (host fallback)");
        let main = self
            .engine
            .download(main)
            .map_err(failed("quotient (host fallback)"))?;
        let preprocessed = preprocessed
            .map(|m| self.engine.download(m))
            .transpose()
            .map_err(failed("quotient (host fallback)"))?;
        let permutation = permutation
            .map(|m| self.engine.download(m))
            .transpose()
            .map_err(err)?;
        let main_view = evaluations_on_domain(&main, self.log_blowup, job.quotient_domain);
        let prep_view = preprocessed
            .as_ref()
            .map(|m| evaluations_on_domain(m, self.log_blowup, job.quotient_domain));
        let perm_view = permutation
            .as_ref()
            .map(|m| evaluations_on_domain(m, self.log_blowup, job.quotient_domain));
        let values = slotproof_prover::quotient::quotient_values_with_preprocessed(
            job.program,
            &job.env,
            job.alpha,
            job.trace_domain,
            job.quotient_domain,
            &main_view,
            prep_view.as_ref(),
            perm_view.as_ref(),
        );
        let words = crate::quotient::ext_slice_words::<F, Challenge<F>>(&values)
            .map_err(failed("quotient (host fallback)"))?;
        self.engine
            .upload_quotient(&words, values.len())
            .map_err(failed("quotient (host fallback)"))
    }

    /// `evaluate_openings` on the engine: every matrix of every round at each of its points.
    fn engine_evaluate_openings(
        &self,
        rounds: &[OpeningRound<'_, ResidentRound<F, E>, Challenge<F>>],
    ) -> Result<OpenedValues<Challenge<F>>, BackendError> {
        let err = |e: crate::Error| failed("opening evaluations")(e);
        rounds
            .iter()
            .map(|round| {
                round
                    .committed
                    .matrices
                    .iter()
                    .zip(&round.points)
                    .map(|(lde, points)| {
                        let log_height = p3_util::log2_strict_usize(self.engine.dims(lde).0);
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

    /// `reduce_openings` on the engine: one resident codeword per LDE height (tallest first),
    /// its terms in round, matrix, point order with `alpha` offsets counted per height, as
    /// `slotproof_prover::opening::reduce_openings` orders them.
    fn engine_reduce_openings(
        &self,
        rounds: &[OpeningRound<'_, ResidentRound<F, E>, Challenge<F>>],
        opened: &OpenedValues<Challenge<F>>,
        alpha: Challenge<F>,
    ) -> Result<Vec<E::Codeword>, BackendError> {
        let err = |e: crate::Error| failed("alpha-reduction")(e);
        let mut heights: Vec<usize> = rounds
            .iter()
            .flat_map(|r| r.committed.matrices.iter().map(|m| self.engine.dims(m).0))
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
                    .matrices
                    .iter()
                    .zip(&round.points)
                    .zip(round_opened)
                {
                    let (h, width) = self.engine.dims(lde);
                    if h != height {
                        continue;
                    }
                    for (&z, ys) in points.iter().zip(values) {
                        let (params, alpha_powers) =
                            crate::opening::reduce_params::<F, Challenge<F>>(
                                p3_util::log2_strict_usize(height),
                                width,
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
                        num_reduced += width;
                    }
                }
            }
            reduced.push(self.engine.reduce_height(height, &terms).map_err(err)?);
        }
        Ok(reduced)
    }

    /// The committed matrix `idx` of a round, or a typed error.
    fn matrix(data: &ResidentRound<F, E>, idx: usize) -> Result<&E::Matrix, BackendError> {
        data.matrices.get(idx).ok_or_else(|| BackendError {
            phase: "quotient",
            message: format!(
                "matrix {idx} of a round of {} matrices",
                data.matrices.len()
            ),
        })
    }

    /// FRI on the engine ([`fri::prove_fri`]) with the query proof-of-work lent to it.
    fn fri(
        &self,
        reduced: Vec<E::Codeword>,
        rounds: &[OpeningRound<'_, ResidentRound<F, E>, Challenge<F>>],
        challenger: &mut slotproof_prover::field::Challenger<F>,
        batch_pow_witness: F,
    ) -> Result<fri::PcsFriProof<F>, BackendError> {
        let searcher = Arc::new(EngineSearcher {
            engine: self.engine.clone(),
            error: std::sync::Mutex::new(None),
        });
        let previous = challenger.set_pow_searcher(Some(searcher.clone()));
        let proof = fri::prove_fri(
            &*self.engine,
            &self.fri,
            self.cap_height,
            reduced,
            rounds,
            challenger,
            batch_pow_witness,
        );
        challenger.set_pow_searcher(previous);
        let proof = proof.map_err(failed("FRI"))?;
        if let Some(e) = searcher
            .error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(failed("FRI proof of work")(e));
        }
        Ok(proof)
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
    E: ProverEngine<F>,
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

/// The `Backend` implementation for one concrete field (as the CPU backend's, so that
/// Plonky3's PCS bounds are checked on concrete types).
macro_rules! prover_backend_for {
    ($field:ty) => {
        impl<E: ProverEngine<$field> + 'static> Backend<ProverConfig<$field>>
            for CudaProverBackend<$field, E>
        {
            type Trace<'a> = Arc<E::Matrix>;
            type Committed = ResidentRound<$field, E>;
            type Quotient = E::Matrix;
            type Reduced = Vec<E::Codeword>;

            fn load_trace<'a>(
                &self,
                trace: &'a RowMajorMatrix<$field>,
            ) -> Result<Self::Trace<'a>, BackendError> {
                Ok(Arc::new(
                    self.engine.upload(trace).map_err(failed("trace upload"))?,
                ))
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
                self.commit_traces(traces, "commit")
            }

            fn logup_trace(
                &self,
                main: &Self::Trace<'_>,
                preprocessed: Option<&RowMajorMatrix<$field>>,
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
                match preprocessed {
                    Some(prep) => self.host_logup(main, prep, public_values, lookups, challenges),
                    None => self.engine_logup(main, public_values, lookups, challenges),
                }
            }

            fn quotient(
                &self,
                job: slotproof_prover::QuotientJob<'_, ProverConfig<$field>, Self::Committed>,
            ) -> Result<Self::Quotient, BackendError> {
                self.quotient_job(&job)
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
