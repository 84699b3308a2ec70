//! Aggregation of a block proof's shard proofs into one root recursion proof (issue 13, part 2):
//! a leaf per shard, internal nodes that check in-circuit that the shards chain, and a root
//! proven with small-proof settings (`slotproof_recursion::tree`).
//!
//! [`check_root_claims`] is what a verifier of an aggregated proof checks besides the root proof
//! itself: the root publishes the block binding and the tree digest of every shard's subblock
//! binding; the verifier recomputes both from the block and subblock claims (and which subblock
//! each shard proves) and compares.
//!
//! [`aggregate_block`] checks the root with the key its own run made; block proof v3
//! ([`crate::aggregated`]) is what a verifier without the shard proofs reads.

use std::time::{Duration, Instant};

use slotproof_air::shard::{block_binding, subblock_binding};
use slotproof_prover::prover::ShardKey;
use slotproof_prover::{Backend, CpuBackend, CpuShardProver, ShardProver, proof_to_bytes};
use slotproof_prover::{FriSettings, SecurityLevel};
use slotproof_recursion::chain::ROOT_VALUES_LEN;
use slotproof_recursion::chain::{ChainError, RootValues};
use slotproof_recursion::config::{ShardConfig, Val};
use slotproof_recursion::keys::RootKeys;
use slotproof_recursion::leaf::LEAF_SETTINGS;
use slotproof_recursion::root::ROOT_SETTINGS;
use slotproof_recursion::tree::native::{expected_root_keys, expected_root_values};
use slotproof_recursion::tree::{InternalKey, ROOT_PUBLIC_LEN};
use slotproof_recursion::tree::{
    LayerTimes, NodeKind, ProvenNode, ProvenTree, TreeChild, TreeError, prove_tree, tree_node_count,
};
use thiserror::Error;

use crate::leaf::{DecodedShard, ShardLeafError, decode_shard, verify_leaf};
use crate::proof::{BlockProof, BlockPublicValues, SubblockPublicValues};

/// Why a block proof cannot be aggregated, or its root does not check.
#[derive(Debug, Error)]
pub enum AggregateError {
    #[error("the block proof has no shards (a block without EVM steps)")]
    NoShards,
    #[error(transparent)]
    Shard(#[from] ShardLeafError),
    #[error("the aggregation tree: {0}")]
    Tree(#[from] TreeError),
    #[error("the root proof: {0}")]
    Root(#[from] slotproof_recursion::leaf::LeafError),
    #[error("encoding the root proof: {0}")]
    Encode(String),
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// The recursion programs are not the ones whose keys verifiers hold (a change to the
    /// recursion circuits, the EVM chips or the shape menu without regenerating
    /// `crate::tree_keys::fixed`).
    #[error(
        "the recursion programs are not the ones verifiers hold: regenerate the fixed keys \
         (SLOTPROOF_WRITE_FIXED_KEYS=1 cargo test -p slotproof --test fixed_keys)"
    )]
    StaleFixedKeys,
    /// A broken invariant of the aggregation itself (a bug to report, not bad input).
    #[error("internal error (please report): {0}")]
    Internal(String),
}

/// Why a root's public values are not the ones the claims give.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClaimsError {
    #[error("the root's public values have the wrong shape: {0}")]
    Shape(ChainError),
    #[error("shard {shard} names subblock {subblock}, which the claims do not have")]
    NoSuchSubblock { shard: usize, subblock: u32 },
    #[error("no shards")]
    NoShards,
    #[error("the root is bound to another block than the claims'")]
    BlockBinding,
    #[error("the root's digest of subblock bindings is not the claims'")]
    SubblockDigest,
    /// The root names another internal program than the verifier's (the allowed set of
    /// recursion programs differs: a proof made by another version, or a forged tree).
    #[error("the root names another internal recursion program than this verifier's")]
    InternalKey,
    /// A leaf was proven under another program than the one its shard's shape gives.
    #[error("the root's digest of leaf keys is not the one the shards' shapes give")]
    LeafKeys,
    #[error("block context: {0}")]
    Context(String),
    #[error("shard {shard} names subblock {subblock}: shards must follow the subblocks in order")]
    ShardOrder { shard: usize, subblock: u32 },
    #[error("subblock {subblock} has {steps} steps but no shard, or shards but no steps")]
    ShardCoverage { subblock: u32, steps: u64 },
    #[error("subblock {subblock} claims {steps} steps, more than a field element counts")]
    Steps { subblock: u32, steps: u64 },
}

/// The shard list covers the subblocks: in subblock order, every subblock with steps has a
/// shard and none without has one. (The circuit checks that shards chain and that each
/// subblock's shards start and end it; that no subblock is left out is the claims' side.)
fn check_shard_list(
    subblocks: &[SubblockPublicValues],
    shard_subblocks: &[u32],
) -> Result<(), ClaimsError> {
    for (shard, pair) in shard_subblocks.windows(2).enumerate() {
        if pair[1] < pair[0] {
            return Err(ClaimsError::ShardOrder {
                shard: shard + 1,
                subblock: pair[1],
            });
        }
    }
    for (shard, &i) in shard_subblocks.iter().enumerate() {
        if i as usize >= subblocks.len() {
            return Err(ClaimsError::NoSuchSubblock { shard, subblock: i });
        }
    }
    for (i, s) in subblocks.iter().enumerate() {
        // Steps are compared with a field element in the circuit: keep them far below p.
        if s.steps >= 1 << 30 {
            return Err(ClaimsError::Steps {
                subblock: s.index,
                steps: s.steps,
            });
        }
        let has_shards = shard_subblocks.contains(&(i as u32));
        if has_shards != (s.steps > 0) {
            return Err(ClaimsError::ShardCoverage {
                subblock: s.index,
                steps: s.steps,
            });
        }
    }
    Ok(())
}

/// The root values the claims give: the block binding, and the tree digest of the subblock
/// binding (and the block context, `crate::context`) of each shard (`shard_subblocks[k]`: the subblock shard `k` proves). The shard list
/// must cover the subblocks in order.
pub fn claimed_root_values(
    block: &BlockPublicValues,
    subblocks: &[SubblockPublicValues],
    shard_subblocks: &[u32],
) -> Result<RootValues<Val>, ClaimsError> {
    check_shard_list(subblocks, shard_subblocks)?;
    let bindings = shard_subblocks
        .iter()
        .enumerate()
        .map(|(shard, &i)| {
            subblocks
                .get(i as usize)
                .map(|s| subblock_binding::<Val>(&s.claim()))
                .ok_or(ClaimsError::NoSuchSubblock { shard, subblock: i })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let context = crate::verify::context_values::<Val>(block)
        .map_err(|e| ClaimsError::Context(e.to_string()))?;
    expected_root_values(&block_binding::<Val>(&block.claim()), &context, &bindings)
        .ok_or(ClaimsError::NoShards)
}

/// Check a root's public values against the claims: the shard list covers the subblocks in
/// order, and the root's values are [`claimed_root_values`]. (That the subblock claims cover
/// the block and continue each other's state is `crate::check_public_values`.)
pub fn check_root_claims(
    root_public_values: &[Val],
    block: &BlockPublicValues,
    subblocks: &[SubblockPublicValues],
    shard_subblocks: &[u32],
) -> Result<(), ClaimsError> {
    let values = root_public_values
        .get(..ROOT_VALUES_LEN)
        .ok_or_else(|| ClaimsError::Shape(ChainError::Shape("too few root values".into())))?;
    let root = RootValues::from_slice(values).map_err(ClaimsError::Shape)?;
    let claimed = claimed_root_values(block, subblocks, shard_subblocks)?;
    if root.block != claimed.block {
        return Err(ClaimsError::BlockBinding);
    }
    if root.digest != claimed.digest {
        return Err(ClaimsError::SubblockDigest);
    }
    Ok(())
}

/// The root's key values (after its [`RootValues`]) as a verifier holding `expected` accepts
/// them: the same internal program, the same leaf keys.
pub fn check_root_keys(
    root_public_values: &[Val],
    expected: &RootKeys<Val>,
) -> Result<(), ClaimsError> {
    let shape = |what: String| ClaimsError::Shape(ChainError::Shape(what));
    if root_public_values.len() != ROOT_PUBLIC_LEN {
        return Err(shape(format!(
            "{} root public values, expected {ROOT_PUBLIC_LEN}",
            root_public_values.len()
        )));
    }
    let keys = RootKeys::from_slice(&root_public_values[ROOT_VALUES_LEN..])
        .map_err(|e| shape(e.to_string()))?;
    if keys.internal_key != expected.internal_key {
        return Err(ClaimsError::InternalKey);
    }
    if keys.leaf_keys != expected.leaf_keys {
        return Err(ClaimsError::LeafKeys);
    }
    Ok(())
}

/// The root circuit's verifying key on the CPU backend.
pub type RootVerifyingKey =
    ShardKey<ShardConfig, <CpuBackend<Val> as Backend<ShardConfig>>::Committed>;

/// An aggregated block: the root proof and what each layer cost.
pub struct AggregatedBlock {
    pub root: ProvenNode,
    pub times: LayerTimes,
    /// The root proof's bytes (postcard, as the shard proofs are encoded).
    pub root_proof_bytes: usize,
    /// Checking the root: the stock verifier under the root circuit's key, then the claims.
    pub verify_time: Duration,
    /// Making the root circuit's verifying key (the prover's; a verifier holds it as a
    /// constant, `crate::tree_keys::fixed`).
    pub root_keygen_time: Duration,
    /// Each shard's EVM tables' log heights (its shape).
    pub shard_degree_bits: Vec<Vec<usize>>,
    /// The internal program's key and each shard's leaf key, as values (what a verifier of
    /// these shapes holds: [`crate::tree_keys`]).
    pub internal_key: InternalKey,
    pub leaf_keys: Vec<InternalKey>,
}

/// What [`aggregate_block_with_progress`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregationProgress {
    /// The tree over the block's shards proves this many nodes in all (leaves, internal
    /// nodes, root).
    NodesPlanned(usize),
    /// A node of this kind is proven.
    NodeProven(NodeKind),
}

/// One proof layer of an aggregated block proof and the FRI settings it is proven under.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    pub name: &'static str,
    pub settings: FriSettings,
}

/// Every layer of an aggregated block proof, bottom up: EVM shard proofs, the recursion
/// layers that verify them (leaves and internal nodes share settings), the root. A block
/// proof is as strong as its weakest layer.
pub const LAYERS: [Layer; 3] = [
    Layer {
        name: "shard",
        settings: FriSettings::DEFAULT,
    },
    Layer {
        name: "leaf and internal",
        settings: LEAF_SETTINGS,
    },
    Layer {
        name: "root",
        settings: ROOT_SETTINGS,
    },
];

/// Each layer's conjectured security (the project's toy formula and Plonky3's estimate).
pub fn layer_security() -> Vec<(&'static str, SecurityLevel)> {
    LAYERS
        .iter()
        .map(|l| (l.name, l.settings.security::<Val>()))
        .collect()
}

/// Aggregate `proof`'s shard proofs (KoalaBear) on the CPU, then check the root: the stock
/// verifier accepts it under its circuit's key, and its public values are the claims'.
pub fn aggregate_block(proof: &BlockProof) -> Result<AggregatedBlock, AggregateError> {
    aggregate_block_with_progress(proof, &|_| {})
}

/// [`aggregate_block`], reporting each node as it is proven.
pub fn aggregate_block_with_progress(
    proof: &BlockProof,
    progress: &dyn Fn(AggregationProgress),
) -> Result<AggregatedBlock, AggregateError> {
    if proof.shards.is_empty() {
        return Err(AggregateError::NoShards);
    }
    let shards: Vec<DecodedShard> = (0..proof.shards.len())
        .map(|k| decode_shard(proof, k))
        .collect::<Result<_, _>>()?;
    let children: Vec<TreeChild<'_>> = shards
        .iter()
        .map(|s| TreeChild {
            key: &s.key,
            proof: &s.proof,
            public_values: &s.public_values,
        })
        .collect();
    let node_prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS);
    let root_prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
    progress(AggregationProgress::NodesPlanned(tree_node_count(
        children.len(),
    )));
    let tree = prove_tree(&node_prover, &root_prover, &children, &|kind| {
        progress(AggregationProgress::NodeProven(kind))
    })?;
    check_aggregation(
        proof,
        tree,
        shards.iter().map(|s| s.proof.degree_bits.clone()).collect(),
    )
}

/// Check a proven tree over `proof`'s shards (`shard_degree_bits`: each shard's EVM tables'
/// log heights) and describe it: the stock verifier accepts the root under the key it was
/// proven with, and the root's public values are the claims'.
pub(crate) fn check_aggregation(
    proof: &BlockProof,
    tree: ProvenTree<RootVerifyingKey>,
    shard_degree_bits: Vec<Vec<usize>>,
) -> Result<AggregatedBlock, AggregateError> {
    let root_proof_bytes = proof_to_bytes(&tree.root.proof.proof)
        .map_err(|e| AggregateError::Encode(e.to_string()))?
        .len();

    // The key the root was proven under (made once, by the tree's prover).
    let key = tree.root_key;
    let root_keygen_time = tree.times.root_keygen;
    let root_prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
    let start = Instant::now();
    verify_leaf(&root_prover, &key, &tree.root.circuit, &tree.root.proof)?;
    let shard_subblocks: Vec<u32> = proof.shards.iter().map(|s| s.subblock).collect();
    check_root_claims(
        &tree.root.proof.public_values,
        &proof.block,
        &proof.subblocks,
        &shard_subblocks,
    )?;
    // The programs must be the ones verifiers hold, or no verifier accepts the proof.
    let fixed_leaves = shard_degree_bits
        .iter()
        .map(|bits| crate::tree_keys::leaf_key(bits))
        .collect::<Option<Vec<_>>>();
    if tree.internal_key != crate::tree_keys::internal_key()
        || fixed_leaves.as_ref() != Some(&tree.leaf_keys)
    {
        return Err(AggregateError::StaleFixedKeys);
    }
    let expected_keys =
        expected_root_keys(&tree.internal_key, &tree.leaf_keys).ok_or(ClaimsError::NoShards)?;
    check_root_keys(&tree.root.proof.public_values, &expected_keys)?;
    let verify_time = start.elapsed();
    Ok(AggregatedBlock {
        root: tree.root,
        times: tree.times,
        root_proof_bytes,
        verify_time,
        root_keygen_time,
        shard_degree_bits,
        internal_key: tree.internal_key,
        leaf_keys: tree.leaf_keys,
    })
}
