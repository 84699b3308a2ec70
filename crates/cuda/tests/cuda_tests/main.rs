//! The CUDA crate's integration tests, one module per suite, in one test binary: each binary
//! links and monomorphizes the prover and its CUDA backend again, so one binary instead of nine is
//! minutes less of CI's build (issue 17). Every suite runs on a real GPU where there is one, else on
//! the stand-in driver (`common::driver`). Run one suite with
//! `cargo test -p slotproof-cuda --test cuda_tests <module>::`.

mod common;
mod kernel_inputs;

mod gpu;
mod gpu_logup;
mod gpu_prover;
mod gpu_prover_kernels;
mod gpu_staging;
mod logup_model;
mod prover_backend;
mod prover_kernels_model;
mod reference_model;
