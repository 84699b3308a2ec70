//! Internal nodes of arity 2 against arity 4: does a wider tree pay? (issue 13: "make the arity
//! a parameter if measurements favour 4").
//!
//! Both nodes verify children of the node shape (placeholder proofs: an unchecked prover's
//! proofs of zero traces, which cost what real ones do) and check that they chain. Printed:
//! - the rows of every recursion table for arity 2, 3 and 4 (exact, the circuit builder's
//!   count), and the height profile each needs;
//! - the median proving time of one node of arity 2 and of arity 4 at its own padded heights (the node
//!   program's key made once; zero traces, proven unchecked, cost what real ones do);
//! - what that gives for a whole tree of `n` leaves. Every leaf and internal node shares one
//!   height profile (one internal program verifies any child), so a wider node's profile is
//!   also every leaf's: leaves of an arity-4 tree cost an arity-4 node's time.
//!
//! `cargo bench -p slotproof --bench arity` (native code through .cargo/config.toml);
//! `BENCH_SAMPLES` proofs per arity (default 5).

use std::time::{Duration, Instant};

use p3_air::BaseAir;
use p3_field::PrimeCharacteristicRing;
use slotproof::prover::{CpuShardProver, ProverOptions, ShardProver};
use slotproof::recursion::config::Val;
use slotproof::recursion::leaf::{LEAF_SETTINGS, LeafCircuit};
use slotproof::recursion::tree::{placeholder_node, unpadded_internal_of_shape, zero_traces};
use slotproof::tree_keys::first_leaf_circuit;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median time to prove `circuit` at its padded heights (zero traces, unchecked).
fn prove_time(circuit: &LeafCircuit, samples: usize) -> Duration {
    let prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS).with_options(ProverOptions {
        check_witness: false,
    });
    let key = circuit.keygen(&prover).expect("key");
    let airs = circuit.airs();
    let traces = zero_traces(circuit);
    let public_values = circuit.instance_public_values(&vec![Val::ZERO; circuit.num_public_values]);
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            prover
                .prove_with_key(&key, &airs, &traces, &public_values)
                .expect("proves");
            t.elapsed()
        })
        .collect();
    median(&mut times)
}

/// Layers of a tree of `n` leaves under nodes of `arity` (the root not counted).
fn depth(mut n: usize, arity: usize) -> usize {
    let mut layers = 0;
    while n > 1 {
        n = n.div_ceil(arity);
        layers += 1;
    }
    layers
}

/// Internal nodes of a tree of `n` leaves under nodes of `arity`.
fn internal_nodes(mut n: usize, arity: usize) -> usize {
    let mut nodes = 0;
    while n > 1 {
        n = n.div_ceil(arity);
        nodes += n;
    }
    nodes
}

fn main() {
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let leaf = first_leaf_circuit().expect("the first shape's leaf");
    let node = placeholder_node(LEAF_SETTINGS, leaf).expect("a placeholder node");
    let pv = node.instance_public_values();

    let mut timed = Vec::new();
    println!("rows per recursion table (used / padded):");
    for arity in [2usize, 3, 4] {
        let children: Vec<_> = (0..arity).map(|_| node.child(&pv)).collect();
        let circuit = unpadded_internal_of_shape(&children).expect("the node builds");
        let rows = circuit.rows();
        let cells: usize = circuit
            .airs()
            .iter()
            .zip(&rows)
            .map(|(air, r)| BaseAir::<Val>::width(air) * r.padded_rows)
            .sum();
        let profile: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} {}/2^{}",
                    r.table,
                    r.rows,
                    r.padded_rows.trailing_zeros()
                )
            })
            .collect();
        println!(
            "  arity {arity}: {}; {cells} main cells",
            profile.join(", ")
        );
        if arity != 3 {
            timed.push((arity, circuit));
        }
    }

    let mut medians = Vec::new();
    for (arity, circuit) in &timed {
        let t = prove_time(circuit, samples);
        println!("arity {arity}: one node proven in {t:?} (median of {samples})");
        medians.push((*arity, t));
    }

    println!(
        "whole tree of n leaves (every node, leaves included, at the arity's profile; \
         work = (leaves + internal nodes) x node time, latency = (1 + layers) x node time):"
    );
    for n in [4usize, 11, 16, 64, 100] {
        let line: Vec<String> = medians
            .iter()
            .map(|&(arity, t)| {
                let work = t * (n + internal_nodes(n, arity)) as u32;
                let latency = t * (1 + depth(n, arity)) as u32;
                format!(
                    "arity {arity}: work {:.1} s, latency {:.1} s",
                    work.as_secs_f64(),
                    latency.as_secs_f64()
                )
            })
            .collect();
        println!("  n = {n:3}: {}", line.join("; "));
    }
}
