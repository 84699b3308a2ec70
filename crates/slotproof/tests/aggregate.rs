//! Aggregation of a real block proof (`fixtures/transfers.json`, one shard: a leaf and the root
//! over it), proven once and shared: the root proves and checks; block proof v3 verifies, with
//! the verifier's fixed recursion keys, and reports its version (v2 still verifies too).
//! Claims that differ from what the root publishes (another block's, an altered block or
//! subblock value, another shard list) are each rejected with their own error, by
//! `check_root_claims` and by the v3 verifier.

use std::sync::OnceLock;

use slotproof::aggregate::{ClaimsError, aggregate_block, check_root_claims};
use slotproof::aggregated::{AGGREGATED_PROOF_VERSION, AggregatedProof, CompactClaims};
use slotproof::air::shape::SHARD_SHAPES;
use slotproof::executor::{BlockExecution, BlockInput, ExecuteOptions, execute_block};
use slotproof::recursion::config::Val;
use slotproof::{
    BLOCK_PROOF_VERSION, BlockProof, BlockProver, BlockPublicValues, SubblockPublicValues,
    VerifyError, verify_block_proof_version,
};

fn fixture(name: &str) -> BlockInput {
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    BlockInput::from_path(&path).unwrap()
}

struct Aggregated {
    proof: BlockProof,
    root_public_values: Vec<Val>,
    v3: AggregatedProof,
}

/// Proven and aggregated once for every test (a minute or more on 2 cores).
fn aggregated() -> &'static Aggregated {
    static AGG: OnceLock<Aggregated> = OnceLock::new();
    AGG.get_or_init(|| {
        let proved = BlockProver::builder()
            .build()
            .prove(&fixture("transfers.json"))
            .unwrap();
        let agg = aggregate_block(&proved.proof).expect("the block aggregates and its root checks");
        eprintln!(
            "{} shards: leaves {:?}, internal {:?}, root {:?}; root proof {} bytes, checked in {:?}",
            proved.proof.shards.len(),
            agg.times.leaves,
            agg.times.internal,
            agg.times.root,
            agg.root_proof_bytes,
            agg.verify_time
        );
        let v3 = AggregatedProof::new(&proved.proof, &agg).unwrap();
        Aggregated {
            root_public_values: agg.root.proof.public_values.clone(),
            proof: proved.proof,
            v3,
        }
    })
}

fn other_block() -> BlockExecution {
    execute_block(&fixture("token.json"), &ExecuteOptions::default()).unwrap()
}

#[test]
fn the_root_binds_the_claims() {
    let a = aggregated();
    let (proof, root) = (&a.proof, &a.root_public_values);
    let shards: Vec<u32> = proof.shards.iter().map(|s| s.subblock).collect();
    check_root_claims(root, &proof.block, &proof.subblocks, &shards).expect("the claims");

    // Another block's claims.
    let other = other_block();
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
    // An altered block value (the parent state root: the header does not hold it).
    let mut block = proof.block.clone();
    block.parent_state_root[0] ^= 1;
    assert_eq!(
        check_root_claims(root, &block, &proof.subblocks, &shards),
        Err(ClaimsError::BlockBinding)
    );
    // Another block context (a chain id the shards were not proven with): every leaf's digest
    // hashes it.
    let mut block = proof.block.clone();
    block.context.chain_id += 1;
    assert_eq!(
        check_root_claims(root, &block, &proof.subblocks, &shards),
        Err(ClaimsError::SubblockDigest)
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
        check_root_claims(&root[..10], &proof.block, &proof.subblocks, &shards),
        Err(ClaimsError::Shape(_))
    ));
}

#[test]
fn block_proof_v3_verifies_and_reports_its_version() {
    let a = aggregated();
    let bytes = a.v3.to_bytes().unwrap();
    let start = std::time::Instant::now();
    let (version, block) = verify_block_proof_version(&bytes).expect("v3 verifies");
    eprintln!(
        "v3: {} bytes, verified in {:?} (fixed recursion keys)",
        bytes.len(),
        start.elapsed()
    );
    assert_eq!(version, AGGREGATED_PROOF_VERSION);
    assert_eq!(block, a.proof.block);
    let (version, _) = verify_block_proof_version(&a.proof.to_bytes().unwrap()).expect("v2");
    assert_eq!(version, BLOCK_PROOF_VERSION);
}

#[test]
fn block_proof_v3_with_other_claims_is_rejected() {
    let a = aggregated();
    let verify = |p: &AggregatedProof| verify_block_proof_version(&p.to_bytes().unwrap());

    // The root proof with another block's claims (one shard each, the same shape).
    let other = other_block();
    let mut p = a.v3.clone();
    p.block = BlockPublicValues::of_execution(&other);
    let other_subblocks = SubblockPublicValues::of_execution(&other);
    p.subblocks = CompactClaims::encode(&other_subblocks);
    p.shards = other_subblocks
        .iter()
        .filter(|s| s.steps > 0)
        .map(|s| slotproof::aggregated::ShardShape {
            subblock: s.index,
            degree_bits: a.v3.shards[0].degree_bits.clone(),
        })
        .collect();
    assert!(matches!(verify(&p), Err(VerifyError::RootRejected { .. })));

    // An altered subblock claim: the claims still cover the block, the root disagrees.
    let mut p = a.v3.clone();
    let sub = p.shards[0].subblock as usize;
    let mut subblocks = p.subblocks.decode().unwrap();
    subblocks[sub].steps += 1;
    p.subblocks = CompactClaims::encode(&subblocks);
    assert!(matches!(verify(&p), Err(VerifyError::RootRejected { .. })));

    // An altered block claim: the header it carries says otherwise.
    let mut p = a.v3.clone();
    p.block.gas_used += 1;
    assert_eq!(
        verify(&p),
        Err(VerifyError::Context(
            slotproof::context::ContextError::HeaderField { field: "gas used" }
        ))
    );
    // Another block context: the root's digest is not the claims'.
    let mut p = a.v3.clone();
    p.block.context.chain_id += 1;
    assert!(matches!(verify(&p), Err(VerifyError::RootRejected { .. })));

    // A duplicated shard, a dropped one, a malformed shape.
    let mut p = a.v3.clone();
    p.shards.push(p.shards[0].clone());
    assert!(matches!(
        verify(&p),
        Err(VerifyError::RootClaims(_)) | Err(VerifyError::RootRejected { .. })
    ));
    let mut p = a.v3.clone();
    p.shards.clear();
    assert!(matches!(
        verify(&p),
        Err(VerifyError::RootClaims(ClaimsError::ShardCoverage { .. }))
    ));
    let mut p = a.v3.clone();
    p.shards[0].degree_bits.pop();
    assert_eq!(verify(&p), Err(VerifyError::ShardShape { shard: 0 }));

    // The root names another internal program (another allowed set of keys: the design's
    // "wrong vk_root"), or other leaf keys.
    let mut p = a.v3.clone();
    p.root_keys[0] = (p.root_keys[0] + 1) % 0x7f00_0001;
    assert_eq!(
        verify(&p),
        Err(VerifyError::RootClaims(ClaimsError::InternalKey))
    );
    let mut p = a.v3.clone();
    p.root_keys[8] = (p.root_keys[8] + 1) % 0x7f00_0001;
    assert_eq!(
        verify(&p),
        Err(VerifyError::RootClaims(ClaimsError::LeafKeys))
    );
    // A shard named with another shape of the menu: its leaf would be another program.
    let mut p = a.v3.clone();
    let other = SHARD_SHAPES
        .iter()
        .map(|s| s.log_heights.map(|h| h as u8).to_vec())
        .find(|s| *s != p.shards[0].degree_bits)
        .expect("another shape");
    p.shards[0].degree_bits = other;
    assert_eq!(
        verify(&p),
        Err(VerifyError::RootClaims(ClaimsError::LeafKeys))
    );

    // A flipped byte of the root proof.
    let mut p = a.v3.clone();
    let k = p.root_proof.len() / 2;
    p.root_proof[k] ^= 1;
    assert!(verify(&p).is_err());
}
