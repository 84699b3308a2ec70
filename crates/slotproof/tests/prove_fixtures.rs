//! Every block the project proves end to end: both mainnet blocks of the shared data (skipped
//! with a message where absent) and each of the project's own fixtures are executed, proven on
//! the CPU backend, aggregated into one proof (block proof v3, overlapped with shard proving)
//! and verified from their bytes, both as the shard list (v2) and as the one proof (v3), with
//! the default shard size. The mainnet blocks are cut into subblocks of 500,000 gas, so that
//! their proofs carry several subblocks whose state must connect, and several shards that
//! internal nodes join.
//!
//! Proving time per block goes to stderr (`--nocapture`); nothing here depends on it.

use slotproof::aggregated::{AGGREGATED_PROOF_VERSION, AggregatedProof};
use slotproof::executor::BlockInput;
use slotproof::{
    BlockProver, DEFAULT_MAX_SHARD_ROWS, verify_block_proof, verify_block_proof_version,
};
use std::path::Path;
use std::time::Instant;

// The executor tests' helpers (where the shared fixtures are, skipping cleanly without them).
#[path = "../../executor/tests/common.rs"]
mod common;

fn prove_and_verify(path: &Path, subblock_gas: u64) {
    let input = BlockInput::from_path(path).unwrap();
    let t = Instant::now();
    let proved = BlockProver::builder()
        .subblock_gas(subblock_gas)
        .aggregate(true)
        .build()
        .prove(&input)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let prove = t.elapsed();
    let p = &proved.proof;
    let exec = &proved.execution;

    assert_eq!(p.subblocks.len(), exec.subblocks.len());
    assert_eq!(p.block.transactions as usize, exec.transactions);
    let steps: u64 = p.subblocks.iter().map(|s| s.steps).sum();
    assert_eq!(steps as usize, exec.steps());
    let rows = DEFAULT_MAX_SHARD_ROWS as u64;
    let shards: u64 = p.subblocks.iter().map(|s| s.steps.div_ceil(rows)).sum();
    // Shards are cut between transactions where one fits, so there may be more than the minimum.
    assert!(p.shards.len() as u64 >= shards);
    // With every transaction shorter than a shard, no shard takes carried (trusted) state.
    let longest_segment = exec
        .subblocks
        .iter()
        .flat_map(|sb| sb.trace.segments.iter())
        .map(|s| u64::from(s.end_step - s.first_step))
        .max()
        .unwrap_or(0);
    if longest_segment <= rows {
        assert_eq!(p.shards_with_carried_state(), 0, "{}", path.display());
    }

    let bytes = p.to_bytes().unwrap();
    let t = Instant::now();
    let block = verify_block_proof(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let verify = t.elapsed();
    assert_eq!(&block, &p.block);

    // The one aggregated proof: it verifies and names the same block.
    let aggregated = proved.aggregated.as_ref().expect("an aggregated proof");
    let v3 = AggregatedProof::new(p, aggregated)
        .and_then(|a| a.to_bytes())
        .unwrap();
    let (version, block) =
        verify_block_proof_version(&v3).unwrap_or_else(|e| panic!("{} (v3): {e}", path.display()));
    assert_eq!(version, AGGREGATED_PROOF_VERSION);
    assert_eq!(&block, &p.block);
    eprintln!(
        "{}: {} txs, {} gas, {} steps, {} subblocks, {} shards ({} with carried state): proven and aggregated in {:.1} s, verified in {:.2} s, {} bytes (one proof: {} bytes)",
        path.file_name().unwrap().to_string_lossy(),
        p.block.transactions,
        p.block.gas_used,
        steps,
        p.subblocks.len(),
        p.shards.len(),
        p.shards_with_carried_state(),
        prove.as_secs_f64(),
        verify.as_secs_f64(),
        bytes.len(),
        v3.len()
    );
}

fn own(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/{name}.json"));
    prove_and_verify(&path, slotproof::executor::DEFAULT_SUBBLOCK_GAS);
}

fn mainnet(name: &str) {
    if let Some(path) = common::shared_fixture(&format!("mainnet/{name}.json")) {
        prove_and_verify(&path, 500_000);
    }
}

#[test]
fn mainnet_22615247() {
    mainnet("22615247");
}

#[test]
fn mainnet_21688509() {
    mainnet("21688509");
}

#[test]
fn own_transfers() {
    own("transfers");
}

#[test]
fn own_token() {
    own("token");
}

#[test]
fn own_keccak() {
    own("keccak");
}

#[test]
fn own_calls() {
    own("calls");
}

#[test]
fn own_mixed() {
    own("mixed");
}
