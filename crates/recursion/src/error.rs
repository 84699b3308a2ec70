//! Why the mirror rejected a proof: each variant names the verifier step that failed.

use thiserror::Error;

/// A transcript step guarded by a proof of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowStep {
    /// Before the lookup challenges.
    Lookup,
    /// Before the out-of-domain point.
    OutOfDomain,
    /// Before the batching challenge of the opening argument.
    Batch,
    /// Before the folding challenge of FRI round `0`.
    Commit(usize),
    /// Before the query indices.
    Query,
}

/// Which commitment a Merkle opening was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenedCommitment {
    /// Input round `0` of the opening argument (main, quotient, preprocessed, LogUp).
    Input(usize),
    /// FRI commit-phase round `0`.
    Fri(usize),
}

/// A rejection by the native mirror of `verify_batch`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MirrorError {
    #[error("proof shape: {0}")]
    Shape(String),
    #[error("{0:?} proof of work: the witness is not the canonical zero of a zero-bit grind")]
    NonCanonicalPow(PowStep),
    #[error("{0:?} proof of work: the witness does not give enough zero bits")]
    Pow(PowStep),
    #[error("Merkle opening against {0:?} rejected")]
    MerkleOpening(OpenedCommitment),
    #[error("an opening point equals a query point")]
    OpeningPointIsQueryPoint,
    #[error("FRI query {query}: the reduced opening at the blowup height is not zero")]
    ReducedOpeningAtBlowup { query: usize },
    #[error("FRI query {query}: the folded value differs from the final polynomial")]
    FinalPolynomial { query: usize },
    #[error("instance {instance}: the out-of-domain point lies in the trace domain")]
    OutOfDomainPointInDomain { instance: usize },
    #[error("instance {instance}: constraints at zeta do not equal the quotient")]
    OutOfDomainEvaluation { instance: usize },
    #[error("the lookup terminals do not sum to zero")]
    LookupTerminalSum,
}
