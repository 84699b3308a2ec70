//! The LogUp trace, GPU against CPU, on real EVM shard tables: a generated block of at least
//! `SLOTPROOF_BENCH_LOGUP_GAS` gas (default 4000000, `generate_scaled`), executed; its first
//! subblock's first shard of at most `SLOTPROOF_BENCH_LOGUP_MAX_ROWS` steps (default 262144);
//! every chip with lookups, with the prover's lookups and random challenges.
//!
//! * `cpu`: Plonky3's `LogUpGadget::generate_permutation` + `flatten_to_base` (what the CPU
//!   backend's `logup_trace` runs; rayon, all cores);
//! * `gpu`: `CudaBackend::logup_trace` on the main trace already resident (device time + the
//!   terminal's download, which synchronizes).
//!
//! The GPU trace and terminal are checked equal to the CPU's before timing. Medians of
//! `SLOTPROOF_BENCH_ITERS` (default 5) after one warm-up; ratio = CPU / GPU. Fields:
//! `SLOTPROOF_BENCH_FIELDS` ("kb", "bb", "kb,bb"; default "kb"). Skips without a GPU.

use std::time::{Duration, Instant};

use p3_field::BasedVectorSpace;
use p3_lookup::{LogUpGadget, LookupProtocol};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use slotproof_cuda::logup::{DEFAULT_MAX_THREADS, LogUpEnv, LogUpProgram};
use slotproof_cuda::{CudaBackend, DeviceField};
use slotproof_prover::field::Challenge;
use slotproof_prover::{CpuShardProver, FriSettings};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

fn median(mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..env_usize("SLOTPROOF_BENCH_ITERS", 5).max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// One field's run (written per field: the prover's configuration types resolve on concrete
/// fields only).
macro_rules! bench_field {
    ($name:ident, $field:ty) => {
        fn $name(b: &CudaBackend, trace: &slotproof_executor::trace::SubblockTrace, tag: &str) {
            type F = $field;
            type EF = Challenge<F>;
            let max_rows = env_usize("SLOTPROOF_BENCH_LOGUP_MAX_ROWS", 1 << 18);
            let shard = slotproof_air::generate_shards::<F>(trace, max_rows)
                .expect("shards")
                .swap_remove(0);
            let log_heights: Vec<usize> = shard
                .traces
                .iter()
                .map(|t| p3_util::log2_ceil_usize(t.height()))
                .collect();
            let data = CpuShardProver::<F>::cpu(FriSettings::DEFAULT)
                .setup(&shard.airs, &log_heights)
                .expect("setup");
            let mut rng = SmallRng::seed_from_u64(5);
            for (i, air) in shard.airs.iter().enumerate() {
                let lookups = data.common.lookups[i].to_vec();
                if lookups.is_empty() {
                    continue;
                }
                let main: &RowMajorMatrix<F> = &shard.traces[i];
                let pv = &shard.public_values[i];
                let challenges: Vec<EF> = (0..2 * lookups.len()).map(|_| rng.random()).collect();
                let program =
                    LogUpProgram::compile::<F, EF>(&lookups, main.width(), pv.len()).expect("compile");
                let env = LogUpEnv::new::<F, EF>(&program, pv, &challenges).expect("env");
                let device_main = b.upload_row_major(main).expect("upload");

                let cpu = || {
                    let (t, terminal) = LogUpGadget::new().generate_permutation::<F, EF>(
                        main,
                        &None,
                        pv,
                        &lookups,
                        &challenges,
                    );
                    (t.flatten_to_base(), terminal)
                };
                let gpu = || {
                    b.logup_trace::<F>(&program, &env, &device_main, DEFAULT_MAX_THREADS)
                        .expect("logup_trace")
                };
                let (cpu_trace, cpu_terminal) = cpu();
                let (gpu_trace, gpu_terminal) = gpu();
                let terminal_words: Vec<u32> = cpu_terminal
                    .expect("terminal")
                    .0
                    .as_basis_coefficients_slice()
                    .iter()
                    .copied()
                    .map(|c: F| c.to_monty_word())
                    .collect();
                assert_eq!(gpu_terminal.map(|t| t.to_vec()), Some(terminal_words));
                assert!(
                    b.download_row_major(&gpu_trace).expect("download") == cpu_trace,
                    "{tag} {air:?}: GPU LogUp trace differs from Plonky3's"
                );
                let t_cpu = median(|| drop(cpu()));
                let t_gpu = median(|| drop(gpu()));
                println!(
                    "{tag} {air:?}: {} rows x {} columns, {} lookups, {} instructions: cpu {:.3} ms, gpu {:.3} ms, ratio {:.1}",
                    main.height(),
                    main.width(),
                    lookups.len(),
                    program.program.instructions.len(),
                    t_cpu.as_secs_f64() * 1e3,
                    t_gpu.as_secs_f64() * 1e3,
                    t_cpu.as_secs_f64() / t_gpu.as_secs_f64()
                );
            }
        }
    };
}

bench_field!(bench_koala_bear, p3_koala_bear::KoalaBear);
bench_field!(bench_baby_bear, p3_baby_bear::BabyBear);

fn main() {
    let backend = match CudaBackend::new() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("SKIP slotproof-cuda logup bench: no usable CUDA device/kernels: {e}");
            return;
        }
    };
    // Times under the stand-in driver (the kernels on the CPU) are never GPU figures.
    if backend.driver_info().is_standin() {
        eprintln!(
            "SKIP slotproof-cuda logup bench: the CUDA driver is the CPU stand-in, not a GPU"
        );
        return;
    }
    println!(
        "LogUp trace on {}",
        backend.device_description().unwrap_or_default()
    );
    let gas = env_usize("SLOTPROOF_BENCH_LOGUP_GAS", 4_000_000) as u64;
    let block = slotproof_executor::generate::generate_scaled(gas).expect("generated block");
    let trace = &block.execution.subblocks[0].trace;
    println!(
        "block of {} gas, subblock 0: {} steps",
        block.execution.gas_used,
        trace.steps.len()
    );
    let fields = std::env::var("SLOTPROOF_BENCH_FIELDS").unwrap_or_else(|_| "kb".into());
    for f in fields.split(',').map(str::trim) {
        match f {
            "kb" => bench_koala_bear(&backend, trace, "koalabear"),
            "bb" => bench_baby_bear(&backend, trace, "babybear"),
            other => eprintln!("unknown field {other:?} in SLOTPROOF_BENCH_FIELDS"),
        }
    }
}
