//! # slotproof
//!
//! Prove and verify the execution of an Ethereum block: the executor runs the block over its
//! witness and checks it against the header, the EVM chips turn each subblock's trace into shards,
//! each shard is proven (in parallel) and the shard proofs form a [`BlockProof`].
//!
//! ```no_run
//! use slotproof::{BlockProver, verify_block_proof};
//! use slotproof::executor::BlockInput;
//!
//! let input = BlockInput::from_path("fixtures/transfers.json")?;
//! let proved = BlockProver::builder().max_shard_rows(1 << 14).build().prove(&input)?;
//! let bytes = proved.proof.to_bytes()?;
//! let block = verify_block_proof(&bytes)?; // the block public values the proof is for
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Shards are proven on the CPU by default; with the `cuda` feature, `.cuda(device)` or
//! `.cuda_devices(&[..])` proves them with the CUDA backend (the same proof bytes), several
//! shards in flight per device (`.cuda_streams(n)`). A backend that cannot run is a
//! [`ProveError::Backend`], not a panic. Every shard's device memory is planned before proving
//! ([`ShardReport`] in [`ProvedBlock::shards`]); shards above the device memory budget are cut
//! until they fit, or proving fails with [`ProveError::OutOfDeviceMemory`].
//!
//! [`aggregate::aggregate_block`] aggregates a block proof's shard proofs into one root recursion
//! proof whose circuits check that the shards chain (`slotproof aggregate`);
//! [`aggregated::AggregatedProof`] is block proof v3 (the claims, the shard shapes, the root
//! proof), which [`verify_block_proof`] checks as well as v2, under the recursion programs'
//! fixed keys ([`tree_keys`]).
//!
//! What a valid proof means is the coverage table it carries (`slotproof coverage`): today most of
//! the EVM is still **trusted**; block-level structure (subblocks cover the block, shards chain,
//! state continuity between subblocks) is checked by the verifier on prover-supplied values,
//! which the AIR does not yet tie to the execution; see the README.

pub mod aggregate;
pub mod aggregated;
mod backend;
mod compact_claims;
pub mod context;
pub mod leaf;
mod memory;
mod pipeline;
mod proof;
mod prove;
pub mod remote_tree;
pub mod shard_jobs;
mod tree_jobs;
pub mod tree_keys;
mod verify;

pub use backend::{
    BackendUnavailable, DEFAULT_CUDA_STREAMS, DEVICE_HEADROOM_BYTES, KernelTime, ProverBackend,
    STANDIN_LABEL, describe_backend,
};
pub use memory::{ShardReport, TableArea};
pub use proof::{
    AccountEntry, AccountState, BLOCK_PROOF_VERSION, BlockProof, BlockPublicValues, BoundaryValues,
    ContextClaim, ShardProof, SlotEntry, SubblockPublicValues,
};
pub use prove::{
    AUTO_STREAM_ABOVE_SHARDS, BlockProver, BlockProverBuilder, CPU_SHARDS_IN_FLIGHT, CancelToken,
    DEFAULT_MAX_SHARD_ROWS, Field, Progress, ProveError, ProveTimings, ProvedBlock, ShardsInFlight,
    StreamExecutor,
};
pub use slotproof_prover::device_memory::Phase as DevicePhase;
pub use verify::{
    VerifyError, check_public_values, verify_block_proof, verify_block_proof_version,
};

pub use slotproof_air as air;
/// The CUDA backend crate (device probe, `CudaBackend`), with the `cuda` feature.
#[cfg(feature = "cuda")]
pub use slotproof_cuda as cuda;
pub use slotproof_executor as executor;
pub use slotproof_prover as prover;
pub use slotproof_recursion as recursion;
