//! The aggregation tree's circuits (issue 13): leaf, internal node and root, each one program
//! compiled by running [`verify_generic_with`] on its children through [`Build`] and then the
//! chaining checks of [`crate::chain`] on the children's public values.
//!
//! - [`build_shard_leaf`]: verifies one EVM shard proof; publishes the shard as
//!   [`NodeValues`].
//! - [`build_internal`]: verifies two (or more) node proofs, leaf or internal alike (one
//!   public-value layout), checks that they chain ([`chain::merge`]) and publishes the combined
//!   [`NodeValues`].
//! - [`build_root`]: verifies the top node, checks that it covers whole subblocks
//!   ([`chain::check_root`]) and publishes [`RootValues`]: the block binding and the digest of
//!   every shard's subblock binding. It is proven under [`crate::root::ROOT_SETTINGS`].
//!
//! The children's public values enter as hints (observed into their transcripts as the
//! verifier does); only what the node publishes is its own public values. A child's circuit
//! enters through its [`MirrorKey`] (its preprocessed commitment is a constant of the program),
//! so a node's program, and so its verifying key, depends on its children's keys: until fixed
//! shard shapes exist (issue 13, item 3) the tree's keys follow the shards' shapes.
//! [`prove_tree`] proves a whole tree over the fixed pairing of [`chain::fold_tree`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p3_field::PrimeCharacteristicRing;
use slotproof_prover::prover::ShardKey;
use slotproof_prover::{Backend, ShardProver};
use thiserror::Error;

use crate::build::{Build, BuildError, Word};
use crate::chain::{self, ChainError, NODE_VALUES_LEN, NodeValues, ROOT_VALUES_LEN, RootValues};
use crate::config::{ShardConfig, ShardProof, Val};
use crate::error::MirrorError;
use crate::key::MirrorKey;
use crate::keys::{
    self, KEY_LEN, KeyError, NODE_KEYS_LEN, NODE_LOG_ROWS, NodeKeys, ROOT_KEYS_LEN, RootKeys,
};
use crate::leaf::{LEAF_SETTINGS, LeafCircuit, LeafError, LeafProof, LeafWitness, prove_leaf};
use crate::native::Native;
use crate::ops::Ops;
use crate::tables::program::ShapeOverflow;
use crate::verifier::verify_generic_with;
use crate::verifier::{KeyEntry, Verified};

/// One proof a node verifies: its statement, the proof and its public values per instance.
#[derive(Clone, Copy)]
pub struct TreeChild<'a> {
    pub key: &'a MirrorKey,
    pub proof: &'a ShardProof,
    pub public_values: &'a [Vec<Val>],
}

/// Why a node of the tree cannot be made.
#[derive(Debug, Error)]
pub enum TreeError {
    #[error("child {child} does not verify: {source}")]
    ChildRejected {
        child: usize,
        #[source]
        source: MirrorError,
    },
    #[error("the children do not chain: {0}")]
    Chain(#[from] ChainError),
    #[error("a child's verifying key is not accepted: {0}")]
    Keys(#[from] KeyError),
    #[error("the node does not fit the tree's fixed shape: {0}")]
    NodeShape(#[from] ShapeOverflow),
    #[error("the node circuit cannot be built: {0}")]
    Build(#[from] BuildError),
    #[error("an internal node takes at least two children, not {0}")]
    Arity(usize),
    #[error("the tree has no shards")]
    Empty,
    #[error("proving or checking a node: {0}")]
    Node(#[from] LeafError),
    #[error("a node's statement: {0}")]
    Key(MirrorError),
    /// A node's bytes (from another machine) that do not decode.
    #[error("a node's encoding: {0}")]
    Encoding(String),
}

/// The internal program's verifying key as values (what internal nodes and the root take as a
/// hint and publish).
pub type InternalKey = [Val; KEY_LEN];

/// Compile the verification of `children` (their keys entering as `key_entry` says), then
/// `publish_values` on what the verifications hand on, into one circuit whose public values
/// are what it returns; `pad`: padded to [`NODE_LOG_ROWS`].
fn build_node_with(
    children: &[TreeChild<'_>],
    shape_only: bool,
    key_entry: KeyEntry,
    pad: bool,
    publish_values: impl FnOnce(&mut Build, Vec<Verified<Word>>) -> Result<Vec<Word>, TreeError>,
) -> Result<(LeafCircuit, LeafWitness), TreeError> {
    let first = children.first().ok_or(TreeError::Arity(0))?;
    let mut build = Build::for_settings(&first.key.settings);
    if shape_only {
        build = build.shape_only();
    }
    let mut verified = Vec::with_capacity(children.len());
    for (i, c) in children.iter().enumerate() {
        build.start_transcript();
        let verdict = verify_generic_with(
            &mut build,
            c.key,
            c.proof,
            c.public_values,
            key_entry,
            |ops, v| ops.input(v),
        );
        if let Some(op) = build.unsupported_op() {
            return Err(BuildError::Unsupported(op).into());
        }
        verified.push(verdict.map_err(|source| TreeError::ChildRejected { child: i, source })?);
    }
    let values = publish_values(&mut build, verified)?;
    chain::publish(&mut build, &values)?;
    let (mut circuit, witness) = crate::leaf::into_circuit(build)?;
    if pad {
        circuit.program.pad_to(&NODE_LOG_ROWS)?;
    }
    Ok((circuit, witness))
}

/// A node child's chaining and key values: every public value of a recursion proof is the
/// `Public` table's, in order (chaining values, then key values).
fn node_handles(
    public_values: &[Vec<Word>],
) -> Result<(NodeValues<Word>, NodeKeys<Word>), TreeError> {
    let flat: Vec<Word> = public_values.iter().flatten().copied().collect();
    if flat.len() != NODE_PUBLIC_LEN {
        return Err(ChainError::Shape(format!(
            "{} node public values, expected {NODE_PUBLIC_LEN}",
            flat.len()
        ))
        .into());
    }
    let (values, keys) = flat.split_at(NODE_VALUES_LEN);
    Ok((NodeValues::from_slice(values)?, NodeKeys::from_slice(keys)?))
}

/// Public values of a leaf or internal node: [`NodeValues`], then [`NodeKeys`].
pub const NODE_PUBLIC_LEN: usize = NODE_VALUES_LEN + NODE_KEYS_LEN;
/// Public values of the root: [`RootValues`], then [`RootKeys`].
pub const ROOT_PUBLIC_LEN: usize = ROOT_VALUES_LEN + ROOT_KEYS_LEN;

/// The circuit of a node kind over its children's verifications (shared by the real builds
/// and [`circuit_of_shape`]).
fn node_values(
    kind: NodeKind,
    build: &mut Build,
    verified: Vec<Verified<Word>>,
    internal_key: &InternalKey,
) -> Result<Vec<Word>, TreeError> {
    if kind == NodeKind::ShardLeaf {
        let mut values = chain::leaf_values(build, &verified[0].public_values)?.to_vec();
        values.extend(keys::leaf_keys(build).to_vec());
        return Ok(values);
    }
    let internal: [Word; KEY_LEN] = core::array::from_fn(|k| build.input(internal_key[k]));
    let mut children = Vec::with_capacity(verified.len());
    for v in &verified {
        let (values, child_keys) = node_handles(&v.public_values)?;
        let contribution = keys::child_leaf_keys(build, &child_keys, &v.key, &internal)?;
        children.push((values, contribution));
    }
    let mut children = children.into_iter();
    let (mut acc, mut leaf_keys) = children.next().ok_or(TreeError::Arity(0))?;
    if kind == NodeKind::Root {
        let mut values = chain::check_root(build, &acc)?.to_vec();
        values.extend(
            RootKeys {
                internal_key: internal,
                leaf_keys,
            }
            .to_vec(),
        );
        return Ok(values);
    }
    for (node, contribution) in children {
        acc = chain::merge(build, &acc, &node)?;
        leaf_keys = keys::combine(build, &leaf_keys, &contribution);
    }
    let is_leaf = build.constant(Val::ZERO);
    let mut values = acc.to_vec();
    values.extend(
        NodeKeys {
            is_leaf,
            internal_key: internal,
            leaf_keys,
        }
        .to_vec(),
    );
    Ok(values)
}

/// Build a `kind` node over `children` (real or, with `shape_only`, placeholders).
fn build_kind(
    kind: NodeKind,
    children: &[TreeChild<'_>],
    internal_key: &InternalKey,
    shape_only: bool,
) -> Result<(LeafCircuit, LeafWitness), TreeError> {
    match kind {
        NodeKind::Internal if children.len() < 2 => return Err(TreeError::Arity(children.len())),
        NodeKind::ShardLeaf | NodeKind::Root if children.len() != 1 => {
            return Err(TreeError::Arity(children.len()));
        }
        _ => {}
    }
    // A leaf verifies an EVM shard of its own shape (the shard key is the leaf's constant);
    // internal nodes and the root verify any program of the node shape.
    let key_entry = match kind {
        NodeKind::ShardLeaf => KeyEntry::Constant,
        NodeKind::Internal | NodeKind::Root => KeyEntry::Input,
    };
    let pad = kind != NodeKind::Root;
    build_node_with(children, shape_only, key_entry, pad, |build, verified| {
        node_values(kind, build, verified, internal_key)
    })
}

/// The leaf over one EVM shard proof (of the statement `shard.key`).
pub fn build_shard_leaf(shard: TreeChild<'_>) -> Result<(LeafCircuit, LeafWitness), TreeError> {
    build_kind(NodeKind::ShardLeaf, &[shard], &[Val::ZERO; KEY_LEN], false)
}

/// The internal node over adjacent nodes, left to right, with the internal program's key
/// `internal_key` ([`internal_key_of`]).
pub fn build_internal(
    children: &[TreeChild<'_>],
    internal_key: &InternalKey,
) -> Result<(LeafCircuit, LeafWitness), TreeError> {
    build_kind(NodeKind::Internal, children, internal_key, false)
}

/// The root over the top node.
pub fn build_root(
    top: TreeChild<'_>,
    internal_key: &InternalKey,
) -> Result<(LeafCircuit, LeafWitness), TreeError> {
    build_kind(NodeKind::Root, &[top], internal_key, false)
}

/// Which node of the tree a circuit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    ShardLeaf,
    Internal,
    Root,
}

/// The circuit of a `kind` node over children of these **shapes**: the children's proofs may
/// be placeholders of the right shape with any values (e.g. an unchecked prover's proofs of
/// zero traces), since every check counts as passed ([`Build::shape_only`]). The program, and
/// so the verifying key, is the one real children of these shapes give: a verifier can derive
/// the tree's keys from shapes alone. (Internal nodes and the root take their children's keys
/// as inputs, so their programs depend on the node shape only.)
pub fn circuit_of_shape(
    kind: NodeKind,
    children: &[TreeChild<'_>],
) -> Result<LeafCircuit, TreeError> {
    Ok(build_kind(kind, children, &[Val::ZERO; KEY_LEN], true)?.0)
}

/// The internal node over children of these shapes (as [`circuit_of_shape`]), **not** padded
/// to the node shape: what an internal node of another arity costs, for measurements only
/// (`crates/slotproof/benches/arity.rs`). [`NODE_LOG_ROWS`] fits arity 2, so a node of higher
/// arity is part of no tree.
pub fn unpadded_internal_of_shape(children: &[TreeChild<'_>]) -> Result<LeafCircuit, TreeError> {
    if children.len() < 2 {
        return Err(TreeError::Arity(children.len()));
    }
    let key = [Val::ZERO; KEY_LEN];
    let built = build_node_with(children, true, KeyEntry::Input, false, |build, verified| {
        node_values(NodeKind::Internal, build, verified, &key)
    })?;
    Ok(built.0)
}

/// The chaining checks on values: [`chain`] run by [`Native`], the native verifier's side of
/// the code the circuits run.
pub mod native {
    use super::*;

    fn ops() -> Native {
        Native::new(&LEAF_SETTINGS)
    }

    /// A shard's public values as node values.
    pub fn leaf_values(public_values: &[Vec<Val>]) -> Result<NodeValues<Val>, ChainError> {
        chain::leaf_values(&mut ops(), public_values)
    }

    /// The node values of a run of shards, merged over the tree's pairing.
    pub fn tree_values(shards: &[Vec<Vec<Val>>]) -> Result<NodeValues<Val>, ChainError> {
        let mut ops = ops();
        let leaves = shards
            .iter()
            .map(|pv| chain::leaf_values(&mut ops, pv))
            .collect::<Result<Vec<_>, _>>()?;
        chain::fold_tree(leaves, |l, r| chain::merge(&mut ops, &l, &r))?
            .ok_or(ChainError::Shape("no shards".into()))
    }

    /// What the root of a tree over these shards publishes, or the first broken check.
    pub fn root_values(shards: &[Vec<Vec<Val>>]) -> Result<RootValues<Val>, ChainError> {
        let top = tree_values(shards)?;
        chain::check_root(&mut ops(), &top)
    }

    /// The root values a verifier expects from claims: the block binding, and the tree digest
    /// of each shard's subblock binding and the block context (in shard order). `None` for no shards.
    pub fn expected_root_values(
        block_binding: &[Val],
        block_context: &[Val],
        shard_subblock_bindings: &[Vec<Val>],
    ) -> Option<RootValues<Val>> {
        let mut ops = ops();
        let leaves: Vec<_> = shard_subblock_bindings
            .iter()
            .map(|b| chain::leaf_digest(&mut ops, b, block_context))
            .collect();
        let digest = chain::fold_tree(leaves, |l, r| {
            Ok::<_, core::convert::Infallible>(chain::node_digest(&mut ops, &l, &r))
        })
        .ok()??;
        Some(RootValues {
            block: block_binding.to_vec(),
            digest,
        })
    }

    /// The key values a verifier expects the root to publish: the internal program's key, and
    /// the digest of each shard's leaf key (in shard order) over the tree's pairing. `None`
    /// for no shards.
    pub fn expected_root_keys(
        internal_key: &InternalKey,
        shard_leaf_keys: &[InternalKey],
    ) -> Option<RootKeys<Val>> {
        let mut ops = ops();
        let leaf_keys = chain::fold_tree(shard_leaf_keys.to_vec(), |l, r| {
            Ok::<_, core::convert::Infallible>(keys::combine(&mut ops, &l, &r))
        })
        .ok()??;
        Some(RootKeys {
            internal_key: *internal_key,
            leaf_keys,
        })
    }
}

/// A proven node and the statement a parent verifies it as.
pub struct ProvenNode {
    pub circuit: LeafCircuit,
    pub key: MirrorKey,
    pub proof: LeafProof,
}

impl ProvenNode {
    /// This node as a parent's child.
    pub fn child<'a>(&'a self, public_values: &'a [Vec<Val>]) -> TreeChild<'a> {
        TreeChild {
            key: &self.key,
            proof: &self.proof.proof,
            public_values,
        }
    }

    /// Its verifying key as values (what a parent checks and the leaf-key digest holds).
    pub fn key_values(&self) -> Result<InternalKey, TreeError> {
        key_of_commitment(self.key.preprocessed.as_ref().map(|p| &p.commitment))
    }

    /// Its public values per instance (what [`Self::child`] takes).
    pub fn instance_public_values(&self) -> Vec<Vec<Val>> {
        self.circuit
            .instance_public_values(&self.proof.public_values)
    }

    /// The node as bytes, for a parent proven on another machine: its circuit (the program),
    /// proof and public values. The verifying key is not encoded: [`Self::from_bytes`] makes it
    /// again from the program, so a node's statement cannot be sent with a key of another
    /// program.
    pub fn to_bytes(&self) -> Result<Vec<u8>, TreeError> {
        let encoded = EncodedNode {
            circuit: self.circuit.clone(),
            proof: slotproof_prover::verifier::proof_to_bytes(&self.proof.proof)
                .map_err(|e| TreeError::Encoding(e.to_string()))?,
            public_values: self.proof.public_values.clone(),
        };
        postcard::to_allocvec(&encoded).map_err(|e| TreeError::Encoding(e.to_string()))
    }

    /// A node from [`Self::to_bytes`]: its key made under `prover` (the node settings) once per
    /// program in `keys`. The proof is not checked here; its parent verifies it.
    pub fn from_bytes<B: Backend<ShardConfig>>(
        bytes: &[u8],
        prover: &ShardProver<ShardConfig, B>,
        keys: &TreeKeys<NodeKey<B>>,
    ) -> Result<Self, TreeError> {
        let encoding = |e: &dyn std::fmt::Display| TreeError::Encoding(e.to_string());
        let (encoded, rest) =
            postcard::take_from_bytes::<EncodedNode>(bytes).map_err(|e| encoding(&e))?;
        if !rest.is_empty() {
            return Err(encoding(&format!("{} trailing bytes", rest.len())));
        }
        let proof = slotproof_prover::verifier::proof_from_bytes::<ShardConfig>(&encoded.proof)
            .map_err(|e| encoding(&e))?;
        let circuit = encoded.circuit;
        let key = keys.key_for(&circuit, || Ok(circuit.keygen(prover)?))?;
        let mirror = MirrorKey::new(
            *prover.settings(),
            &circuit.airs(),
            &proof.degree_bits,
            key.common(),
        )
        .map_err(TreeError::Key)?;
        Ok(Self {
            circuit,
            key: mirror,
            proof: LeafProof {
                proof,
                public_values: encoded.public_values,
            },
        })
    }
}

/// [`ProvenNode::to_bytes`]'s encoding.
#[derive(serde::Serialize, serde::Deserialize)]
struct EncodedNode {
    circuit: LeafCircuit,
    proof: Vec<u8>,
    public_values: Vec<Val>,
}

/// Key, prove and check one node with `prover`; the proven node as a statement.
pub fn prove_node<B: Backend<ShardConfig>>(
    prover: &ShardProver<ShardConfig, B>,
    circuit: LeafCircuit,
    witness: &LeafWitness,
) -> Result<ProvenNode, TreeError> {
    let key = circuit.keygen(prover)?;
    prove_node_with_key(prover, &key, circuit, witness)
}

/// Verifying keys made so far for a tree's nodes, by program: the leaves of shards of one
/// shape run one program, as do internal nodes over children of the same shapes (a block's
/// full shards, their parents), so each program's key is made once. Shared by the threads that
/// prove one tree's nodes. A key is made **outside** the lock: keygen runs on rayon, and a
/// worker waiting inside it may steal another node's job, which would then wait for the lock
/// held by the thread it is helping (a deadlock). Two nodes of a new program at once may both
/// make its key (the same key); the first one stored is kept.
pub struct TreeKeys<K> {
    keys: Mutex<Vec<(LeafCircuit, Arc<K>)>>,
    /// The internal program's key as values, once made ([`internal_key_of`]).
    internal: std::sync::OnceLock<InternalKey>,
}

impl<K> Default for TreeKeys<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> TreeKeys<K> {
    pub fn new() -> Self {
        Self {
            keys: Mutex::new(Vec::new()),
            internal: std::sync::OnceLock::new(),
        }
    }

    fn find(keys: &[(LeafCircuit, Arc<K>)], circuit: &LeafCircuit) -> Option<Arc<K>> {
        keys.iter()
            .find(|(c, _)| c == circuit)
            .map(|(_, key)| key.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(LeafCircuit, Arc<K>)>> {
        // A poisoned list is still a list of correct keys (a key is pushed whole).
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of `circuit`'s program, made by `make` the first time it is seen.
    fn key_for(
        &self,
        circuit: &LeafCircuit,
        make: impl FnOnce() -> Result<K, TreeError>,
    ) -> Result<Arc<K>, TreeError> {
        if let Some(key) = Self::find(&self.lock(), circuit) {
            return Ok(key);
        }
        let made = Arc::new(make()?);
        let mut keys = self.lock();
        if let Some(key) = Self::find(&keys, circuit) {
            return Ok(key);
        }
        keys.push((circuit.clone(), made.clone()));
        Ok(made)
    }
}

/// A backend's verifying key of a node circuit.
pub type NodeKey<B> = ShardKey<ShardConfig, <B as Backend<ShardConfig>>::Committed>;

/// Build, key (once per program, in `keys`) and prove the leaf over one EVM shard proof with
/// `node_prover` (the leaf settings).
pub fn prove_leaf_node<B: Backend<ShardConfig>>(
    node_prover: &ShardProver<ShardConfig, B>,
    keys: &TreeKeys<NodeKey<B>>,
    shard: TreeChild<'_>,
) -> Result<ProvenNode, TreeError> {
    let (circuit, witness) = build_shard_leaf(shard)?;
    let key = keys.key_for(&circuit, || Ok(circuit.keygen(node_prover)?))?;
    prove_node_with_key(node_prover, &key, circuit, &witness)
}

/// Build, key (once per program, in `keys`) and prove the internal node over `left` and
/// `right` (adjacent, in order) with `node_prover`.
pub fn prove_internal_node<B: Backend<ShardConfig>>(
    node_prover: &ShardProver<ShardConfig, B>,
    keys: &TreeKeys<NodeKey<B>>,
    left: &ProvenNode,
    right: &ProvenNode,
) -> Result<ProvenNode, TreeError> {
    let (lpv, rpv) = (
        left.instance_public_values(),
        right.instance_public_values(),
    );
    let internal_key = internal_key_of(node_prover, keys, left)?;
    let (circuit, witness) = build_internal(&[left.child(&lpv), right.child(&rpv)], &internal_key)?;
    let key = keys.key_for(&circuit, || Ok(circuit.keygen(node_prover)?))?;
    prove_node_with_key(node_prover, &key, circuit, &witness)
}

/// The internal program's key as values, made once per `keys`: the program does not depend on
/// its children (their keys are inputs, every node has the node shape), so it is the circuit
/// of an internal node over any node, here `node` twice, built for its shape only.
pub fn internal_key_of<B: Backend<ShardConfig>>(
    node_prover: &ShardProver<ShardConfig, B>,
    keys: &TreeKeys<NodeKey<B>>,
    node: &ProvenNode,
) -> Result<InternalKey, TreeError> {
    if let Some(key) = keys.internal.get() {
        return Ok(*key);
    }
    let pv = node.instance_public_values();
    let circuit = circuit_of_shape(NodeKind::Internal, &[node.child(&pv), node.child(&pv)])?;
    let key = keys.key_for(&circuit, || Ok(circuit.keygen(node_prover)?))?;
    let values = commitment_values::<B>(&key)?;
    Ok(*keys.internal.get_or_init(|| values))
}

/// A backend key's preprocessed commitment as values.
fn commitment_values<B: Backend<ShardConfig>>(key: &NodeKey<B>) -> Result<InternalKey, TreeError> {
    key_of_commitment(key.common().preprocessed.as_ref().map(|p| &p.commitment))
}

/// A recursion proof's preprocessed commitment (one digest) as key values.
fn key_of_commitment(
    commitment: Option<&crate::config::Commitment>,
) -> Result<InternalKey, TreeError> {
    let words: Vec<Val> = commitment
        .map(crate::recording::cap_elements)
        .unwrap_or_default();
    words
        .try_into()
        .map_err(|w: Vec<Val>| KeyError::KeyLength(w.len()).into())
}

/// A proven root, the key it was proven under, and the time making that key took.
pub struct ProvenRoot<K> {
    pub root: ProvenNode,
    pub key: K,
    pub keygen: Duration,
}

/// Build, key and prove the root over the top node with `root_prover`
/// ([`crate::root::ROOT_SETTINGS`]); the internal key it publishes comes from `keys` (made
/// with `node_prover` if no internal node has made it).
pub fn prove_root_node<B: Backend<ShardConfig>>(
    node_prover: &ShardProver<ShardConfig, B>,
    root_prover: &ShardProver<ShardConfig, B>,
    keys: &TreeKeys<NodeKey<B>>,
    top: &ProvenNode,
) -> Result<ProvenRoot<NodeKey<B>>, TreeError> {
    let internal_key = internal_key_of(node_prover, keys, top)?;
    let pv = top.instance_public_values();
    let (circuit, witness) = build_root(top.child(&pv), &internal_key)?;
    let keygen_start = Instant::now();
    let key = circuit.keygen(root_prover)?;
    let keygen = keygen_start.elapsed();
    let root = prove_node_with_key(root_prover, &key, circuit, &witness)?;
    Ok(ProvenRoot { root, key, keygen })
}

/// Prove and check one node under `key` (its circuit's); the proven node as a statement.
fn prove_node_with_key<B: Backend<ShardConfig>>(
    prover: &ShardProver<ShardConfig, B>,
    key: &ShardKey<ShardConfig, B::Committed>,
    circuit: LeafCircuit,
    witness: &LeafWitness,
) -> Result<ProvenNode, TreeError> {
    let proven = prove_leaf(prover, key, &circuit, witness)?;
    let airs = circuit.airs();
    let mirror = MirrorKey::new(
        *prover.settings(),
        &airs,
        &proven.proof.proof.degree_bits,
        key.common(),
    )
    .map_err(TreeError::Key)?;
    Ok(ProvenNode {
        circuit,
        key: mirror,
        proof: proven.proof,
    })
}

/// Time spent per layer of a tree (building circuits, keys and proofs together).
#[derive(Clone, Debug, Default)]
pub struct LayerTimes {
    pub leaves: Vec<Duration>,
    pub internal: Vec<Duration>,
    pub root: Duration,
    /// The part of `root` that made the root circuit's verifying key (what a verifier without
    /// fixed shapes must also do, given the circuit).
    pub root_keygen: Duration,
}

/// A proven tree: the root, the key it was proven under (`K`: the backend's key) and what each
/// layer took.
pub struct ProvenTree<K> {
    pub root: ProvenNode,
    pub root_key: K,
    pub times: LayerTimes,
    /// The internal program's key, and each shard's leaf key, as values (what the root's key
    /// values are made of: [`native::expected_root_keys`]).
    pub internal_key: InternalKey,
    pub leaf_keys: Vec<InternalKey>,
}

/// Told of every node as soon as it is proven (for progress reports).
pub type OnNodeProven<'a> = &'a dyn Fn(NodeKind);

/// How many nodes a tree over `shards` shards proves: a leaf each, `shards − 1` internal nodes
/// (binary, an odd node moves up unchanged) and the root.
pub fn tree_node_count(shards: usize) -> usize {
    if shards == 0 { 0 } else { 2 * shards }
}

/// Prove a leaf per shard (EVM shard proofs in block order) with `node_prover` (the leaf
/// settings); each leaf's time goes to `times`.
pub fn prove_leaves<B: Backend<ShardConfig>>(
    node_prover: &ShardProver<ShardConfig, B>,
    shards: &[TreeChild<'_>],
    times: &mut LayerTimes,
    on_node: OnNodeProven<'_>,
) -> Result<Vec<ProvenNode>, TreeError> {
    let keys = TreeKeys::new();
    shards
        .iter()
        .map(|&shard| {
            let start = Instant::now();
            let leaf = prove_leaf_node(node_prover, &keys, shard)?;
            times.leaves.push(start.elapsed());
            on_node(NodeKind::ShardLeaf);
            Ok(leaf)
        })
        .collect()
}

/// Prove the tree above `leaves`: internal nodes over [`chain::fold_tree`]'s pairing with
/// `node_prover`, then the root with `root_prover` ([`crate::root::ROOT_SETTINGS`]).
pub fn prove_upper_layers<B: Backend<ShardConfig>>(
    node_prover: &ShardProver<ShardConfig, B>,
    root_prover: &ShardProver<ShardConfig, B>,
    leaves: Vec<ProvenNode>,
    mut times: LayerTimes,
    on_node: OnNodeProven<'_>,
) -> Result<ProvenTree<NodeKey<B>>, TreeError> {
    let keys = TreeKeys::new();
    let leaf_keys = leaves
        .iter()
        .map(ProvenNode::key_values)
        .collect::<Result<Vec<_>, _>>()?;
    let top = chain::fold_tree(leaves, |left, right| {
        let start = Instant::now();
        let node = prove_internal_node(node_prover, &keys, &left, &right)?;
        times.internal.push(start.elapsed());
        on_node(NodeKind::Internal);
        Ok::<_, TreeError>(node)
    })?
    .ok_or(TreeError::Empty)?;
    let start = Instant::now();
    let root = prove_root_node(node_prover, root_prover, &keys, &top)?;
    times.root_keygen = root.keygen;
    times.root = start.elapsed();
    on_node(NodeKind::Root);
    let internal_key = internal_key_of(node_prover, &keys, &top)?;
    Ok(ProvenTree {
        root: root.root,
        root_key: root.key,
        times,
        internal_key,
        leaf_keys,
    })
}

/// Prove the whole tree over `shards`: [`prove_leaves`], then [`prove_upper_layers`];
/// `on_node` is told of each node proven ([`tree_node_count`] in all).
pub fn prove_tree<B: Backend<ShardConfig>>(
    node_prover: &ShardProver<ShardConfig, B>,
    root_prover: &ShardProver<ShardConfig, B>,
    shards: &[TreeChild<'_>],
    on_node: OnNodeProven<'_>,
) -> Result<ProvenTree<ShardKey<ShardConfig, B::Committed>>, TreeError> {
    let mut times = LayerTimes::default();
    let leaves = prove_leaves(node_prover, shards, &mut times, on_node)?;
    prove_upper_layers(node_prover, root_prover, leaves, times, on_node)
}

/// All-zero traces of `circuit`'s tables at their padded heights: what a placeholder proof
/// proves (unchecked), at the cost of a real proof of the circuit.
pub fn zero_traces(circuit: &LeafCircuit) -> Vec<p3_matrix::dense::RowMajorMatrix<Val>> {
    use p3_air::BaseAir;
    circuit
        .airs()
        .iter()
        .zip(circuit.rows())
        .map(|(air, rows)| {
            let width = BaseAir::<Val>::width(air);
            p3_matrix::dense::RowMajorMatrix::new(vec![Val::ZERO; width * rows.padded_rows], width)
        })
        .collect()
}

/// A placeholder proof of `circuit`: an unchecked prover's proof of all-zero traces at the
/// circuit's heights with zero public values. It has the shape of a real proof of the circuit
/// (and verifies nowhere); [`circuit_of_shape`] takes it as a child.
pub fn placeholder_node(
    settings: slotproof_prover::FriSettings,
    circuit: LeafCircuit,
) -> Result<ProvenNode, TreeError> {
    use slotproof_prover::ProverOptions;

    let prover: slotproof_prover::CpuShardProver<Val> =
        ShardProver::cpu(settings).with_options(ProverOptions {
            check_witness: false,
        });
    let key = circuit.keygen(&prover)?;
    let airs = circuit.airs();
    let traces = zero_traces(&circuit);
    let public_values = vec![Val::ZERO; circuit.num_public_values];
    let instance_public_values = circuit.instance_public_values(&public_values);
    let proof = prover
        .prove_with_key(&key, &airs, &traces, &instance_public_values)
        .map_err(LeafError::from)?;
    let mirror = MirrorKey::new(settings, &airs, &proof.degree_bits, key.common())
        .map_err(TreeError::Key)?;
    Ok(ProvenNode {
        circuit,
        key: mirror,
        proof: LeafProof {
            proof,
            public_values,
        },
    })
}
