//! Aggregation overlapped with shard proving (issue 13, item 5): the aggregation tree's nodes as
//! jobs that the pipeline's lanes run between shard proofs.
//!
//! A shard's leaf is a job as soon as its shard proof exists, an internal node as soon as both
//! its children are proven, and the root once the top node is: the pairing is
//! [`TreeSchedule`]'s, which is `fold_tree`'s for the number of shards whatever the order in
//! which proofs finish, and each node's inputs are its children's proofs in order. Proofs are
//! deterministic, so the root, and the v3 file, are byte for byte those of
//! [`crate::aggregate::aggregate_block`] run after the whole block is proven.
//!
//! A child's proof is dropped as soon as its parent is proven, and a shard's decoded proof as
//! soon as its leaf is; the shard proof bytes themselves stay with the pipeline, since the
//! block proof (v2, and the shard list of v3) needs them.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use slotproof_prover::{Backend, CpuShardProver, ShardProver};
use slotproof_recursion::config::{ShardConfig, Val};
use slotproof_recursion::leaf::LEAF_SETTINGS;
use slotproof_recursion::root::ROOT_SETTINGS;
use slotproof_recursion::schedule::{NodeAt, Ready, TreeSchedule, internal_order};
use slotproof_recursion::tree::{
    InternalKey, LayerTimes, NodeKey, NodeKind, ProvenNode, ProvenTree, TreeChild, TreeError,
    TreeKeys, internal_key_of, prove_internal_node, prove_leaf_node, prove_root_node,
    tree_node_count,
};

use crate::aggregate::{AggregateError, AggregationProgress, RootVerifyingKey};
use crate::leaf::decode_shard_proof;
use crate::proof::ShardProof;

/// The recursion provers of one lane (the CPU, or one CUDA stream), whichever backend.
pub(crate) trait NodeProving: Sync {
    fn leaf(&self, shard: TreeChild<'_>) -> Result<ProvenNode, TreeError>;
    fn internal(&self, left: &ProvenNode, right: &ProvenNode) -> Result<ProvenNode, TreeError>;
    /// The root over `top`, its key on the CPU backend (what checks it here) and the time
    /// making the keys took.
    fn root(&self, top: &ProvenNode)
    -> Result<(ProvenNode, RootVerifyingKey, Duration), TreeError>;
    /// The internal program's key as values (made once; the root publishes it).
    fn internal_key(&self, node: &ProvenNode) -> Result<InternalKey, TreeError>;
}

/// The leaf/internal prover and the root prover on backend `B`, with the keys made so far.
pub(crate) struct NodeProvers<B: Backend<ShardConfig>> {
    pub(crate) node: ShardProver<ShardConfig, B>,
    root: ShardProver<ShardConfig, B>,
    pub(crate) keys: TreeKeys<NodeKey<B>>,
}

impl<B: Backend<ShardConfig>> NodeProvers<B> {
    /// Provers at the leaf and root settings, each on a backend `make` builds.
    pub(crate) fn new(make: impl Fn(&slotproof_prover::FriSettings) -> B) -> Self {
        Self {
            node: ShardProver::with_backend(LEAF_SETTINGS, |_, s| make(s)),
            root: ShardProver::with_backend(ROOT_SETTINGS, |_, s| make(s)),
            keys: TreeKeys::new(),
        }
    }
}

impl<B> NodeProving for NodeProvers<B>
where
    B: Backend<ShardConfig> + 'static,
    B::Committed: 'static,
{
    fn leaf(&self, shard: TreeChild<'_>) -> Result<ProvenNode, TreeError> {
        prove_leaf_node(&self.node, &self.keys, shard)
    }

    fn internal(&self, left: &ProvenNode, right: &ProvenNode) -> Result<ProvenNode, TreeError> {
        prove_internal_node(&self.node, &self.keys, left, right)
    }

    fn internal_key(&self, node: &ProvenNode) -> Result<InternalKey, TreeError> {
        internal_key_of(&self.node, &self.keys, node)
    }

    fn root(
        &self,
        top: &ProvenNode,
    ) -> Result<(ProvenNode, RootVerifyingKey, Duration), TreeError> {
        let proven = prove_root_node(&self.node, &self.root, &self.keys, top)?;
        let key: Box<dyn Any> = Box::new(proven.key);
        match key.downcast::<RootVerifyingKey>() {
            Ok(key) => Ok((proven.root, *key, proven.keygen)),
            Err(_) => {
                // Another backend's key: the root is checked (and later proofs of its shapes
                // verified) on the CPU, under the CPU's key of the same circuit.
                let start = Instant::now();
                let cpu: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
                let key = proven.root.circuit.keygen(&cpu)?;
                Ok((proven.root, key, proven.keygen + start.elapsed()))
            }
        }
    }
}

/// One node of the tree, ready to be proven.
pub(crate) enum NodeJob {
    /// The leaf over shard `shard`'s proof.
    Leaf { shard: usize, proof: ShardProof },
    /// The internal node at `at` over its children, left then right.
    Internal {
        at: NodeAt,
        children: Box<(ProvenNode, ProvenNode)>,
    },
    /// The root over the top node.
    Root { top: Box<ProvenNode> },
}

impl From<Ready<ProvenNode>> for NodeJob {
    fn from(ready: Ready<ProvenNode>) -> Self {
        match ready {
            Ready::Internal { at, left, right } => NodeJob::Internal {
                at,
                children: Box::new((left, right)),
            },
            Ready::Root { top } => NodeJob::Root { top: Box::new(top) },
        }
    }
}

/// What the jobs have produced so far.
#[derive(Default)]
struct Done {
    leaves: BTreeMap<usize, Duration>,
    internal: BTreeMap<NodeAt, Duration>,
    shard_degree_bits: BTreeMap<usize, Vec<usize>>,
    leaf_keys: BTreeMap<usize, InternalKey>,
    internal_key: Option<InternalKey>,
    root: Option<(ProvenNode, RootVerifyingKey)>,
    root_time: Duration,
    root_keygen: Duration,
    shards: Option<usize>,
}

/// One block's aggregation tree while its shards are proven.
pub(crate) struct TreeJobs<'a> {
    schedule: Mutex<TreeSchedule<ProvenNode>>,
    done: Mutex<Done>,
    progress: &'a (dyn Fn(AggregationProgress) + Sync),
}

/// The overlapped tree, proven: the root, its CPU key, each layer's times and the shards'
/// shapes (what [`crate::aggregate::check_aggregation`] takes).
pub(crate) struct OverlappedTree {
    pub(crate) tree: ProvenTree<RootVerifyingKey>,
    pub(crate) shard_degree_bits: Vec<Vec<usize>>,
}

impl<'a> TreeJobs<'a> {
    pub(crate) fn new(progress: &'a (dyn Fn(AggregationProgress) + Sync)) -> Self {
        Self {
            schedule: Mutex::new(TreeSchedule::new()),
            done: Mutex::new(Done::default()),
            progress,
        }
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, TreeSchedule<ProvenNode>> {
        // Every update of the schedule is one call: a panic elsewhere leaves it whole.
        self.schedule.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn done(&self) -> std::sync::MutexGuard<'_, Done> {
        self.done.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The block has `shards` shards (known once the last one is cut): the jobs that became
    /// ready (nodes that move up, the root).
    pub(crate) fn shards_planned(&self, shards: usize) -> Vec<NodeJob> {
        self.done().shards = Some(shards);
        (self.progress)(AggregationProgress::NodesPlanned(tree_node_count(shards)));
        self.schedule()
            .set_leaf_count(shards)
            .into_iter()
            .map(NodeJob::from)
            .collect()
    }

    /// Prove `job` with `provers`; the job that became ready, if any.
    pub(crate) fn run(
        &self,
        job: NodeJob,
        provers: &dyn NodeProving,
    ) -> Result<Option<NodeJob>, AggregateError> {
        let start = Instant::now();
        let (at, node) = match job {
            NodeJob::Leaf { shard, proof } => {
                let decoded = decode_shard_proof(shard, &proof)?;
                drop(proof);
                let leaf = provers.leaf(TreeChild {
                    key: &decoded.key,
                    proof: &decoded.proof,
                    public_values: &decoded.public_values,
                })?;
                let leaf_key = leaf.key_values()?;
                let mut done = self.done();
                done.leaves.insert(shard, start.elapsed());
                done.leaf_keys.insert(shard, leaf_key);
                done.shard_degree_bits
                    .insert(shard, decoded.proof.degree_bits.clone());
                drop(done);
                self.proven(NodeKind::ShardLeaf);
                (NodeAt::leaf(shard), leaf)
            }
            NodeJob::Internal { at, children } => {
                let node = provers.internal(&children.0, &children.1)?;
                drop(children);
                self.done().internal.insert(at, start.elapsed());
                self.proven(NodeKind::Internal);
                (at, node)
            }
            NodeJob::Root { top } => {
                let (root, key, keygen) = provers.root(&top)?;
                let internal_key = provers.internal_key(&top)?;
                let mut done = self.done();
                done.internal_key = Some(internal_key);
                done.root = Some((root, key));
                done.root_time = start.elapsed();
                done.root_keygen = keygen;
                drop(done);
                self.proven(NodeKind::Root);
                return Ok(None);
            }
        };
        Ok(self.schedule().insert(at, node).map(NodeJob::from))
    }

    fn proven(&self, kind: NodeKind) {
        (self.progress)(AggregationProgress::NodeProven(kind));
    }

    /// The proven tree (`None` for a block without shards), once every job has run (taken:
    /// a second call finds nothing).
    pub(crate) fn finish(&self) -> Result<Option<OverlappedTree>, AggregateError> {
        let done = std::mem::take(&mut *self.done());
        let internal_error = |what: &str| AggregateError::Internal(what.into());
        let shards = done
            .shards
            .ok_or_else(|| internal_error("the shard count was never told"))?;
        if shards == 0 {
            return Ok(None);
        }
        let (root, root_key) = done
            .root
            .ok_or_else(|| internal_error("every job ran but the root was not proven"))?;
        let internal_key = done
            .internal_key
            .ok_or_else(|| internal_error("the root was proven without the internal key"))?;
        let mut internal: Vec<(usize, Duration)> = done
            .internal
            .into_iter()
            .map(|(at, d)| (internal_order(shards, at), d))
            .collect();
        internal.sort_unstable_by_key(|&(k, _)| k);
        Ok(Some(OverlappedTree {
            tree: ProvenTree {
                root,
                root_key,
                times: LayerTimes {
                    leaves: done.leaves.into_values().collect(),
                    internal: internal.into_iter().map(|(_, d)| d).collect(),
                    root: done.root_time,
                    root_keygen: done.root_keygen,
                },
                internal_key,
                leaf_keys: done.leaf_keys.into_values().collect(),
            },
            shard_degree_bits: done.shard_degree_bits.into_values().collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockProver;
    use p3_field::PrimeField32;
    use slotproof_executor::BlockInput;
    use slotproof_prover::{CpuBackend, KoalaBear};

    /// A real shard proof with one public value changed: its leaf is a typed error naming the
    /// rejected child, not a panic.
    #[test]
    fn a_tampered_shard_proof_fails_its_leaf_with_a_typed_error() {
        let input = BlockInput::from_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/transfers.json"
        ))
        .unwrap();
        let proved = BlockProver::builder().build().prove(&input).unwrap();
        let mut shard = proved.proof.shards[0].clone();
        let value = shard
            .public_values
            .iter_mut()
            .find_map(|v| v.first_mut())
            .expect("a public value");
        *value = (*value + 1) % Val::ORDER_U32;

        let tree = TreeJobs::new(&|_| {});
        let provers = NodeProvers::new(CpuBackend::<KoalaBear>::new);
        match tree.run(
            NodeJob::Leaf {
                shard: 0,
                proof: shard,
            },
            &provers,
        ) {
            Err(AggregateError::Tree(TreeError::ChildRejected { child: 0, .. })) => {}
            other => panic!("expected a rejected child, got {:?}", other.err()),
        }
    }
}
