//! EEST benchmark samples proven end to end: the chain run up to the benchmark block (every
//! check passing), that block proven on the CPU backend and verified from its bytes. Each
//! sample of the shared data runs where present (skipped with a message where absent). The
//! three worst-case blocks are about 540,000 to 660,000 EVM steps each, two to three minutes
//! each on a 2-core CI with every shard padded to its shape: CI proves one of them
//! (`worst_jumps`, the CPU-only family), and `SLOTPROOF_EEST_ALL=1` adds the other two
//! (`slotproof bench --eest DIR` measures all of them).

use slotproof::executor::blocktest::{block_input, read_file};
use slotproof::{BlockProver, verify_block_proof};

#[path = "../../executor/tests/common.rs"]
mod common;

fn prove_sample(name: &str) {
    let Some(path) = common::shared_fixture(&format!("eest/{name}")) else {
        return;
    };
    let mut tests = read_file(&path).unwrap();
    assert_eq!(tests.len(), 1, "{name}: one test per sample");
    let test = tests.remove(0).1.unwrap();
    let (index, input) = block_input(&test, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        index,
        test.blocks.len() - 1,
        "the last block is the benchmark block"
    );
    let proved = BlockProver::builder()
        .build()
        .prove(&input)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(proved.execution.all_checks_pass());
    assert!(
        proved
            .execution
            .checks
            .iter()
            .any(|c| c.name == "state_root"),
        "the state root is recomputed from the witness"
    );
    let bytes = proved.proof.to_bytes().unwrap();
    let block = verify_block_proof(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(block, proved.proof.block);
    assert_eq!(block.number, input.header.number);
    assert_eq!(block.block_hash, input.header.hash_slow().0);
    assert_eq!(block.state_root, input.header.state_root.0);
}

#[test]
fn worst_storage_access_cold() {
    prove_sample("worst_storage_access_cold.json");
}

#[test]
fn worst_jumps() {
    prove_sample("worst_jumps.json");
}

/// Whether the heavier samples run (module docs).
fn all_samples(name: &str) -> bool {
    let all = std::env::var_os("SLOTPROOF_EEST_ALL").is_some();
    if !all {
        eprintln!(
            "SKIP {name}: a worst-case block beside worst_jumps; SLOTPROOF_EEST_ALL=1 runs it"
        );
    }
    all
}

#[test]
fn worst_calldataload() {
    if all_samples("worst_calldataload") {
        prove_sample("worst_calldataload.json");
    }
}

#[test]
fn worst_memory_access() {
    if all_samples("worst_memory_access") {
        prove_sample("worst_memory_access.json");
    }
}
