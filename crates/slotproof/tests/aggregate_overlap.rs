//! Aggregation overlapped with shard proving (`BlockProverBuilder::aggregate`): leaves are proven
//! as soon as their shard proofs exist and internal nodes as soon as both children do, and the
//! aggregated proof (v3) is byte for byte the one `aggregate_block` makes after the whole block
//! is proven. The block: `transfers.json` cut into three shards over two subblocks, so the tree
//! has a subblock seam and an odd leaf that moves up. (Two trees of six recursion proofs: a few
//! minutes on 2 cores in the test profile.)

use slotproof::BlockProver;
use slotproof::Progress;
use slotproof::aggregate::{AggregationProgress, aggregate_block};
use slotproof::aggregated::{AGGREGATED_PROOF_VERSION, AggregatedProof};
use slotproof::executor::BlockInput;
use slotproof::recursion::tree::{NodeKind, tree_node_count};
use std::sync::Mutex;

fn transfers() -> BlockInput {
    BlockInput::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/transfers.json"
    ))
    .unwrap()
}

/// 128-step shards and 100,000-gas subblocks: three shards, two subblocks.
fn prover(aggregate: bool) -> BlockProver {
    BlockProver::builder()
        .max_shard_rows(128)
        .subblock_gas(100_000)
        .aggregate(aggregate)
        .build()
}

#[test]
fn overlapped_aggregation_gives_the_proof_bytes_of_aggregating_afterwards() {
    let input = transfers();
    let events = Mutex::new(Vec::new());
    let proved = prover(true)
        .prove_with_progress(&input, &|p| events.lock().unwrap().push(p))
        .expect("the block proves and aggregates");
    let shards = proved.proof.shards.len();
    assert!(shards >= 3, "{shards} shards");
    assert!(
        proved
            .proof
            .subblocks
            .iter()
            .filter(|s| s.steps > 0)
            .count()
            >= 2
    );

    // Progress: the tree's node count once, with every node of each kind reported once.
    let events = events.into_inner().unwrap();
    let planned: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Progress::Aggregation(AggregationProgress::NodesPlanned(n)) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(planned, vec![tree_node_count(shards)]);
    let proven = |kind| {
        events
            .iter()
            .filter(|e| **e == Progress::Aggregation(AggregationProgress::NodeProven(kind)))
            .count()
    };
    assert_eq!(proven(NodeKind::ShardLeaf), shards);
    assert_eq!(proven(NodeKind::Internal), shards - 1);
    assert_eq!(proven(NodeKind::Root), 1);
    assert_eq!(
        proven(NodeKind::ShardLeaf) + proven(NodeKind::Internal) + proven(NodeKind::Root),
        tree_node_count(shards)
    );
    // The root is the last node, after every shard.
    let last_shard = events
        .iter()
        .rposition(|e| matches!(e, Progress::ShardProven(_)))
        .unwrap();
    let root = events
        .iter()
        .position(|e| *e == Progress::Aggregation(AggregationProgress::NodeProven(NodeKind::Root)))
        .unwrap();
    assert!(root > last_shard);

    // Aggregating does not change the shard proofs (the v2 proof).
    let plain = prover(false).prove(&input).expect("the block proves");
    assert!(plain.aggregated.is_none());
    assert!(plain.proof.to_bytes().unwrap() == proved.proof.to_bytes().unwrap());

    let overlapped = proved.aggregated.expect("an aggregated proof");
    assert_eq!(overlapped.times.leaves.len(), shards);
    assert_eq!(overlapped.times.internal.len(), shards - 1);
    let overlapped_v3 = AggregatedProof::new(&proved.proof, &overlapped)
        .unwrap()
        .to_bytes()
        .unwrap();

    // The sequential path over the finished block proof: the same bytes.
    let sequential = aggregate_block(&proved.proof).expect("the block aggregates");
    let sequential_v3 = AggregatedProof::new(&proved.proof, &sequential)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(overlapped.root_proof_bytes, sequential.root_proof_bytes);
    assert!(overlapped_v3 == sequential_v3, "the v3 files differ");

    // And it verifies.
    let (version, block) =
        slotproof::verify_block_proof_version(&overlapped_v3).expect("block proof v3 verifies");
    assert_eq!(version, AGGREGATED_PROOF_VERSION);
    assert_eq!(block, proved.proof.block);
}

#[test]
fn babybear_shards_are_not_aggregated() {
    let result = BlockProver::builder()
        .field(slotproof::Field::BabyBear)
        .aggregate(true)
        .build()
        .prove(&transfers());
    assert!(
        matches!(result, Err(slotproof::ProveError::Settings(_))),
        "{:?}",
        result.err()
    );
}
