//! A generated block of 8 Mgas (the project's `mixed` pattern repeated) cut into at least four
//! shards over several subblocks aggregates into one proof: leaves, internal nodes over leaves
//! and over internal nodes, across subblock seams, and the root; block proof v3 of it verifies
//! and names the block. (Several minutes on 2 cores in the test profile.)

use slotproof::BlockProver;
use slotproof::aggregate::{AggregationProgress, aggregate_block_with_progress};
use slotproof::aggregated::AggregatedProof;
use slotproof::executor::BlockInput;
use slotproof::executor::generate::{fixture_text, generate_scaled};
use slotproof::recursion::tree::{NodeKind, tree_node_count};
use std::sync::Mutex;

#[test]
fn a_generated_8_mgas_block_of_four_or_more_shards_gives_one_proof() {
    let scaled = generate_scaled(8_000_000).expect("the generator makes an 8 Mgas block");
    let input = BlockInput::from_json_str(&fixture_text(&scaled.json).unwrap()).unwrap();
    let proved = BlockProver::builder()
        .max_shard_rows(1 << 15)
        .build()
        .prove(&input)
        .expect("the block proves");
    let shards = proved.proof.shards.len();
    assert!(proved.execution.gas_used >= 8_000_000);
    assert!(shards >= 4, "{shards} shards");
    assert!(proved.proof.subblocks.len() >= 2);

    let reported = Mutex::new(Vec::new());
    let agg = aggregate_block_with_progress(&proved.proof, &|p| reported.lock().unwrap().push(p))
        .expect("the block aggregates and its root checks");
    let reported = reported.into_inner().unwrap();
    assert_eq!(
        reported.first(),
        Some(&AggregationProgress::NodesPlanned(tree_node_count(shards)))
    );
    let count = |kind| {
        reported
            .iter()
            .filter(|p| **p == AggregationProgress::NodeProven(kind))
            .count()
    };
    assert_eq!(count(NodeKind::ShardLeaf), shards);
    assert_eq!(count(NodeKind::Internal), shards - 1);
    assert_eq!(count(NodeKind::Root), 1);
    eprintln!(
        "{} Mgas, {shards} shards: leaves {:?}, internal {:?}, root {:?}; root proof {} bytes",
        proved.execution.gas_used as f64 / 1e6,
        agg.times.leaves,
        agg.times.internal,
        agg.times.root,
        agg.root_proof_bytes
    );

    let v3 = AggregatedProof::new(&proved.proof, &agg)
        .unwrap()
        .to_bytes()
        .unwrap();
    let (version, block) =
        slotproof::verify_block_proof_version(&v3).expect("block proof v3 verifies");
    assert_eq!(version, slotproof::aggregated::AGGREGATED_PROOF_VERSION);
    assert_eq!(block, proved.proof.block);
    assert!(v3.len() < 300 * 1024, "{} bytes", v3.len());
}
