//! Our CPU pipeline against Plonky3's `prove_batch` on the same shard, in one run.
//!
//! Shard: a 2^16 x 64 main table (degree-3 chain, two range-checked byte columns) and the
//! 256-row range table, KoalaBear. Both provers use the same configuration and produce the same
//! bytes (checked once before timing). Each measured iteration is one full proof; the medians
//! and their ratio are printed at the end.
//!
//! `BENCH_LOG_ROWS` and `BENCH_WIDTH` override the shard size.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use p3_batch_stark::{ProverData, StarkInstance, prove_batch};
use p3_matrix::dense::RowMajorMatrix;
use slotproof_prover::test_airs::Shard;
use slotproof_prover::{
    CpuShardProver, FriSettings, KoalaBear, ProverOptions, ShardProver, proof_to_bytes,
};

type F = KoalaBear;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn pipeline(c: &mut Criterion) {
    let log_rows = env_or("BENCH_LOG_ROWS", 16);
    let width = env_or("BENCH_WIDTH", 64);
    let shard = Shard::<F>::two_tables(log_rows, width, 42);
    let checked: CpuShardProver<F> = ShardProver::cpu(FriSettings::DEFAULT);
    let unchecked: CpuShardProver<F> =
        ShardProver::cpu(FriSettings::DEFAULT).with_options(ProverOptions {
            check_witness: false,
        });
    let config = checked.config().clone();
    println!("{}", checked.security());

    let trace_refs: Vec<&RowMajorMatrix<F>> = shard.traces.iter().collect();
    let instances = StarkInstance::new_multiple(&shard.airs, &trace_refs, &shard.public_values);
    let prover_data = ProverData::from_instances(&config, &instances).expect("key generation");

    let ours = checked
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("our proof");
    let stock = prove_batch(&config, &instances, &prover_data).expect("stock proof");
    let ours_bytes = proof_to_bytes(&ours).expect("encode");
    assert_eq!(ours_bytes, proof_to_bytes(&stock).expect("encode"));
    println!(
        "shard 2^{log_rows} x {width} + range table: proofs identical ({} bytes)",
        ours_bytes.len()
    );

    let (_, phases) = checked
        .prove_timed(&shard.airs, &shard.traces, &shard.public_values)
        .expect("our proof");
    println!("ShardProver phases (one proof, witness check on):\n{phases}");

    let samples: [RefCell<Vec<Duration>>; 3] = Default::default();
    let mut group = c.benchmark_group(format!("prove_2^{log_rows}x{width}"));
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.bench_function("prove_batch (Plonky3)", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let t = Instant::now();
                std::hint::black_box(prove_batch(&config, &instances, &prover_data).unwrap());
                samples[0].borrow_mut().push(t.elapsed());
            }
            start.elapsed()
        })
    });
    for (slot, (name, prover)) in [
        ("ShardProver (witness check on)", &checked),
        ("ShardProver (witness check off)", &unchecked),
    ]
    .into_iter()
    .enumerate()
    {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let t = Instant::now();
                    std::hint::black_box(
                        prover
                            .prove(&shard.airs, &shard.traces, &shard.public_values)
                            .unwrap(),
                    );
                    samples[slot + 1].borrow_mut().push(t.elapsed());
                }
                start.elapsed()
            })
        });
    }
    group.finish();

    let stock_median = median(&samples[0].borrow());
    println!("median per proof (all iterations, warm-up included):");
    println!("  prove_batch (Plonky3)           {stock_median:>10.3?}");
    for (slot, name) in ["witness check on", "witness check off"].iter().enumerate() {
        let m = median(&samples[slot + 1].borrow());
        println!(
            "  ShardProver ({name:<17}) {m:>10.3?}  ratio ours/stock = {:.3}",
            m.as_secs_f64() / stock_median.as_secs_f64()
        );
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
