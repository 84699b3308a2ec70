//! GPU benchmarks (criterion): batched NTT, coset LDE (blowup 2, bit-reversed rows) and Merkle
//! commit of the LDE, at 2^20..2^24 rows x 64..256 columns (KoalaBear by default, BabyBear on
//! request). Skips with a message when no GPU (or no kernels) is present. Before each size it
//! prints the NTT pass plan the device runs (passes over global memory, stages per kind, tile
//! size).
//!
//! Environment: `SLOTPROOF_BENCH_LOG_NS` (default "20,22,24"), `SLOTPROOF_BENCH_WIDTHS`
//! (default "64,256"), `SLOTPROOF_BENCH_FIELDS` ("kb", "bb" or "kb,bb"; default "kb").
//! Each iteration ends with a stream synchronize, so the time is device time plus one launch
//! queue drain; inputs are random canonical words, never zeros. Configurations whose buffers
//! would not fit in 85% of free device memory are skipped with a message.

use criterion::{BenchmarkId, Criterion, Throughput};
use p3_baby_bear::BabyBear;
use p3_koala_bear::KoalaBear;
use slotproof_cuda::{CudaBackend, DeviceField, DeviceMatrix};

fn list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn random_matrix<F: DeviceField>(
    b: &CudaBackend,
    log_n: u32,
    width: usize,
    seed: u64,
) -> DeviceMatrix<F> {
    // xorshift64*: fast enough for 2^32 words; values reduced into [0, p) are canonical
    // Montgomery words of uniformly spread elements.
    let mut x = seed | 1;
    let words: Vec<u32> = (0..(width << log_n))
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            ((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32) % F::PRIME
        })
        .collect();
    DeviceMatrix::from_buffer(b.upload_words(&words).unwrap(), 1 << log_n, width).unwrap()
}

fn bench_field<F: DeviceField>(c: &mut Criterion, b: &CudaBackend, tag: &str) {
    let log_ns: Vec<u32> = list("SLOTPROOF_BENCH_LOG_NS", "20,22,24")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let widths: Vec<usize> = list("SLOTPROOF_BENCH_WIDTHS", "64,256")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut group = c.benchmark_group(tag);
    group.sample_size(10);
    for &log_n in &log_ns {
        // The NTT plan this device runs at this size (passes over global memory, tile shapes).
        let plan = b.ntt_plan(log_n);
        eprintln!(
            "{tag} 2^{log_n}: NTT in {} global passes: {}",
            plan.len(),
            plan.iter()
                .map(|p| format!(
                    "{} stages ({} shared, {} register, {} shuffle) on {}-word tiles, {} per block of {} threads",
                    p.num_stages,
                    p.shared_stages(),
                    p.register_stages(),
                    p.shuffle_stages(),
                    p.tile_words(),
                    p.tiles_per_block,
                    p.threads * p.tiles_per_block
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for &w in &widths {
            let words = w << log_n;
            // Input + scratch copy + LDE output (blowup 2) + digest layers (< 2 x 8 words per LDE row).
            let need = 4 * (words + words + 2 * words + 16 * (2usize << log_n));
            let (free, _) = b.mem_info().unwrap();
            if need as f64 > 0.85 * free as f64 {
                eprintln!(
                    "SKIP {tag} 2^{log_n} x {w}: needs {} MiB, {} MiB free",
                    need >> 20,
                    free >> 20
                );
                continue;
            }
            let id = format!("2^{log_n}x{w}");
            let m = random_matrix::<F>(
                b,
                log_n,
                w,
                0x9e37_79b9 ^ u64::from(log_n) ^ (w as u64) << 8,
            );
            group.throughput(Throughput::Bytes((4 * words) as u64));
            group.bench_function(BenchmarkId::new("ntt_dft_bitrev_in_place", &id), |bench| {
                let mut d = DeviceMatrix::<F>::from_buffer(
                    b.copy(m.buffer()).unwrap(),
                    m.height(),
                    m.width(),
                )
                .unwrap();
                bench.iter(|| {
                    b.dft_bitrev_in_place(&mut d).unwrap();
                    b.synchronize().unwrap();
                })
            });
            group.bench_function(BenchmarkId::new("coset_lde_bitrev_blowup2", &id), |bench| {
                bench.iter(|| {
                    let out = b.coset_lde_bitrev(&m, 1, F::GENERATOR).unwrap();
                    b.synchronize().unwrap();
                    out
                })
            });
            let lde = b.coset_lde_bitrev(&m, 1, F::GENERATOR).unwrap();
            group.throughput(Throughput::Bytes((8 * words) as u64));
            group.bench_function(BenchmarkId::new("merkle_commit_lde", &id), |bench| {
                bench.iter(|| {
                    let tree = b.merkle_commit(&[&lde], 0).unwrap();
                    b.synchronize().unwrap();
                    tree
                })
            });
        }
    }
    group.finish();
}

fn main() {
    let backend = match CudaBackend::new() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("SKIP slotproof-cuda benches: no usable CUDA device/kernels: {e}");
            return;
        }
    };
    // Times under the stand-in driver (the kernels on the CPU) are never GPU figures.
    if backend.driver_info().is_standin() {
        eprintln!("SKIP slotproof-cuda benches: the CUDA driver is the CPU stand-in, not a GPU");
        return;
    }
    eprintln!(
        "benchmarking on {}",
        backend.device_description().unwrap_or_default()
    );
    let mut c = Criterion::default().configure_from_args();
    for f in list("SLOTPROOF_BENCH_FIELDS", "kb") {
        match f.as_str() {
            "kb" => bench_field::<KoalaBear>(&mut c, &backend, "koalabear"),
            "bb" => bench_field::<BabyBear>(&mut c, &backend, "babybear"),
            other => eprintln!("unknown field {other:?} in SLOTPROOF_BENCH_FIELDS"),
        }
    }
    c.final_summary();
}
