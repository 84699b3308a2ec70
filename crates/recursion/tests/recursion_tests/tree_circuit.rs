//! The aggregation tree's circuits on real EVM shard proofs (`fixtures/transfers.json`, three
//! small shards over two subblocks): leaves, internal nodes (one over a subblock seam, one over
//! an internal node and a leaf of one subblock) and the root prove, the stock verifier accepts
//! the root, and the root publishes the block binding and the digest the claims give. Children
//! that do not chain give no node, with the chaining check's error. Per-layer times go to
//! stderr (`--nocapture`); nothing depends on them.

use slotproof_air::shard::{block_binding, subblock_binding};
use slotproof_prover::{CpuShardProver, FriSettings, ShardProver};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::chain::{ChainError, ROOT_VALUES_LEN, RootValues};
use slotproof_recursion::config::{ShardProof, Val};
use slotproof_recursion::keys::{KEY_LEN, KeyError, RootKeys};
use std::cell::Cell;
use std::time::Instant;

use p3_field::PrimeCharacteristicRing;
use slotproof_recursion::leaf::{LEAF_SETTINGS, LeafProof, verify_leaf};
use slotproof_recursion::root::ROOT_SETTINGS;
use slotproof_recursion::tree::native::{expected_root_keys, expected_root_values};
use slotproof_recursion::tree::{
    LayerTimes, NodeKind, TreeChild, TreeError, TreeKeys, build_internal, build_root,
    internal_key_of, prove_internal_node, prove_leaves, prove_upper_layers, tree_node_count,
};

use crate::common;
use common::evm::bound_shards;

struct ProvenShard {
    key: MirrorKey,
    proof: ShardProof,
    public_values: Vec<Vec<Val>>,
}

impl ProvenShard {
    fn child(&self) -> TreeChild<'_> {
        TreeChild {
            key: &self.key,
            proof: &self.proof,
            public_values: &self.public_values,
        }
    }
}

#[test]
fn a_tree_over_three_shards_proves_and_its_root_publishes_the_claims() {
    let b = bound_shards("transfers.json", 100_000, 128);
    let subblocks: Vec<u64> = b.shards.iter().map(|(i, _)| *i).collect();
    assert_eq!(subblocks.len(), 3, "three shards: {subblocks:?}");
    assert!(subblocks[0] != subblocks[1] && subblocks[1] == subblocks[2]);

    let shard_prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let shards: Vec<ProvenShard> = b
        .shards
        .iter()
        .map(|(_, s)| {
            let proof = shard_prover
                .prove(&s.airs, &s.traces, &s.public_values)
                .expect("the shard proves");
            let data = shard_prover
                .setup(&s.airs, &proof.degree_bits)
                .expect("shard key");
            let key = MirrorKey::new(
                FriSettings::DEFAULT,
                &s.airs,
                &proof.degree_bits,
                &data.common,
            )
            .expect("mirror key");
            ProvenShard {
                key,
                proof,
                public_values: s.public_values.clone(),
            }
        })
        .collect();
    let children: Vec<TreeChild<'_>> = shards.iter().map(ProvenShard::child).collect();

    let node_prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS);
    let root_prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
    let mut times = LayerTimes::default();
    // Every node proven is reported once: a leaf per shard, the internal nodes, the root.
    let proven: Cell<Vec<NodeKind>> = Cell::new(Vec::new());
    let on_node = |kind| {
        let mut kinds = proven.take();
        kinds.push(kind);
        proven.set(kinds);
    };
    let leaves =
        prove_leaves(&node_prover, &children, &mut times, &on_node).expect("the leaves prove");

    // Children out of order: the leaves of shards 2 and 1 (one subblock) do not chain.
    let pv: Vec<Vec<Vec<Val>>> = leaves.iter().map(|l| l.instance_public_values()).collect();
    let no_key = [Val::ZERO; KEY_LEN];
    match build_internal(&[leaves[2].child(&pv[2]), leaves[1].child(&pv[1])], &no_key) {
        Err(TreeError::Chain(ChainError::StepsRepeated { .. })) => {}
        other => panic!("swapped children gave {:?}", other.err()),
    }
    // A root over a leaf that does not end its subblock.
    match build_root(leaves[1].child(&pv[1]), &no_key) {
        Err(TreeError::Chain(ChainError::SubblockNotEnded { .. })) => {}
        other => panic!("a partial top gave {:?}", other.err()),
    }
    // A node over leaves of one subblock with the one between them dropped is not formed
    // either: the first leaf ends subblock 0's only shard, the third starts mid-subblock.
    match build_internal(&[leaves[0].child(&pv[0]), leaves[2].child(&pv[2])], &no_key) {
        Err(TreeError::Chain(ChainError::SubblockNotStarted { .. })) => {}
        other => panic!("a dropped shard gave {:?}", other.err()),
    }

    // An internal child under another internal key than its own: refused. (The node over
    // leaves 0 and 1, then a node over it and leaf 2 told a wrong internal key.)
    let keys = TreeKeys::new();
    let n01 = prove_internal_node(&node_prover, &keys, &leaves[0], &leaves[1]).expect("node");
    let n01_pv = n01.instance_public_values();
    let mut wrong = internal_key_of(&node_prover, &keys, &n01).expect("internal key");
    wrong[0] += Val::ONE;
    match build_internal(&[n01.child(&n01_pv), leaves[2].child(&pv[2])], &wrong) {
        Err(TreeError::Keys(KeyError::NotInternalKey)) => {}
        other => panic!("a wrong internal key gave {:?}", other.err()),
    }

    let tree = prove_upper_layers(&node_prover, &root_prover, leaves, times, &on_node)
        .expect("the upper layers prove");
    let kinds = proven.take();
    assert_eq!(kinds.len(), tree_node_count(children.len()));
    assert_eq!(
        kinds,
        [
            vec![NodeKind::ShardLeaf; 3],
            vec![NodeKind::Internal; 2],
            vec![NodeKind::Root]
        ]
        .concat()
    );
    let root = &tree.root;
    // The stock verifier accepts the root under its own circuit's key.
    let key = root.circuit.keygen(&root_prover).expect("root key");
    let start = Instant::now();
    verify_leaf(&root_prover, &key, &root.circuit, &root.proof).expect("the root verifies");
    let verify_time = start.elapsed();

    let bindings: Vec<Vec<Val>> = subblocks
        .iter()
        .map(|&i| subblock_binding(&b.subblocks[i as usize]))
        .collect();
    let expected =
        expected_root_values(&block_binding(&b.block), &b.context, &bindings).expect("shards");
    let (values, keys) = root.proof.public_values.split_at(ROOT_VALUES_LEN);
    assert_eq!(
        RootValues::from_slice(values).expect("root layout"),
        expected,
        "the root publishes the block binding and the claims' digest"
    );
    assert_eq!(
        RootKeys::from_slice(keys).expect("root key layout"),
        expected_root_keys(&tree.internal_key, &tree.leaf_keys).expect("shards"),
        "the root publishes the internal key and the leaves' keys"
    );
    assert_eq!(
        tree.internal_key,
        n01.key_values().expect("key"),
        "one internal program"
    );
    let bytes = slotproof_prover::proof_to_bytes(&root.proof.proof).expect("encode");
    eprintln!(
        "leaves {:?}, internal {:?}, root {:?}; root proof {} bytes (postcard), verified in {:?}",
        tree.times.leaves,
        tree.times.internal,
        tree.times.root,
        bytes.len(),
        verify_time
    );

    // Another public value is another statement.
    let mut forged: LeafProof = tree.root.proof;
    forged.public_values[0] += Val::ONE;
    assert!(verify_leaf(&root_prover, &key, &tree.root.circuit, &forged).is_err());
}
