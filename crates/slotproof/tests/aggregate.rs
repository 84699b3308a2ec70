//! Aggregation of a real block proof (`fixtures/transfers.json`, one shard: a leaf and the root
//! over it): the root proves, the stock verifier accepts it, and its public values are the
//! block's claims. Claims that differ from what the root publishes (another block's, an altered
//! block or subblock value, another shard list) are each rejected with their own error.

use slotproof::aggregate::{ClaimsError, aggregate_block, check_root_claims};
use slotproof::executor::{BlockInput, ExecuteOptions, execute_block};
use slotproof::{BlockProver, BlockPublicValues, SubblockPublicValues};

fn fixture(name: &str) -> BlockInput {
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    BlockInput::from_path(&path).unwrap()
}

#[test]
fn a_block_aggregates_and_its_root_binds_the_claims() {
    let proved = BlockProver::builder()
        .build()
        .prove(&fixture("transfers.json"))
        .unwrap();
    let proof = &proved.proof;
    let agg = aggregate_block(proof).expect("the block aggregates and its root checks");
    eprintln!(
        "{} shards: leaves {:?}, internal {:?}, root {:?}; root proof {} bytes, checked in {:?}",
        proof.shards.len(),
        agg.times.leaves,
        agg.times.internal,
        agg.times.root,
        agg.root_proof_bytes,
        agg.verify_time
    );
    let root = &agg.root.proof.public_values;
    let shards: Vec<u32> = proof.shards.iter().map(|s| s.subblock).collect();
    check_root_claims(root, &proof.block, &proof.subblocks, &shards).expect("the claims");

    // Another block's claims.
    let other = execute_block(&fixture("token.json"), &ExecuteOptions::default()).unwrap();
    let other_block = BlockPublicValues::of_execution(&other);
    let other_subblocks = SubblockPublicValues::of_execution(&other);
    let other_shards: Vec<u32> = other_subblocks
        .iter()
        .filter(|s| s.steps > 0)
        .map(|s| s.index)
        .collect();
    assert_eq!(
        check_root_claims(root, &other_block, &other_subblocks, &other_shards),
        Err(ClaimsError::BlockBinding)
    );
    // The right block, another block's subblocks.
    assert_eq!(
        check_root_claims(root, &proof.block, &other_subblocks, &other_shards),
        Err(ClaimsError::SubblockDigest)
    );
    // An altered block value.
    let mut block = proof.block.clone();
    block.gas_used += 1;
    assert_eq!(
        check_root_claims(root, &block, &proof.subblocks, &shards),
        Err(ClaimsError::BlockBinding)
    );
    // An altered subblock value.
    let mut subblocks = proof.subblocks.clone();
    subblocks[shards[0] as usize].steps += 1;
    assert_eq!(
        check_root_claims(root, &proof.block, &subblocks, &shards),
        Err(ClaimsError::SubblockDigest)
    );
    // A shard list with one shard more, or naming a subblock the claims lack.
    let mut more = shards.clone();
    more.push(shards[shards.len() - 1]);
    assert_eq!(
        check_root_claims(root, &proof.block, &proof.subblocks, &more),
        Err(ClaimsError::SubblockDigest)
    );
    let missing = vec![proof.subblocks.len() as u32; shards.len()];
    assert!(matches!(
        check_root_claims(root, &proof.block, &proof.subblocks, &missing),
        Err(ClaimsError::NoSuchSubblock { .. })
    ));
    // No shards for a subblock with steps.
    assert!(matches!(
        check_root_claims(root, &proof.block, &proof.subblocks, &[]),
        Err(ClaimsError::ShardCoverage { .. })
    ));
    // A root's public values of the wrong length.
    assert!(matches!(
        check_root_claims(&root[1..], &proof.block, &proof.subblocks, &shards),
        Err(ClaimsError::Shape(_))
    ));
}
