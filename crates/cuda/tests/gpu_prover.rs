//! GPU tests of the prover backend: whole shard proofs with coset LDE + Merkle commitment on
//! the device must be the CPU backend's bytes and verify with the stock verifier (the prover's
//! conformance harness), both fields; and the device round (LDEs + every digest layer) must
//! equal the kernels' reference model. Every device buffer is poisoned and every launch
//! synchronized and checked. Without a usable GPU (or kernels) each test prints `SKIP ...` and
//! passes.

mod common;

use std::sync::Arc;

use common::rng;
use p3_baby_bear::BabyBear;
use p3_koala_bear::KoalaBear;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_cuda::prover_backend::{CommitEngine, LdeJob, ReferenceEngine};
use slotproof_cuda::{BackendOptions, CudaBackend, CudaProverBackend, DeviceField};
use slotproof_prover::FriSettings;
use slotproof_prover::test_airs::conformance;

fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {why}");
}

fn device(test: &str) -> Option<Arc<CudaBackend>> {
    match CudaBackend::with_options(
        0,
        BackendOptions {
            poison: Some(0xFFFF_FFFF),
            sync_each_launch: true,
        },
    ) {
        Ok(b) => {
            eprintln!(
                "[{test}] running on {}",
                b.device_description().unwrap_or_default()
            );
            Some(Arc::new(b))
        }
        Err(e) => {
            skip(test, &format!("no usable CUDA device/kernels: {e}"));
            None
        }
    }
}

#[test]
fn gpu_prover_backend_conformance_koala_bear() {
    let Some(gpu) = device("gpu_prover_backend_conformance_koala_bear") else {
        return;
    };
    conformance::conformance_koala_bear(|_, s| {
        CudaProverBackend::<KoalaBear>::with_engine(gpu.clone(), s)
    })
    .expect("GPU backend proofs must equal the CPU backend's bytes");
}

#[test]
fn gpu_prover_backend_conformance_baby_bear() {
    let Some(gpu) = device("gpu_prover_backend_conformance_baby_bear") else {
        return;
    };
    conformance::conformance_baby_bear(|_, s| {
        CudaProverBackend::<BabyBear>::with_engine(gpu.clone(), s)
    })
    .expect("GPU backend proofs must equal the CPU backend's bytes");
}

/// Rounds shaped like the prover's (several heights, a shifted coset like a quotient chunk,
/// widths across sponge blocks), blowups 2 and 4: the device output equals the reference
/// model's, LDEs and every digest layer.
fn engine_matches_reference<F: DeviceField>(test: &str, gpu: &CudaBackend)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut r = rng(test);
    let shapes: [&[(usize, usize, bool)]; 3] = [
        &[(1 << 10, 16, false), (256, 2, false)],
        &[(512, 6, false), (32, 2, false), (256, 2, false)],
        &[(1 << 12, 9, true), (1 << 12, 9, true), (16, 1, true)],
    ];
    for log_blowup in [1, 2] {
        for shape in shapes {
            let mats: Vec<(RowMajorMatrix<F>, F)> = shape
                .iter()
                .map(|&(h, w, shifted)| {
                    let shift = if shifted {
                        F::GENERATOR / F::GENERATOR.square()
                    } else {
                        F::GENERATOR
                    };
                    (RowMajorMatrix::rand(&mut r, h, w), shift)
                })
                .collect();
            let jobs: Vec<LdeJob<'_, F>> = mats
                .iter()
                .map(|(m, shift)| LdeJob {
                    evals: m,
                    shift: *shift,
                })
                .collect();
            let device = gpu.lde_and_commit(&jobs, log_blowup).unwrap();
            let model = ReferenceEngine.lde_and_commit(&jobs, log_blowup).unwrap();
            assert_eq!(device.ldes, model.ldes, "{test}: LDEs, {shape:?}");
            assert_eq!(
                device.digest_layers, model.digest_layers,
                "{test}: digest layers, {shape:?}"
            );
        }
    }
}

#[test]
fn gpu_engine_matches_reference_model() {
    let Some(gpu) = device("gpu_engine_matches_reference_model") else {
        return;
    };
    engine_matches_reference::<KoalaBear>("gpu_engine_matches_reference_model/kb", &gpu);
    engine_matches_reference::<BabyBear>("gpu_engine_matches_reference_model/bb", &gpu);
}

/// The backend's own constructor on a GPU machine (default options, no poisoning).
#[test]
fn gpu_prover_backend_new_and_prove() {
    if device("gpu_prover_backend_new_and_prove").is_none() {
        return;
    }
    let backend = CudaProverBackend::<KoalaBear>::new(&FriSettings::DEFAULT)
        .expect("the device came up above");
    let engine = backend.engine().clone();
    conformance::conformance_koala_bear(|_, s| {
        CudaProverBackend::<KoalaBear>::with_engine(engine.clone(), s)
    })
    .expect("default-options GPU backend conformance");
}
