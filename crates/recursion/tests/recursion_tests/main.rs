//! The recursion crate's integration tests, one module per concern, in one test binary: each
//! binary links and monomorphizes the whole prover stack again, so one binary instead of thirteen
//! is minutes less of CI's build (issue 17). Run one module with
//! `cargo test -p slotproof-recursion --test recursion_tests <module>::`.

mod common;

mod build;
mod circuit_mutations;
mod evm_shard;
mod full_build;
mod full_build_evm;
mod leaf;
mod mirror;
mod program;
mod shape_only;
mod sponge;
mod tables;
mod tree;
mod tree_circuit;
