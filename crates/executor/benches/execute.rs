//! Block execution with and without trace recording: what recording costs.
//!
//! `cargo bench -p slotproof-executor --bench execute` runs it on the 12.5 Mgas mainnet block
//! (from ../shared/fixtures, skipped when absent) and on the project's own mixed block.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};
use std::path::PathBuf;

fn blocks() -> Vec<(String, BlockInput)> {
    let shared = std::env::var_os("SLOTPROOF_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        });
    let own = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut out = Vec::new();
    for (name, path) in [
        ("21872325-flat", shared.join("mainnet/21872325-flat.json")),
        ("mixed", own.join("mixed.json")),
    ] {
        match BlockInput::from_path(&path) {
            Ok(b) => out.push((name.to_string(), b)),
            Err(e) => eprintln!("SKIP {name}: {e}"),
        }
    }
    out
}

fn bench_execute(c: &mut Criterion) {
    for (name, input) in blocks() {
        let gas = execute_block(&input, &ExecuteOptions::default())
            .expect("block executes")
            .gas_used;
        let mut group = c.benchmark_group(format!("execute/{name}"));
        group.sample_size(20);
        // Throughput in gas: criterion reports "elements/s" = gas/s.
        group.throughput(Throughput::Elements(gas));
        for record in [false, true] {
            let opts = ExecuteOptions {
                record_trace: record,
                ..Default::default()
            };
            let id = if record {
                "with_trace"
            } else {
                "without_trace"
            };
            group.bench_function(id, |b| {
                b.iter(|| execute_block(&input, &opts).expect("executes"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_execute);
criterion_main!(benches);
