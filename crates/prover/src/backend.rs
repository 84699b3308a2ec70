//! The seam between the proving pipeline (orchestration, transcript) and the heavy work.
//!
//! Every method is a pass over large data: coset LDEs, Merkle trees, the LogUp trace, constraint
//! evaluation over the quotient domain, openings and FRI. Buffers are associated types owned by
//! the backend, so a device backend can keep traces, LDEs and trees resident from upload to the
//! last FRI query; only commitments, opened values and the opening proof come back to the
//! pipeline, which stays in charge of the Fiat–Shamir transcript and of the order of phases
//! (including the opening argument's: claimed evaluations, batching challenge, FRI bracket).

use p3_batch_stark::{Commitment, Domain, PcsProof, StarkGenericConfig, Val};
use p3_commit::OpenedValues;
use p3_lookup::{Lookup, LookupTerminal};
use p3_matrix::dense::RowMajorMatrix;

use crate::interpreter::ProgramEnv;
use crate::program::ConstraintProgram;

/// A backend failure, tagged with the pipeline phase that hit it.
#[derive(Debug)]
pub struct BackendError {
    pub phase: &'static str,
    pub message: String,
}

/// Everything needed to evaluate one instance's quotient on its quotient domain.
pub struct QuotientJob<'a, SC: StarkGenericConfig, Committed> {
    /// The instance's constraints (AIR + LogUp), compiled.
    pub program: &'a ConstraintProgram<Val<SC>, SC::Challenge>,
    /// Public values and challenges the program reads.
    pub env: ProgramEnv<'a, Val<SC>, SC::Challenge>,
    /// The constraint-folding challenge.
    pub alpha: SC::Challenge,
    pub trace_domain: Domain<SC>,
    pub quotient_domain: Domain<SC>,
    /// The main-trace commitment round and this instance's matrix index in it.
    pub main: (&'a Committed, usize),
    /// The preprocessed commitment round (made once, at key generation) and this instance's
    /// matrix index in it, when the AIR has preprocessed columns. The program reads the row
    /// `[main | preprocessed]`.
    pub preprocessed: Option<(&'a Committed, usize)>,
    /// The LogUp commitment round and matrix index, when the instance has lookups.
    pub permutation: Option<(&'a Committed, usize)>,
}

/// The heavy steps of a shard proof, on buffers the backend owns.
///
/// Implementations must be bit-exact with Plonky3's `TwoAdicFriPcs` / `MerkleTreeMmcs` /
/// `LogUpGadget`: the pipeline's proofs are checked byte-for-byte against `prove_batch`.
pub trait Backend<SC: StarkGenericConfig>: Sync {
    /// A base-field matrix resident in the backend (a trace or a flattened LogUp trace).
    /// Cloning must be cheap (a borrow or a handle): the pipeline clones a trace to commit it
    /// and keeps the original to derive the LogUp trace from.
    type Trace<'a>: Clone + Send + Sync;
    /// One commitment round: the LDEs and the Merkle tree over them.
    type Committed: Send + Sync;
    /// One instance's quotient values on its quotient domain.
    type Quotient: Send;
    /// The α-reduced codewords the low-degree test runs on.
    type Reduced: Send;

    /// Make a host trace available to the backend (upload, or borrow on the CPU).
    fn load_trace<'a>(
        &self,
        trace: &'a RowMajorMatrix<Val<SC>>,
    ) -> Result<Self::Trace<'a>, BackendError>;

    /// Coset LDE (bit-reversed) of every matrix, then one Merkle commitment over all of them.
    fn commit(
        &self,
        traces: Vec<(Domain<SC>, Self::Trace<'_>)>,
    ) -> Result<(Commitment<SC>, Self::Committed), BackendError>;

    /// The LogUp trace of one instance (flattened to base-field columns) and its terminal.
    /// `preprocessed` is the instance's preprocessed trace (host copy), which lookups may read.
    #[allow(clippy::type_complexity)]
    fn logup_trace(
        &self,
        main: &Self::Trace<'_>,
        preprocessed: Option<&RowMajorMatrix<Val<SC>>>,
        public_values: &[Val<SC>],
        lookups: &[Lookup<Val<SC>>],
        challenges: &[SC::Challenge],
    ) -> Result<(Self::Trace<'static>, Option<LookupTerminal<SC::Challenge>>), BackendError>;

    /// Evaluate the folded constraints divided by the vanishing polynomial on the quotient
    /// domain, reading the committed LDEs.
    fn quotient(
        &self,
        job: QuotientJob<'_, SC, Self::Committed>,
    ) -> Result<Self::Quotient, BackendError>;

    /// Split each quotient into `num_chunks` chunks, LDE them, and commit all chunks of all
    /// instances (in instance order) in one Merkle tree.
    fn commit_quotients(
        &self,
        quotients: Vec<(Domain<SC>, usize, Self::Quotient)>,
    ) -> Result<(Commitment<SC>, Self::Committed), BackendError>;

    /// Evaluate every matrix of every round (as the polynomial its LDE encodes) at that
    /// matrix's points: `[round][matrix][point][column]`.
    fn evaluate_openings(
        &self,
        rounds: &[OpeningRound<'_, Self::Committed, SC::Challenge>],
    ) -> Result<OpenedValues<SC::Challenge>, BackendError>;

    /// Batch all claims with the challenge `alpha` into one codeword per LDE height:
    /// `Σ_k alpha^k (y_k - f_k(x)) / (z_k - x)`, in the order of `TwoAdicFriPcs`.
    fn reduce_openings(
        &self,
        rounds: &[OpeningRound<'_, Self::Committed, SC::Challenge>],
        opened: &OpenedValues<SC::Challenge>,
        alpha: SC::Challenge,
    ) -> Result<Self::Reduced, BackendError>;

    /// FRI on the reduced codewords: per round fold and commit, final polynomial, query
    /// grinding, and the answers to the queries from the FRI trees and the round trees.
    /// Draws its challenges from `challenger`.
    fn prove_fri(
        &self,
        reduced: Self::Reduced,
        rounds: &[OpeningRound<'_, Self::Committed, SC::Challenge>],
        challenger: &mut SC::Challenger,
        batch_pow_witness: Val<SC>,
    ) -> Result<PcsProof<SC>, BackendError>;
}

/// The matrices of one commitment round to open, and the points for each matrix.
pub struct OpeningRound<'a, Committed, EF> {
    pub committed: &'a Committed,
    pub points: Vec<Vec<EF>>,
}
