//! Typed errors of proving and verifying. Bad input is reported here, never by a panic.

use thiserror::Error;

/// Why a shard could not be proven.
#[derive(Debug, Error)]
pub enum ProveError {
    #[error("no AIR instances given")]
    NoInstances,
    #[error("{airs} AIRs, {traces} traces and {public_values} public-value vectors: counts differ")]
    CountMismatch {
        airs: usize,
        traces: usize,
        public_values: usize,
    },
    #[error("instance {instance}: trace has {actual} columns, the AIR expects {expected}")]
    TraceWidth {
        instance: usize,
        expected: usize,
        actual: usize,
    },
    #[error("instance {instance}: trace height {height} is not a power of two")]
    TraceHeightNotPowerOfTwo { instance: usize, height: usize },
    #[error("instance {instance}: trace height 2^{log_height} is outside 2^{min}..=2^{max}")]
    TraceHeightOutOfRange {
        instance: usize,
        log_height: usize,
        min: usize,
        max: usize,
    },
    #[error("instance {instance}: {actual} public values given, the AIR expects {expected}")]
    PublicValueCount {
        instance: usize,
        expected: usize,
        actual: usize,
    },
    #[error("instance {instance}: preprocessed trace: {reason}")]
    PreprocessedTrace { instance: usize, reason: String },
    #[error(
        "instance {instance}: the key was made for 2^{key_log_height} rows, the trace has 2^{log_height}"
    )]
    KeyMismatch {
        instance: usize,
        key_log_height: usize,
        log_height: usize,
    },
    #[error("unsupported AIR or configuration: {0}")]
    Unsupported(String),
    #[error("instance {instance}: constraint {constraint} is not satisfied on row {row}")]
    ConstraintViolation {
        instance: usize,
        row: usize,
        constraint: usize,
    },
    #[error("lookup buses do not balance: {0}")]
    LookupImbalance(String),
    #[error("lookup multiplicities could wrap around the field: {0}")]
    MultiplicityBound(String),
    #[error("setup (key generation) failed: {0}")]
    Setup(String),
    #[error("backend failed during {phase}: {message}")]
    Backend {
        phase: &'static str,
        message: String,
    },
}

/// Why a proof was not accepted.
#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("proof bytes do not decode: {0}")]
    Decode(#[from] postcard::Error),
    #[error("proof bytes have {0} trailing bytes after the proof")]
    TrailingBytes(usize),
    #[error("proof is malformed: {0}")]
    Malformed(String),
    #[error("proof rejected: {0}")]
    Rejected(String),
}
