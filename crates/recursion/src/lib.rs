//! Recursion for slotproof, part 1: a native verifier that mirrors Plonky3's batch-STARK
//! verifier step by step, written over an [`Ops`] trait so that a circuit builder can later
//! emit the recursion program from the same code.
//!
//! - [`recording`]: `RecordingChallenger` / `RecordingMmcs`, which log the stock verifier's
//!   transcript and Merkle checks ([`log::Event`]).
//! - [`ops`]: the operations of a verifier; [`native`]: their value implementation;
//!   [`build`]: the implementation that emits a recursion program (first cut: arithmetic).
//! - [`verifier`]: `verify_generic`, the mirror of `p3_batch_stark::verify_batch`.
//! - [`key`]: what the verifier knows in advance (shapes, constraint programs, preprocessed
//!   commitment); [`oracle`]: both verifiers on one proof, logs compared.
//! - [`sponge`]: the transcript's duplex sponge replayed as Poseidon2 calls (the rows the
//!   Poseidon2 table proves for a transcript).
//! - [`tables`]: the first recursion tables (Poseidon2, ExtAlu), proven by the project's prover.
//! - [`leaf`], [`node`]: one recursion circuit over one or several proofs of a statement.
//! - The aggregation tree: [`chain`] (the chaining checks, once over [`Ops`]), [`tree`] (leaf,
//!   internal node and root circuits, proving a tree), [`root`] (the root's FRI settings),
//!   [`schedule`] (the tree's pairing as nodes are proven, in any order).

pub mod build;
pub mod chain;
pub mod config;
pub mod error;
pub mod fold;
pub mod key;
pub mod keys;
pub mod leaf;
pub mod log;
pub mod native;
pub mod node;
pub mod ops;
pub mod oracle;
pub mod recording;
pub mod root;
pub mod schedule;
pub mod sponge;
pub mod tables;
pub mod tree;
pub mod verifier;

pub use error::{MirrorError, OpenedCommitment, PowStep};
pub use key::MirrorKey;
pub use log::Event;
pub use native::Native;
pub use ops::Ops;
pub use verifier::{KeyEntry, Verified, verify_generic, verify_generic_with};
