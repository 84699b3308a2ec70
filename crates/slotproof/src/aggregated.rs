//! Block proof v3: one aggregated proof. The file holds the block and subblock claims, the
//! coverage table's version, each shard's subblock and shape (its EVM tables' log heights), and
//! the root recursion proof.
//!
//! Verifying: the claims cover the block and continue each other's state (as for v2); the shard
//! list covers the subblocks in order; the root's public values are recomputed from the claims
//! (the block binding and the tree digest of every shard's subblock binding,
//! [`crate::aggregate::claimed_root_values`]); the root proof verifies under the root circuit's
//! key.
//!
//! **Keys.** Leaves and internal nodes share one height profile and take their children's
//! keys as inputs, so the internal program and the root program are one each, whatever the
//! block; the root publishes the internal program's key and a digest of every shard's leaf key
//! (`slotproof_recursion::keys`). The verifier derives those keys from the shards' shapes (a
//! leaf's program depends on its shard's shape only) and rejects a root that names others
//! ([`crate::aggregate::ClaimsError::InternalKey`], [`crate::aggregate::ClaimsError::LeafKeys`]).
//! Deriving them costs an unchecked placeholder proof per distinct shard shape and one for the
//! node shape (seconds), once per process ([`remember_root_key`] keeps the prover's); with a
//! fixed menu of shard shapes they become constants (issue 13, item 3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use p3_air::BaseAir;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_matrix::dense::RowMajorMatrix;
use serde::{Deserialize, Serialize};
use slotproof_air::EvmAir;
use slotproof_prover::{
    CpuBackend, CpuShardProver, FriSettings, ProverOptions, ShardProver, proof_from_bytes, proof_to_bytes,
};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::config::{ShardConfig, ShardProof as BatchProof, Val};
use slotproof_recursion::leaf::{LEAF_SETTINGS, LeafCircuit, LeafProof, verify_leaf};
use slotproof_recursion::root::ROOT_SETTINGS;
use slotproof_recursion::chain::ROOT_VALUES_LEN;
use slotproof_recursion::tree::native::expected_root_keys;
use slotproof_recursion::tree::{
    InternalKey, TreeChild, TreeCircuits, commitment_values, tree_circuits_of_shapes,
};

use crate::aggregate::{
    AggregatedBlock, ClaimsError, RootVerifyingKey, check_root_keys, claimed_root_values,
};
pub use crate::compact_claims::{ClaimsDecodeError, CompactClaims};
use crate::proof::{BlockProof, BlockPublicValues};
use crate::verify::{VerifyError, check_claims};

/// Version of the aggregated block proof format.
pub const AGGREGATED_PROOF_VERSION: u32 = 3;

/// Largest log height a shard table may claim (a placeholder of it is proven to rebuild keys).
const MAX_LOG_HEIGHT: u8 = 22;

/// A shard as the aggregated proof names it: its subblock and shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardShape {
    pub subblock: u32,
    /// Log heights of the shard's EVM tables, in `EvmAir::shard_airs` order.
    pub degree_bits: Vec<u8>,
}

/// Block proof v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregatedProof {
    pub version: u32,
    /// The field of the shard and recursion proofs ("koalabear").
    pub field: String,
    pub block: BlockPublicValues,
    /// The subblock claims, without what the verifier restores (implied reads, repeated
    /// addresses and code hashes, leading zero bytes): [`CompactClaims`].
    pub subblocks: CompactClaims,
    /// The coverage table's version: what the proof constrains is that version's table, which
    /// the verifier holds (`slotproof coverage` prints it) and checks is its own. (v2 carries
    /// the table's text too; the verifier never reads it, so v3 leaves it out: 15 KB.)
    pub coverage_version: u32,
    /// Every shard, in block order.
    pub shards: Vec<ShardShape>,
    /// The root's key values (`slotproof_recursion::keys::RootKeys`, canonical): the internal
    /// program's key and the digest of the leaf keys. The verifier compares them with the keys
    /// it derives before checking the root proof, so that a proof made under other programs
    /// is named as such.
    pub root_keys: Vec<u32>,
    /// The root recursion proof (postcard bytes of the batch proof).
    pub root_proof: Vec<u8>,
}

impl AggregatedProof {
    /// The v3 proof of `proof`'s block from its aggregation.
    pub fn new(proof: &BlockProof, aggregated: &AggregatedBlock) -> Result<Self, postcard::Error> {
        Ok(Self {
            version: AGGREGATED_PROOF_VERSION,
            field: proof.field.clone(),
            block: proof.block.clone(),
            subblocks: CompactClaims::encode(&proof.subblocks),
            coverage_version: proof.coverage_version,
            shards: proof
                .shards
                .iter()
                .zip(&aggregated.shard_degree_bits)
                .map(|(s, bits)| ShardShape {
                    subblock: s.subblock,
                    degree_bits: bits.iter().map(|&b| b as u8).collect(),
                })
                .collect(),
            root_keys: aggregated.root.proof.public_values.get(ROOT_VALUES_LEN..).unwrap_or(&[])
                .iter()
                .map(|v| v.as_canonical_u32())
                .collect(),
            root_proof: proof_to_bytes(&aggregated.root.proof.proof)?,
        })
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// The format version a proof file starts with (both versions start with it).
pub fn proof_version(bytes: &[u8]) -> Result<u32, VerifyError> {
    postcard::take_from_bytes::<u32>(bytes)
        .map(|(v, _)| v)
        .map_err(|e| VerifyError::Malformed(e.to_string()))
}

/// A placeholder shard proof of this shape: an unchecked prover's proof of all-zero traces with
/// zero public values, and the statement of the shape. (What rebuilding keys needs; it proves
/// nothing.)
fn placeholder_shard(degree_bits: &[usize]) -> Result<Placeholder, String> {
    let airs = EvmAir::shard_airs();
    let prover: CpuShardProver<Val> =
        ShardProver::cpu(FriSettings::DEFAULT).with_options(ProverOptions {
            check_witness: false,
        });
    let traces: Vec<RowMajorMatrix<Val>> = airs
        .iter()
        .zip(degree_bits)
        .map(|(air, &bits)| {
            let width = BaseAir::<Val>::width(air);
            RowMajorMatrix::new(vec![Val::ZERO; width << bits], width)
        })
        .collect();
    let public_values: Vec<Vec<Val>> = airs
        .iter()
        .map(|a| vec![Val::ZERO; BaseAir::<Val>::num_public_values(a)])
        .collect();
    let proof = prover
        .prove(&airs, &traces, &public_values)
        .map_err(|e| e.to_string())?;
    let data = prover
        .setup(&airs, degree_bits)
        .map_err(|e| e.to_string())?;
    let key = MirrorKey::new(FriSettings::DEFAULT, &airs, degree_bits, &data.common)
        .map_err(|e| e.to_string())?;
    Ok((key, proof, public_values))
}

/// Verify a v3 proof's bytes; the block public values it proves.
pub fn verify_aggregated_proof(bytes: &[u8]) -> Result<BlockPublicValues, VerifyError> {
    let proof =
        AggregatedProof::from_bytes(bytes).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    crate::verify::check_versions(
        proof.version,
        AGGREGATED_PROOF_VERSION,
        proof.coverage_version,
    )?;
    if proof.field != "koalabear" {
        return Err(VerifyError::Unsupported(format!(
            "aggregated proofs over {}",
            proof.field
        )));
    }
    let subblocks = proof.subblocks.decode()?;
    check_claims(&proof.block, &subblocks)?;
    let shard_subblocks: Vec<u32> = proof.shards.iter().map(|s| s.subblock).collect();
    // The root's public values, as the claims give them (the shard list checked).
    let claimed = claimed_root_values(&proof.block, &subblocks, &shard_subblocks)
        .map_err(VerifyError::RootClaims)?;

    let tables = EvmAir::shard_airs().len();
    for (shard, s) in proof.shards.iter().enumerate() {
        if s.degree_bits.len() != tables || s.degree_bits.iter().any(|&b| b > MAX_LOG_HEIGHT) {
            return Err(VerifyError::ShardShape { shard });
        }
    }
    let shapes: Vec<Vec<u8>> = proof.shards.iter().map(|s| s.degree_bits.clone()).collect();
    let keys = tree_keys_of_shapes(&shapes)?;
    let expected = expected_root_keys(&keys.internal, &keys.leaves).ok_or(VerifyError::RootClaims(ClaimsError::NoShards))?;
    let mut public_values = claimed.to_vec();
    public_values.extend(
        proof
            .root_keys
            .iter()
            .map(|&v| canonical(v))
            .collect::<Result<Vec<_>, _>>()?,
    );
    check_root_keys(&public_values, &expected).map_err(VerifyError::RootClaims)?;
    let root_prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
    let root = LeafProof {
        proof: proof_from_bytes::<ShardConfig>(&proof.root_proof)
            .map_err(|e| VerifyError::Malformed(format!("root proof: {e}")))?,
        public_values,
    };
    verify_leaf(&root_prover, &keys.root.key, &keys.root.circuit, &root).map_err(|e| {
        VerifyError::RootRejected {
            reason: e.to_string(),
        }
    })?;
    Ok(proof.block)
}

/// A stored field element, rejected unless canonical.
fn canonical(v: u32) -> Result<Val, VerifyError> {
    if v < Val::ORDER_U32 {
        Ok(Val::from_u32(v))
    } else {
        Err(VerifyError::Malformed(format!(
            "root key value {v} is not a canonical field element"
        )))
    }
}

/// The root circuit and its verifying key (one program for every block).
struct RootKey {
    circuit: LeafCircuit,
    key: RootVerifyingKey,
}

/// A placeholder shard: its statement, its proof and its public values.
type Placeholder = (MirrorKey, BatchProof, Vec<Vec<Val>>);

/// The keys a verifier derives, kept for this process's later verifications: the root's, the
/// internal program's and each shard shape's leaf key (a key depends on nothing else).
#[derive(Default)]
struct DerivedKeys {
    root: Option<Arc<RootKey>>,
    internal: Option<InternalKey>,
    leaves: Vec<(Vec<u8>, InternalKey)>,
}

impl DerivedKeys {
    fn leaf(&self, shape: &[u8]) -> Option<InternalKey> {
        self.leaves
            .iter()
            .find(|(s, _)| s == shape)
            .map(|(_, k)| *k)
    }
}

static DERIVED_KEYS: Mutex<DerivedKeys> = Mutex::new(DerivedKeys {
    root: None,
    internal: None,
    leaves: Vec::new(),
});

fn derived_keys() -> std::sync::MutexGuard<'static, DerivedKeys> {
    // A poisoned cache is still a list of correct keys (each is stored whole).
    DERIVED_KEYS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keep the keys `aggregated` made (the root's, the internal program's, its shards' leaf keys)
/// for this process's later verifications (e.g. `slotproof prove` checking the proof it has
/// just written), instead of deriving them from placeholders. They are the keys a verifier
/// derives: a program depends on shapes only (`slotproof_recursion` tests `shape_only.rs`). A
/// verifier in another process still derives them. Returns whether a root key was kept (it is
/// taken from `aggregated`).
pub fn remember_root_key(aggregated: &mut AggregatedBlock) -> bool {
    let Some(key) = aggregated.root_key.take() else {
        return false;
    };
    let mut keys = derived_keys();
    if keys.root.is_none() {
        let circuit = aggregated.root.circuit.clone();
        keys.root = Some(Arc::new(RootKey { circuit, key }));
    }
    keys.internal.get_or_insert(aggregated.internal_key);
    for (bits, leaf) in aggregated.shard_degree_bits.iter().zip(&aggregated.leaf_keys) {
        let shape: Vec<u8> = bits.iter().map(|&b| b as u8).collect();
        if keys.leaf(&shape).is_none() {
            keys.leaves.push((shape, *leaf));
        }
    }
    true
}

/// What a verifier of shards of these (checked) shapes needs: the root key, the internal key
/// and each shard's leaf key.
struct TreeKeys {
    root: Arc<RootKey>,
    internal: InternalKey,
    leaves: Vec<InternalKey>,
}

/// [`TreeKeys`] for these shapes: from this process's cache, the rest derived from
/// placeholders (one per shard shape not yet seen; the node shape's programs from the first).
fn tree_keys_of_shapes(shapes: &[Vec<u8>]) -> Result<TreeKeys, VerifyError> {
    // The lock is not held while deriving: that runs on rayon, whose workers may meanwhile take
    // up another verification that needs the lock (a deadlock). Two verifications at once may
    // both derive a key; the first one stored is kept.
    let cached = |keys: &DerivedKeys| -> Option<TreeKeys> {
        Some(TreeKeys {
            root: keys.root.clone()?,
            internal: keys.internal?,
            leaves: shapes
                .iter()
                .map(|s| keys.leaf(s))
                .collect::<Option<Vec<_>>>()?,
        })
    };
    if let Some(keys) = cached(&derived_keys()) {
        return Ok(keys);
    }
    let err = |reason: String| VerifyError::Keys { reason };
    // One placeholder per distinct shape.
    let mut placeholders: HashMap<Vec<u8>, Placeholder> = HashMap::new();
    for (shard, shape) in shapes.iter().enumerate() {
        if !placeholders.contains_key(shape) {
            let bits: Vec<usize> = shape.iter().map(|&b| b as usize).collect();
            let placeholder =
                placeholder_shard(&bits).map_err(|reason| err(format!("shard {shard}: {reason}")))?;
            placeholders.insert(shape.clone(), placeholder);
        }
    }
    let distinct: Vec<&Vec<u8>> = placeholders.keys().collect();
    let children: Vec<TreeChild<'_>> = distinct
        .iter()
        .map(|shape| {
            let (key, proof, public_values) = &placeholders[*shape];
            TreeChild {
                key,
                proof,
                public_values,
            }
        })
        .collect();
    let TreeCircuits {
        leaves,
        leaf_of,
        internal,
        root,
    } = tree_circuits_of_shapes(&children).map_err(|e| err(e.to_string()))?;
    let node_prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS);
    let key_of = |circuit: &LeafCircuit| -> Result<InternalKey, VerifyError> {
        let key = circuit
            .keygen(&node_prover)
            .map_err(|e| err(e.to_string()))?;
        commitment_values::<CpuBackend<Val>>(&key).map_err(|e| err(e.to_string()))
    };
    let leaf_keys = leaves
        .iter()
        .map(key_of)
        .collect::<Result<Vec<_>, _>>()?;
    let internal_key = key_of(&internal)?;
    let root_prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
    let key = root.keygen(&root_prover).map_err(|e| err(e.to_string()))?;

    let mut keys = derived_keys();
    keys.root.get_or_insert_with(|| Arc::new(RootKey { circuit: root, key }));
    keys.internal.get_or_insert(internal_key);
    for (shape, &id) in distinct.iter().zip(&leaf_of) {
        if keys.leaf(shape).is_none() {
            keys.leaves.push(((*shape).clone(), leaf_keys[id]));
        }
    }
    cached(&keys).ok_or_else(|| err("a derived key was not kept".into()))
}
