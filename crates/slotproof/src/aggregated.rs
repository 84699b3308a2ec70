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
//! Every shard's shape must be one of the menu (`slotproof_air::shape::SHARD_SHAPES`).
//! **The key is rebuilt from the shapes** (no `vk_root` yet, issue 13 item 3): every node's
//! circuit is emitted from placeholder proofs of its children's shapes
//! (`slotproof_recursion::tree::root_circuit_of_shapes`), which gives the real circuits, since a
//! program depends on shapes only. That costs an unchecked placeholder proof per *distinct*
//! node (shards of one shape share a leaf, nodes over the same children share a node): seconds
//! to a minute, not the milliseconds a verifier holding a fixed `vk_root` would take.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use p3_air::BaseAir;
use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use serde::{Deserialize, Serialize};
use slotproof_air::EvmAir;
use slotproof_prover::{
    CpuShardProver, FriSettings, ProverOptions, ShardProver, proof_from_bytes, proof_to_bytes,
};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::config::{ShardConfig, ShardProof as BatchProof, Val};
use slotproof_recursion::leaf::{LeafCircuit, LeafProof, verify_leaf};
use slotproof_recursion::root::ROOT_SETTINGS;
use slotproof_recursion::tree::{TreeChild, root_circuit_of_shapes};

use crate::aggregate::{AggregatedBlock, RootVerifyingKey, claimed_root_values};
pub use crate::compact_claims::{ClaimsDecodeError, CompactClaims};
use crate::proof::{BlockProof, BlockPublicValues};
use crate::verify::{VerifyError, check_claims};

/// Version of the aggregated block proof format.
pub const AGGREGATED_PROOF_VERSION: u32 = 3;

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

    // Only shapes of the menu (which also bounds what a key rebuild proves).
    let tables = EvmAir::shard_airs().len();
    for (shard, s) in proof.shards.iter().enumerate() {
        if s.degree_bits.len() != tables {
            return Err(VerifyError::ShardShape { shard });
        }
        let bits: Vec<usize> = s.degree_bits.iter().map(|&b| usize::from(b)).collect();
        crate::verify::check_menu_shape(shard, &bits)?;
    }
    // Decoded before the key is rebuilt (seconds): malformed bytes cost nothing.
    let root = LeafProof {
        proof: proof_from_bytes::<ShardConfig>(&proof.root_proof)
            .map_err(|e| VerifyError::Malformed(format!("root proof: {e}")))?,
        public_values: claimed.to_vec(),
    };
    let shapes: Vec<Vec<u8>> = proof.shards.iter().map(|s| s.degree_bits.clone()).collect();
    let root_key = root_key_of_shapes(&shapes)?;
    let root_prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
    verify_leaf(&root_prover, &root_key.key, &root_key.circuit, &root).map_err(|e| {
        VerifyError::RootRejected {
            reason: e.to_string(),
        }
    })?;
    Ok(proof.block)
}

/// The root circuit and its verifying key for a tree over shards of these shapes.
struct RootKey {
    circuit: LeafCircuit,
    key: RootVerifyingKey,
}

/// Each shard's tables' log heights.
type Shapes = Vec<Vec<u8>>;

/// A placeholder shard: its statement, its proof and its public values.
type Placeholder = (MirrorKey, BatchProof, Vec<Vec<Val>>);

/// Root keys rebuilt so far in this process, by the shards' shapes (a key depends on nothing
/// else, so a second proof of the same shapes is checked without rebuilding).
static ROOT_KEYS: Mutex<Vec<(Shapes, Arc<RootKey>)>> = Mutex::new(Vec::new());

/// Keep the root key `aggregated` made for this process's later verifications of proofs of
/// the same shard shapes (e.g. `slotproof prove` checking the proof it has just written),
/// instead of rebuilding it from placeholders. The key is the one a verifier rebuilds: a
/// node's program depends on its children's shapes only (`slotproof_recursion` tests
/// `shape_only.rs`). A verifier in another process still rebuilds it. Returns whether a key
/// was kept (it is taken from `aggregated`).
pub fn remember_root_key(aggregated: &mut AggregatedBlock) -> bool {
    let Some(key) = aggregated.root_key.take() else {
        return false;
    };
    let shapes: Shapes = aggregated
        .shard_degree_bits
        .iter()
        .map(|bits| bits.iter().map(|&b| b as u8).collect())
        .collect();
    let mut keys = ROOT_KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if cached_root_key(&keys, &shapes).is_none() {
        let circuit = aggregated.root.circuit.clone();
        keys.push((shapes, Arc::new(RootKey { circuit, key })));
    }
    true
}

fn cached_root_key(keys: &[(Shapes, Arc<RootKey>)], shapes: &[Vec<u8>]) -> Option<Arc<RootKey>> {
    keys.iter()
        .find(|(s, _)| s == shapes)
        .map(|(_, key)| key.clone())
}

/// The root key for shards of these (checked) shapes: rebuilt from placeholders, or from this
/// process's cache.
fn root_key_of_shapes(shapes: &[Vec<u8>]) -> Result<Arc<RootKey>, VerifyError> {
    // Not held while rebuilding: the rebuild runs on rayon, whose workers may meanwhile take up
    // another verification that needs the lock (a deadlock). Two verifications of new shapes
    // at once may both rebuild; the first key stored is kept. (A poisoned cache is still a
    // list of correct keys.)
    if let Some(key) = cached_root_key(&ROOT_KEYS.lock().unwrap_or_else(|e| e.into_inner()), shapes)
    {
        return Ok(key);
    }
    // One placeholder per distinct shard shape.
    let mut placeholders: HashMap<Vec<u8>, Placeholder> = HashMap::new();
    for (shard, shape) in shapes.iter().enumerate() {
        if !placeholders.contains_key(shape) {
            let bits: Vec<usize> = shape.iter().map(|&b| b as usize).collect();
            let placeholder = placeholder_shard(&bits).map_err(|reason| VerifyError::Keys {
                reason: format!("shard {shard}: {reason}"),
            })?;
            placeholders.insert(shape.clone(), placeholder);
        }
    }
    let children: Vec<TreeChild<'_>> = shapes
        .iter()
        .map(|shape| {
            let (key, proof, public_values) = &placeholders[shape];
            TreeChild {
                key,
                proof,
                public_values,
            }
        })
        .collect();
    let circuit = root_circuit_of_shapes(&children).map_err(|e| VerifyError::Keys {
        reason: e.to_string(),
    })?;
    let root_prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
    let key = circuit
        .keygen(&root_prover)
        .map_err(|e| VerifyError::Keys {
            reason: e.to_string(),
        })?;
    let root_key = Arc::new(RootKey { circuit, key });
    let mut keys = ROOT_KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(key) = cached_root_key(&keys, shapes) {
        return Ok(key);
    }
    keys.push((shapes.to_vec(), root_key.clone()));
    Ok(root_key)
}
