//! GPU tests of the prover backend: whole shard proofs on the device must be the CPU backend's bytes and verify with the stock verifier (the prover's
//! conformance harness), both fields; and the device round (LDEs + every digest layer) must
//! equal the kernels' reference model. Every device buffer is poisoned and every launch
//! synchronized and checked. Without a usable GPU (or kernels) each test prints `SKIP ...` and
//! passes.

use crate::common;

use std::sync::Arc;

use common::rng;
use p3_baby_bear::BabyBear;
use p3_koala_bear::KoalaBear;
use p3_matrix::dense::RowMajorMatrix;
use rand::RngExt;
use slotproof_cuda::prover_backend::{ProverEngine, ReferenceEngine};
use slotproof_cuda::{BackendOptions, CudaBackend, CudaProverBackend, DeviceField};
use slotproof_prover::FriSettings;
use slotproof_prover::test_airs::conformance;

/// The checked device (see `common::checked_backend`), shared by the provers of a test.
fn device(test: &str) -> Option<Arc<CudaBackend>> {
    common::checked_backend(test).map(Arc::new)
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
/// widths across sponge blocks), blowups 2 and 4: the resident device round equals the
/// reference model's — every LDE, every digest layer — and so do the query-answer gathers
/// (rows at random indices, digests at random positions of every layer), and the bit-reversed
/// row prefixes the quotient's re-extension reads.
fn engine_matches_reference<F: DeviceField>(test: &str, gpu: &CudaBackend)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut r = rng(test);
    let model = ReferenceEngine;
    let shapes: [&[(usize, usize, bool)]; 3] = [
        &[(1 << 10, 16, false), (256, 2, false)],
        &[(512, 6, false), (32, 2, false), (256, 2, false)],
        &[(1 << 12, 9, true), (1 << 12, 9, true), (16, 1, true)],
    ];
    for log_blowup in [1, 2] {
        for shape in shapes {
            let mut device_ldes = Vec::new();
            let mut model_ldes = Vec::new();
            for &(h, w, shifted) in shape {
                let shift = if shifted {
                    F::GENERATOR / F::GENERATOR.square()
                } else {
                    F::GENERATOR
                };
                let m = RowMajorMatrix::<F>::rand(&mut r, h, w);
                let d = ProverEngine::<F>::upload(gpu, &m).unwrap();
                device_ldes.push(gpu.coset_lde(d, log_blowup, shift).unwrap());
                let h = ProverEngine::<F>::upload(&model, &m).unwrap();
                model_ldes.push(model.coset_lde(h, log_blowup, shift).unwrap());
            }
            for (d, m) in device_ldes.iter().zip(&model_ldes) {
                assert_eq!(
                    ProverEngine::<F>::download(gpu, d).unwrap(),
                    ProverEngine::<F>::download(&model, m).unwrap(),
                    "{test}: LDE, {shape:?}"
                );
                let height = d.height();
                for log_n in [
                    0,
                    height.trailing_zeros() as usize - 1,
                    height.trailing_zeros() as usize,
                ] {
                    let (bd, bm) = (
                        ProverEngine::<F>::bitrev_rows(gpu, d, log_n).unwrap(),
                        ProverEngine::<F>::bitrev_rows(&model, m, log_n).unwrap(),
                    );
                    assert_eq!(
                        ProverEngine::<F>::download(gpu, &bd).unwrap(),
                        ProverEngine::<F>::download(&model, &bm).unwrap(),
                        "{test}: bit-reversed 2^{log_n} rows, {shape:?}"
                    );
                }
                let rows: Vec<usize> = (0..20).map(|_| r.random_range(0..height)).collect();
                assert_eq!(
                    ProverEngine::<F>::rows(gpu, d, &rows).unwrap(),
                    ProverEngine::<F>::rows(&model, m, &rows).unwrap(),
                    "{test}: gathered rows, {shape:?}"
                );
            }
            let device_tree =
                ProverEngine::<F>::merkle_tree(gpu, &device_ldes.iter().collect::<Vec<_>>())
                    .unwrap();
            let model_tree =
                ProverEngine::<F>::merkle_tree(&model, &model_ldes.iter().collect::<Vec<_>>())
                    .unwrap();
            let layers = ProverEngine::<F>::tree_layers(gpu, &device_tree);
            assert_eq!(layers, ProverEngine::<F>::tree_layers(&model, &model_tree));
            for layer in 0..layers {
                let n = model_tree.layers[layer].len();
                let all: Vec<usize> = (0..n).collect();
                let some: Vec<usize> = (0..9).map(|_| r.random_range(0..n)).collect();
                for positions in [all, some] {
                    assert_eq!(
                        ProverEngine::<F>::digests(gpu, &device_tree, layer, &positions).unwrap(),
                        ProverEngine::<F>::digests(&model, &model_tree, layer, &positions).unwrap(),
                        "{test}: digest layer {layer}, {shape:?}"
                    );
                }
            }
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

/// Kernel profiling: a profiling backend's proof is the same, and its per-kernel times name the
/// NTT, Merkle, quotient and FRI kernels and the copies; a backend without profiling records
/// nothing.
#[test]
fn gpu_kernel_times_cover_a_proof() {
    let Some(plain) = device("gpu_kernel_times_cover_a_proof") else {
        return;
    };
    let profiled = Arc::new(
        CudaBackend::with_options(
            0,
            BackendOptions {
                profile_kernels: true,
                ..BackendOptions::default()
            },
        )
        .expect("the device came up above"),
    );
    let engine = profiled.clone();
    conformance::conformance_koala_bear(|_, s| {
        CudaProverBackend::<KoalaBear>::with_engine(engine.clone(), s)
    })
    .expect("profiled GPU backend conformance");
    let times = profiled.take_kernel_times().unwrap();
    eprintln!("{}", slotproof_cuda::format_kernel_times(&times));
    for name in [
        "ntt_dif_pass_kb",
        "merkle_compress_kb",
        "quotient_eval_kb",
        "fri_fold_kb",
        "memcpy h2d",
        "memcpy d2h",
    ] {
        assert!(
            times
                .iter()
                .any(|t| t.name.starts_with(name) && t.launches > 0),
            "no time recorded for {name}: {times:?}"
        );
    }
    assert!(
        profiled.take_kernel_times().unwrap().is_empty(),
        "times are taken once"
    );
    assert!(plain.take_kernel_times().unwrap().is_empty());
}

/// A real EVM shard (the generated `token` block's first shard: every chip, CPU and ALU
/// re-extended onto their quotient domains, LogUp on every bus) proven on the device: the CPU
/// backend's bytes, accepted by the stock verifier.
#[test]
fn gpu_evm_shard_is_the_cpu_proof() {
    let Some(gpu) = device("gpu_evm_shard_is_the_cpu_proof") else {
        return;
    };
    type F = KoalaBear;
    // One small shard on the stand-in (the kernels run on the CPU).
    let sizes: &[usize] = common::gpu_or_standin(&[256, 1 << 12], &[64]);
    for &max_rows in sizes {
        let shard = common::first_token_shard::<F>(max_rows);
        let settings = FriSettings::DEFAULT;
        let cpu = slotproof_prover::ShardProver::cpu(settings);
        let engine = gpu.clone();
        let device = slotproof_prover::ShardProver::with_backend(settings, |_, s| {
            CudaProverBackend::<F>::with_engine(engine, s)
        });
        let a = cpu
            .prove(&shard.airs, &shard.traces, &shard.public_values)
            .expect("CPU proof");
        let b = device
            .prove(&shard.airs, &shard.traces, &shard.public_values)
            .expect("GPU proof");
        assert_eq!(
            slotproof_prover::proof_to_bytes(&a).unwrap(),
            slotproof_prover::proof_to_bytes(&b).unwrap(),
            "EVM shard of {max_rows} steps: GPU proof differs from the CPU proof"
        );
        cpu.verify(&shard.airs, &b, &shard.public_values)
            .expect("the stock verifier accepts the GPU proof");
    }
}
