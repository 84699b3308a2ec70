//! slotproof's shard prover: Plonky3 batch-STARK proofs made by our own pipeline over a
//! [`Backend`] trait, byte-identical to `p3_batch_stark::prove_batch` and verified by the stock
//! `p3_batch_stark::verify_batch`.
//!
//! - [`field`]: KoalaBear / BabyBear configurations ([`ProverField`], [`ProverConfig`]).
//! - [`security`]: FRI settings and their conjectured security.
//! - [`backend`]: the [`Backend`] trait; [`cpu`]: the CPU implementation.
//! - [`program`] / [`interpreter`] / [`quotient`]: constraints compiled to an instruction list
//!   and evaluated over rows.
//! - [`opening`]: opening evaluations and α-reduction; [`challenger`]: canonical PoW witnesses.
//! - [`device_memory`]: a shard's peak device memory per phase, planned from table shapes.
//! - [`prover`]: the pipeline ([`ShardProver`]); [`verifier`]: verification and proof bytes;
//!   [`timings`]: per-phase wall time.

pub mod backend;
pub mod challenger;
pub mod cpu;
pub mod device_memory;
pub mod error;
pub mod field;
pub mod interpreter;
pub mod logup_trace;
pub mod opening;
pub mod program;
pub mod prover;
pub mod quotient;
pub mod security;
#[cfg(any(test, feature = "test-airs"))]
pub mod test_airs;
pub mod timings;
pub mod verifier;

#[cfg(test)]
pub(crate) mod tests;

pub use backend::{Backend, BackendError, OpeningRound, QuotientJob};
pub use cpu::CpuBackend;
pub use error::{ProveError, VerifyError};
pub use field::{ProverConfig, ProverField, stark_config};
pub use p3_baby_bear::BabyBear;
pub use p3_batch_stark::BatchProof;
pub use p3_koala_bear::KoalaBear;
pub use prover::{CpuShardProver, InstanceProgram, ProverOptions, ShardPrograms, ShardProver};
pub use security::{FriSettings, SecurityLevel};
pub use timings::PhaseTimings;
pub use verifier::{proof_from_bytes, proof_to_bytes};
