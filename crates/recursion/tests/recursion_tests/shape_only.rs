//! The tree's circuits follow from shapes alone: a leaf circuit built in shape-only mode from a
//! placeholder shard proof (an unchecked prover's proof of all-zero traces at the real proof's
//! heights, zero public values) has the same verifying key as the leaf of the real shard proof.
//! So a verifier can derive keys from the shard shapes a proof's claims name, without the shard
//! proofs. The placeholder is not a valid proof: building a real leaf from it is refused.

use p3_air::BaseAir;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_prover::{CpuShardProver, FriSettings, ProverOptions, ShardProver};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::config::Val;
use slotproof_recursion::keys::NODE_LOG_ROWS;
use slotproof_recursion::leaf::{LEAF_SETTINGS, LeafCircuit};
use slotproof_recursion::tree::{
    NodeKind, TreeChild, TreeError, build_shard_leaf, circuit_of_shape, placeholder_node,
};

use crate::common;
use common::evm::transfers_first_shard;

fn vk_bytes(circuit: &LeafCircuit) -> Vec<u8> {
    let prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS);
    let key = circuit.keygen(&prover).expect("key");
    postcard::to_allocvec(&key.preprocessed_commitment()).expect("encode")
}

#[test]
fn a_leaf_circuit_follows_from_the_shard_shape_alone() {
    let settings = FriSettings::DEFAULT;
    let mut shard = transfers_first_shard();
    // A bound shard (its binding is what the leaf reads): any binding does.
    let binding = vec![Val::new(7); slotproof_air::shard::SHARD_BINDING_LEN];
    shard.bind(binding);
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("the shard proves");
    let data = prover.setup(&shard.airs, &proof.degree_bits).expect("key");
    let key = MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common).expect("key");
    let real = TreeChild {
        key: &key,
        proof: &proof,
        public_values: &shard.public_values,
    };
    let (leaf, _) = build_shard_leaf(real).expect("the real leaf builds");

    // The placeholder: zero traces at the same heights, zero public values, proven unchecked.
    let traces: Vec<RowMajorMatrix<Val>> = shard
        .airs
        .iter()
        .zip(&proof.degree_bits)
        .map(|(air, &bits)| {
            let width = BaseAir::<Val>::width(air);
            RowMajorMatrix::new(vec![Val::new(0); width << bits], width)
        })
        .collect();
    let zeros: Vec<Vec<Val>> = shard
        .public_values
        .iter()
        .map(|v| vec![Val::new(0); v.len()])
        .collect();
    let unchecked = ShardProver::cpu(settings).with_options(ProverOptions {
        check_witness: false,
    });
    let placeholder = unchecked
        .prove(&shard.airs, &traces, &zeros)
        .expect("an unchecked prover proves anything");
    assert_eq!(placeholder.degree_bits, proof.degree_bits);
    let fake = TreeChild {
        key: &key,
        proof: &placeholder,
        public_values: &zeros,
    };
    let of_shape = circuit_of_shape(NodeKind::ShardLeaf, &[fake]).expect("the shape's circuit");
    assert_eq!(of_shape.rows(), leaf.rows());
    assert_eq!(
        vk_bytes(&of_shape),
        vk_bytes(&leaf),
        "the shape's circuit is the real leaf's"
    );
    assert!(matches!(
        build_shard_leaf(fake),
        Err(TreeError::ChildRejected { child: 0, .. })
    ));
}

/// Internal nodes and the root take their children's keys as inputs and every node has the
/// node shape, so their programs do not depend on which nodes they verify: an internal node
/// over two leaves is the one over an internal node and a leaf, and the root over a leaf is
/// the root over an internal node. So there is one internal and one root program.
#[test]
fn internal_and_root_programs_do_not_depend_on_their_children() {
    let settings = FriSettings::DEFAULT;
    let shard = transfers_first_shard();
    let unchecked: CpuShardProver<Val> = ShardProver::cpu(settings).with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("the shard proves");
    let data = unchecked
        .setup(&shard.airs, &proof.degree_bits)
        .expect("key");
    let key = MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common).expect("key");
    let child = TreeChild {
        key: &key,
        proof: &proof,
        public_values: &shard.public_values,
    };
    let leaf = circuit_of_shape(NodeKind::ShardLeaf, &[child]).expect("leaf");
    assert_eq!(
        leaf.rows()
            .iter()
            .map(|r| r.padded_rows)
            .collect::<Vec<_>>(),
        NODE_LOG_ROWS.map(|b| 1usize << b),
        "a leaf has the node shape"
    );
    let leaf = placeholder_node(LEAF_SETTINGS, leaf).expect("leaf placeholder");
    let lpv = leaf.instance_public_values();
    let over_leaves =
        circuit_of_shape(NodeKind::Internal, &[leaf.child(&lpv), leaf.child(&lpv)]).expect("node");
    let internal = placeholder_node(LEAF_SETTINGS, over_leaves.clone()).expect("node placeholder");
    let ipv = internal.instance_public_values();
    let over_mixed = circuit_of_shape(
        NodeKind::Internal,
        &[internal.child(&ipv), leaf.child(&lpv)],
    )
    .expect("node");
    assert!(over_leaves == over_mixed, "one internal program");
    assert_eq!(vk_bytes(&over_leaves), vk_bytes(&over_mixed));

    let root_over_leaf = circuit_of_shape(NodeKind::Root, &[leaf.child(&lpv)]).expect("root");
    let root_over_node = circuit_of_shape(NodeKind::Root, &[internal.child(&ipv)]).expect("root");
    assert!(root_over_leaf == root_over_node, "one root program");
}
