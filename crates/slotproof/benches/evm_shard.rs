//! Our shard pipeline against Plonky3's `prove_batch` on the same real EVM shard, in one run.
//!
//! The shard is the first one of the largest subblock of a block (default: the project's
//! `fixtures/mixed.json`; `BENCH_FIXTURE=/absolute/path` for another, e.g. a mainnet block of
//! the shared data: cargo runs benches in this crate's folder), cut at `BENCH_MAX_ROWS` steps (default 2^15). Both provers use the same configuration
//! and must produce the same bytes (checked before timing). Printed at the end: the median per
//! proof of each, the ratio ours/stock, and cells per second for both, where cells are the
//! shard's main-trace cells (height x width, padded), the unit of the probe's physical figure
//! (a 2^20 x 128 batch proof in 7.1 s on 2 native cores = 18.9 M cells/s).
//!
//! `cargo bench -p slotproof --bench evm_shard` (native code through .cargo/config.toml).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use p3_batch_stark::{ProverData, StarkInstance, prove_batch};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use slotproof::air::{Shard, generate_shards};
use slotproof::executor::{BlockInput, ExecuteOptions, execute_block};
use slotproof::prover::{
    CpuShardProver, FriSettings, KoalaBear, ProverOptions, ShardProver, proof_to_bytes,
};

type F = KoalaBear;

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn evm_shard() -> (String, Shard<F>) {
    let fixture = std::env::var("BENCH_FIXTURE").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/mixed.json").to_string()
    });
    let max_rows = std::env::var("BENCH_MAX_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 15);
    let input = BlockInput::from_path(&fixture).expect("fixture");
    let execution = execute_block(&input, &ExecuteOptions::default()).expect("execution");
    let largest = execution
        .subblocks
        .iter()
        .max_by_key(|s| s.trace.steps.len())
        .expect("a subblock");
    let shard = generate_shards::<F>(&largest.trace, max_rows)
        .expect("shards")
        .into_iter()
        .next()
        .expect("a shard");
    (fixture, shard)
}

fn evm_shard_bench(c: &mut Criterion) {
    let (fixture, shard) = evm_shard();
    let cells: u64 = shard
        .traces
        .iter()
        .map(|t| (t.height() * t.width()) as u64)
        .sum();
    let ours: CpuShardProver<F> =
        ShardProver::cpu(FriSettings::DEFAULT).with_options(ProverOptions {
            check_witness: false,
        });
    let config = ours.config().clone();
    let trace_refs: Vec<&RowMajorMatrix<F>> = shard.traces.iter().collect();
    let instances = StarkInstance::new_multiple(&shard.airs, &trace_refs, &shard.public_values);
    let prover_data = ProverData::from_instances(&config, &instances).expect("key generation");

    let ours_bytes = proof_to_bytes(
        &ours
            .prove(&shard.airs, &shard.traces, &shard.public_values)
            .expect("our proof"),
    )
    .expect("encode");
    let stock_bytes =
        proof_to_bytes(&prove_batch(&config, &instances, &prover_data).expect("stock proof"))
            .expect("encode");
    assert_eq!(
        ours_bytes, stock_bytes,
        "the two provers disagree on the shard"
    );
    println!(
        "{fixture}: EVM shard of {} steps, {} tables, {cells} main cells; proofs identical ({} bytes)",
        shard.steps.len(),
        shard.traces.len(),
        ours_bytes.len()
    );

    let samples: [RefCell<Vec<Duration>>; 2] = Default::default();
    let mut group = c.benchmark_group("evm_shard");
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
    group.bench_function("ShardProver (ours)", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let t = Instant::now();
                std::hint::black_box(
                    ours.prove(&shard.airs, &shard.traces, &shard.public_values)
                        .unwrap(),
                );
                samples[1].borrow_mut().push(t.elapsed());
            }
            start.elapsed()
        })
    });
    group.finish();

    let stock = median(&samples[0].borrow());
    let mine = median(&samples[1].borrow());
    let rate = |d: Duration| cells as f64 / d.as_secs_f64() / 1e6;
    println!("median per proof (all iterations, warm-up included):");
    println!(
        "  prove_batch (Plonky3) {stock:>10.3?}  {:>6.2} M cells/s",
        rate(stock)
    );
    println!(
        "  ShardProver (ours)    {mine:>10.3?}  {:>6.2} M cells/s  speed ours/stock = {:.3}x",
        rate(mine),
        stock.as_secs_f64() / mine.as_secs_f64()
    );
}

criterion_group!(benches, evm_shard_bench);
criterion_main!(benches);
