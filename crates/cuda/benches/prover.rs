//! GPU against CPU in one run, on the same machine and inputs:
//!
//! 1. **One commitment round** (coset LDE, blowup 2, bit-reversed rows, + Poseidon2 Merkle tree)
//!    of a `2^log_n x width` trace:
//!    * `cpu`: Plonky3's `TwoAdicFriPcs::commit` with the prover's configuration (rayon, all
//!      cores) — what the CPU backend's `commit` runs;
//!    * `gpu commit`: the GPU backend's `commit` step (`ProverEngine` upload with the host
//!      transpose, LDE, tree, cap download; the LDE and tree stay resident);
//!    * `gpu device`: LDE + tree of an already resident trace (device time + one synchronize);
//!    * `d2d copy`: a device-to-device copy of the LDE's bytes, the memory-bandwidth floor.
//!
//!    The GPU commitment is checked equal to the CPU one before timing.
//! 2. **Whole shard proofs** (`Shard::two_tables(log_rows, width)`: main table + range table,
//!    LogUp): the GPU prover backend against the CPU backend, bytes checked equal once; the
//!    GPU proof's phase times are printed, and the device time of one proof split by kernel
//!    (and host/device copies), from CUDA events on a profiling backend.
//!
//! Medians of `SLOTPROOF_BENCH_ITERS` (default 5) timed iterations after one warm-up; ratios
//! are CPU time / GPU time (above 1: the GPU is faster). Skips without a GPU.
//!
//! Environment: `SLOTPROOF_BENCH_LOG_NS` (default "18,20,22"), `SLOTPROOF_BENCH_WIDTHS`
//! (default "64,256"), `SLOTPROOF_BENCH_FIELDS` ("kb", "bb", "kb,bb"; default "kb"),
//! `SLOTPROOF_BENCH_SHARD_LOG_ROWS` (default "16,18"), `SLOTPROOF_BENCH_SHARD_WIDTH` (default
//! 64), `SLOTPROOF_BENCH_ITERS`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{iters, list, ms};

use p3_baby_bear::BabyBear;
use p3_commit::Pcs;
use p3_field::coset::TwoAdicMultiplicativeCoset;
use p3_koala_bear::KoalaBear;
use p3_matrix::dense::RowMajorMatrix;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use slotproof_cuda::prover_backend::{ProverEngine, fri::tree_cap};
use slotproof_cuda::{CudaBackend, CudaProverBackend, DeviceMatrix};
use slotproof_prover::field::{Challenge, Challenger};
use slotproof_prover::test_airs::Shard;
use slotproof_prover::{
    CpuShardProver, FriSettings, ProverConfig, ProverField, ShardProver, proof_to_bytes,
    stark_config,
};

/// One warm-up call, then the median of `iters()` timed calls; `setup` runs untimed before
/// each call and its output is passed in.
fn median<S, T>(mut setup: impl FnMut() -> S, mut run: impl FnMut(S) -> T) -> Duration {
    drop(run(setup()));
    let mut samples: Vec<Duration> = (0..iters())
        .map(|_| {
            let input = setup();
            let t = Instant::now();
            let out = run(input);
            let d = t.elapsed();
            drop(out);
            d
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn ratio(cpu: Duration, gpu: Duration) -> f64 {
    cpu.as_secs_f64() / gpu.as_secs_f64().max(1e-9)
}

/// The per-field part: the `Pcs` and `Backend` bounds are checked on concrete types.
macro_rules! bench_field {
    ($name:ident, $field:ty) => {
        fn $name(gpu: &Arc<CudaBackend>) {
            type F = $field;
            let tag = <F as ProverField>::NAME;
            let settings = FriSettings::DEFAULT;
            let config = stark_config::<F>(&settings);
            let pcs = p3_batch_stark::StarkGenericConfig::pcs(&config);
            let mut rng = SmallRng::seed_from_u64(0x5107_9e37);

            println!("\n== {tag}: one commitment round (LDE blowup 2 + Merkle), medians of {} ==", iters());
            println!(
                "{:<12} {:>10} {:>14} {:>12} {:>10} {:>11} {:>13} {:>11}",
                "shape", "cpu ms", "gpu cmt ms", "gpu dev ms", "d2d ms", "d2d GB/s", "cpu/gpu cmt", "cpu/gpu dev"
            );
            for log_n in list("SLOTPROOF_BENCH_LOG_NS", "18,20,22") {
                for width in list("SLOTPROOF_BENCH_WIDTHS", "64,256") {
                    let words = width << log_n;
                    // Input + LDE (x2) + digest layers on the device, input + LDE + transposes
                    // on the host.
                    let need = 4 * (words + 2 * words + 16 * (2usize << log_n)) + 4 * words;
                    let (free, _) = gpu.mem_info().expect("mem_info");
                    if need as f64 > 0.8 * free as f64 {
                        println!("SKIP {tag} 2^{log_n} x {width}: needs {} MiB, {} MiB free", need >> 20, free >> 20);
                        continue;
                    }
                    let shape = format!("2^{log_n}x{width}");
                    let trace = RowMajorMatrix::<F>::rand(&mut rng, 1 << log_n, width);
                    let domain = TwoAdicMultiplicativeCoset::new(<F as p3_field::PrimeCharacteristicRing>::ONE, log_n).unwrap();
                    // The backend's commit step for one trace on the trace domain H.
                    let commit = || {
                        let up = ProverEngine::<F>::upload(&**gpu, &trace).unwrap();
                        let lde = gpu.coset_lde(up, settings.log_blowup, <F as p3_field::Field>::GENERATOR).unwrap();
                        let tree = ProverEngine::<F>::merkle_tree(&**gpu, &[&lde]).unwrap();
                        let cap = tree_cap::<F, _>(&**gpu, &tree, settings.merkle_cap_height).unwrap();
                        (cap, lde, tree)
                    };

                    // Same commitment on both sides before timing anything.
                    let (cpu_commit, _) = <_ as Pcs<Challenge<F>, Challenger<F>>>::commit(pcs, [(domain, trace.clone())]).unwrap();
                    assert_eq!(commit().0, cpu_commit, "{tag} {shape}: GPU and CPU commitments differ");

                    let cpu = median(|| trace.clone(), |t| {
                        <_ as Pcs<Challenge<F>, Challenger<F>>>::commit(pcs, [(domain, t)]).unwrap()
                    });
                    let round_trip = median(|| (), |()| commit());
                    let resident: DeviceMatrix<F> = gpu.upload_row_major(&trace).unwrap();
                    let device = median(|| (), |()| {
                        let lde = gpu.coset_lde_bitrev(&resident, settings.log_blowup as u32, <F as p3_field::Field>::GENERATOR).unwrap();
                        let tree = gpu.merkle_commit(&[&lde], settings.merkle_cap_height).unwrap();
                        gpu.synchronize().unwrap();
                        (lde, tree)
                    });
                    let lde = gpu.coset_lde_bitrev(&resident, settings.log_blowup as u32, <F as p3_field::Field>::GENERATOR).unwrap();
                    let copy = median(|| (), |()| {
                        let c = gpu.copy(lde.buffer()).unwrap();
                        gpu.synchronize().unwrap();
                        c
                    });
                    let bytes = 2.0 * 4.0 * lde.buffer().len() as f64; // read + write
                    println!(
                        "{:<12} {:>10.2} {:>14.2} {:>12.2} {:>10.3} {:>11.1} {:>13.2} {:>11.2}",
                        shape, ms(cpu), ms(round_trip), ms(device), ms(copy),
                        bytes / copy.as_secs_f64().max(1e-12) / 1e9,
                        ratio(cpu, round_trip), ratio(cpu, device)
                    );
                }
            }

            println!("\n== {tag}: whole shard proofs (main + range table), medians of {} ==", iters());
            let width = list("SLOTPROOF_BENCH_SHARD_WIDTH", "64").first().copied().unwrap_or(64);
            for log_rows in list("SLOTPROOF_BENCH_SHARD_LOG_ROWS", "16,18") {
                let shard = Shard::<F>::two_tables(log_rows, width, 42);
                let cpu_prover: CpuShardProver<F> = ShardProver::cpu(settings);
                let engine = gpu.clone();
                let gpu_prover: ShardProver<ProverConfig<F>, CudaProverBackend<F>> =
                    ShardProver::with_backend(settings, |_, s| CudaProverBackend::with_engine(engine, s));
                let a = cpu_prover.prove(&shard.airs, &shard.traces, &shard.public_values).expect("CPU proof");
                let (b, phases) = gpu_prover.prove_timed(&shard.airs, &shard.traces, &shard.public_values).expect("GPU proof");
                let bytes = proof_to_bytes(&a).unwrap();
                assert_eq!(bytes, proof_to_bytes(&b).unwrap(), "{tag} 2^{log_rows}: GPU proof differs from CPU proof");
                let cpu = median(|| (), |()| cpu_prover.prove(&shard.airs, &shard.traces, &shard.public_values).unwrap());
                let gpu_t = median(|| (), |()| gpu_prover.prove(&shard.airs, &shard.traces, &shard.public_values).unwrap());
                println!(
                    "shard 2^{log_rows} x {width} + range: cpu {:.1} ms, gpu backend {:.1} ms, cpu/gpu {:.2} (identical proofs, {} bytes)",
                    ms(cpu), ms(gpu_t), ratio(cpu, gpu_t), bytes.len()
                );
                println!("  GPU backend phases (one proof):\n{phases}");
                // The same proof on a profiling backend: device time per kernel (CUDA events).
                if let Ok(profiled) = CudaBackend::with_options(0, slotproof_cuda::BackendOptions { profile_kernels: true, ..Default::default() }) {
                    let profiled = Arc::new(profiled);
                    let engine = profiled.clone();
                    let prover: ShardProver<ProverConfig<F>, CudaProverBackend<F>> =
                        ShardProver::with_backend(settings, |_, s| CudaProverBackend::with_engine(engine, s));
                    let p = prover.prove(&shard.airs, &shard.traces, &shard.public_values).expect("profiled GPU proof");
                    assert_eq!(bytes, proof_to_bytes(&p).unwrap(), "{tag} 2^{log_rows}: profiled GPU proof differs");
                    let times = profiled.take_kernel_times().expect("kernel times");
                    println!("  device time by kernel (one proof, CUDA events):\n{}", slotproof_cuda::format_kernel_times(&times));
                }
            }
        }
    };
}

bench_field!(bench_koala_bear, KoalaBear);
bench_field!(bench_baby_bear, BabyBear);

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted or needed.
    let gpu = match CudaBackend::new() {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("SKIP slotproof-cuda prover bench: no usable CUDA device/kernels: {e}");
            return;
        }
    };
    // Times under the stand-in driver (the kernels on the CPU) are never GPU figures.
    if gpu.driver_info().is_standin() {
        eprintln!(
            "SKIP slotproof-cuda prover bench: the CUDA driver is the CPU stand-in, not a GPU"
        );
        return;
    }
    println!(
        "GPU: {}; CPU threads: {}",
        gpu.device_description().unwrap_or_default(),
        rayon::current_num_threads()
    );
    let fields = std::env::var("SLOTPROOF_BENCH_FIELDS").unwrap_or_else(|_| "kb".into());
    for f in fields.split(',').map(str::trim) {
        match f {
            "kb" => bench_koala_bear(&gpu),
            "bb" => bench_baby_bear(&gpu),
            other => eprintln!("unknown field {other:?} in SLOTPROOF_BENCH_FIELDS"),
        }
    }
}
