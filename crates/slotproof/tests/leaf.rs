//! Leaves over real EVM shards: the first shard of the project's `transfers` block and a
//! shard of a mainnet block from the shared data (skipped with a message where absent). The
//! block is proven as `slotproof prove` proves it, then the leaf recursion proof that the
//! shard proof verifies is proven and checked by the stock verifier; its public values are the
//! shard's. Rows per recursion table go to stderr (`--nocapture`); nothing depends on them.

use slotproof::executor::BlockInput;
use slotproof::leaf::{LEAF_SETTINGS, prove_leaf, shard_leaf, verify_leaf};
use slotproof::prover::{CpuShardProver, ShardProver};
use slotproof::recursion::config::Val;
use slotproof::{BlockProver, verify_block_proof};
use std::path::Path;
use std::time::Instant;

#[path = "../../executor/tests/common.rs"]
mod common;

fn leaf_of_shard(path: &Path, subblock_gas: u64, shard: usize) {
    let input = BlockInput::from_path(path).unwrap();
    let proved = BlockProver::builder()
        .subblock_gas(subblock_gas)
        .build()
        .prove(&input)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let proof = &proved.proof;
    verify_block_proof(&proof.to_bytes().unwrap()).expect("the block proof verifies");

    let t = Instant::now();
    let (circuit, witness) = shard_leaf(proof, shard).expect("the leaf circuit builds");
    let build = t.elapsed();
    let expected: Vec<u32> = proof.shards[shard]
        .public_values
        .iter()
        .flatten()
        .copied()
        .collect();
    let got: Vec<u32> = witness
        .public_values
        .iter()
        .map(p3_field::PrimeField32::as_canonical_u32)
        .collect();
    assert_eq!(got, expected, "the leaf's public values are the shard's");

    let prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS);
    let key = circuit.keygen(&prover).expect("leaf key");
    let proven = prove_leaf(&prover, &key, &circuit, &witness).expect("the leaf proves");
    verify_leaf(&prover, &key, &circuit, &proven.proof).expect("the stock verifier accepts");
    let bytes = slotproof::prover::proof_to_bytes(&proven.proof.proof).unwrap();
    eprintln!(
        "{} shard {shard} ({} steps): circuit built in {:.2} s, leaf witness {:.2} s, proven in {:.2} s, {} bytes; rows {:?}",
        path.file_name().unwrap().to_string_lossy(),
        proved.shards[shard].steps.len(),
        build.as_secs_f64(),
        proven.witness_time.as_secs_f64(),
        proven.prove_time.as_secs_f64(),
        bytes.len(),
        circuit
            .rows()
            .iter()
            .map(|r| (r.table, r.rows))
            .collect::<Vec<_>>()
    );
}

#[test]
fn leaf_of_a_transfers_shard() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/transfers.json");
    leaf_of_shard(&path, slotproof::executor::DEFAULT_SUBBLOCK_GAS, 0);
}

#[test]
fn leaf_of_a_mainnet_shard() {
    if let Some(path) = common::shared_fixture("mainnet/22615247.json") {
        leaf_of_shard(&path, 500_000, 0);
    }
}
