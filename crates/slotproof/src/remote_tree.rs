//! The aggregation tree proven node by node where the nodes may be proven on other machines
//! (distributed proving, `slotproof-node`'s Redis workers): a leaf over one shard proof, an
//! internal node over two nodes' bytes, and, on the coordinator, the root and the checks.
//!
//! A node crosses machines as [`ProvenNode::to_bytes`] (its program, proof and public values);
//! the receiver makes the node's verifying key again from the program (once per program), so
//! a node is proven exactly as [`crate::aggregate::aggregate_block`] proves it: proofs are
//! deterministic, and the root, and the v3 file, are the same bytes. Which children an internal
//! node takes is [`slotproof_recursion::schedule::TreeSchedule`]'s pairing, as in one process.

use std::time::{Duration, Instant};

use slotproof_prover::{CpuBackend, KoalaBear};
use slotproof_recursion::schedule::{NodeAt, internal_order};
use slotproof_recursion::tree::{InternalKey, LayerTimes, ProvenNode, ProvenTree, TreeChild};

use crate::aggregate::{AggregateError, AggregatedBlock, check_aggregation};
use crate::leaf::decode_shard_proof;
use crate::proof::{BlockProof, ShardProof};
use crate::tree_jobs::{NodeProvers, NodeProving};

/// A leaf proven for a remote parent.
pub struct ProvenLeaf {
    /// [`ProvenNode::to_bytes`].
    pub bytes: Vec<u8>,
    /// Its verifying key as values (the root's leaf-key digest takes it).
    pub key: InternalKey,
    pub time: Duration,
    /// The shard proof's degree bits (its tables' log heights), which the coordinator's
    /// [`NodeJobProver::finish`] takes rather than decode every shard proof again.
    pub degree_bits: Vec<usize>,
}

/// What the coordinator keeps of a leaf proven elsewhere: [`ProvenLeaf`] without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafReport {
    pub key: InternalKey,
    pub degree_bits: Vec<usize>,
    pub time: Duration,
}

/// Proves tree nodes one at a time on the CPU (one per worker process: it keeps the keys it
/// made, one per program).
pub struct NodeJobProver {
    provers: NodeProvers<CpuBackend<KoalaBear>>,
}

impl Default for NodeJobProver {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeJobProver {
    pub fn new() -> Self {
        Self {
            provers: NodeProvers::new(CpuBackend::<KoalaBear>::new),
        }
    }

    /// The leaf over shard `shard`'s proof.
    pub fn leaf(&self, shard: usize, proof: &ShardProof) -> Result<ProvenLeaf, AggregateError> {
        let start = Instant::now();
        let decoded = decode_shard_proof(shard, proof)?;
        let leaf = self.provers.leaf(TreeChild {
            key: &decoded.key,
            proof: &decoded.proof,
            public_values: &decoded.public_values,
        })?;
        Ok(ProvenLeaf {
            key: leaf.key_values()?,
            bytes: leaf.to_bytes()?,
            time: start.elapsed(),
            degree_bits: decoded.proof.degree_bits,
        })
    }

    /// The internal node over two nodes' bytes (left, then right); its bytes.
    pub fn internal(&self, left: &[u8], right: &[u8]) -> Result<Vec<u8>, AggregateError> {
        let left = self.decode(left)?;
        let right = self.decode(right)?;
        Ok(self.provers.internal(&left, &right)?.to_bytes()?)
    }

    fn decode(&self, bytes: &[u8]) -> Result<ProvenNode, AggregateError> {
        Ok(ProvenNode::from_bytes(
            bytes,
            &self.provers.node,
            &self.provers.keys,
        )?)
    }

    /// The root over the top node's bytes, checked as [`crate::aggregate::aggregate_block`]
    /// checks its own: `proof` is the block's shard list; `leaves` each shard's leaf as its
    /// worker reported it ([`ProvenLeaf`]: key, degree bits, time), in shard order;
    /// `internal_times` what the internal nodes took where they ran. Reported keys or degree
    /// bits that are not the shard's fail the checks (the fixed leaf key of the bits must be
    /// the key, and the root's key digest is over the keys the leaves were proven with).
    pub fn finish(
        &self,
        proof: &BlockProof,
        top: &[u8],
        leaves: Vec<LeafReport>,
        internal_times: Vec<(NodeAt, Duration)>,
    ) -> Result<AggregatedBlock, AggregateError> {
        let shards = proof.shards.len();
        if leaves.len() != shards {
            return Err(AggregateError::Internal(format!(
                "{} leaves for {shards} shards",
                leaves.len()
            )));
        }
        let top = self.decode(top)?;
        let start = Instant::now();
        let (root, root_key, root_keygen) = self.provers.root(&top)?;
        let internal_key = self.provers.internal_key(&top)?;
        let root_time = start.elapsed();
        let mut leaf_keys = Vec::with_capacity(shards);
        let mut leaf_times = Vec::with_capacity(shards);
        let mut shard_degree_bits = Vec::with_capacity(shards);
        for leaf in leaves {
            leaf_keys.push(leaf.key);
            leaf_times.push(leaf.time);
            shard_degree_bits.push(leaf.degree_bits);
        }
        let mut internal = internal_times;
        internal.sort_unstable_by_key(|&(at, _)| internal_order(shards, at));
        let tree = ProvenTree {
            root,
            root_key,
            times: LayerTimes {
                leaves: leaf_times,
                internal: internal.into_iter().map(|(_, d)| d).collect(),
                root: root_time,
                root_keygen,
            },
            internal_key,
            leaf_keys,
        };
        check_aggregation(proof, tree, shard_degree_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockProver;
    use p3_field::PrimeCharacteristicRing;
    use slotproof_executor::BlockInput;
    use slotproof_recursion::tree::TreeError;

    /// A node from another machine is bytes: garbage and truncated bytes are encoding errors,
    /// and a node whose public values were changed in transit is rejected by its parent (the
    /// parent verifies every child), each a typed error, never a panic.
    #[test]
    fn bad_node_bytes_are_typed_errors_and_a_changed_node_is_rejected_by_its_parent() {
        let input = BlockInput::from_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/transfers.json"
        ))
        .unwrap();
        let proved = BlockProver::builder().build().prove(&input).unwrap();
        let prover = NodeJobProver::new();
        let leaf = prover.leaf(0, &proved.proof.shards[0]).unwrap();

        for bad in [&b"not a node"[..], &leaf.bytes[..leaf.bytes.len() / 2]] {
            match prover.internal(bad, &leaf.bytes) {
                Err(AggregateError::Tree(TreeError::Encoding(_))) => {}
                other => panic!("expected an encoding error, got {:?}", other.err()),
            }
        }

        let mut node =
            ProvenNode::from_bytes(&leaf.bytes, &prover.provers.node, &prover.provers.keys)
                .unwrap();
        node.proof.public_values[0] += slotproof_recursion::config::Val::from_u32(1);
        let changed = node.to_bytes().unwrap();
        match prover.internal(&changed, &leaf.bytes) {
            Err(AggregateError::Tree(TreeError::ChildRejected { child: 0, .. })) => {}
            other => panic!("expected the changed child rejected, got {:?}", other.err()),
        }
    }
}
