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
//!
//! **Keys.** Leaves and internal nodes share one height profile and take their children's
//! keys as inputs, so the internal program and the root program are one each, whatever the
//! block; the root publishes the internal program's key and a digest of every shard's leaf key
//! (`slotproof_recursion::keys`). The verifier holds every key as a constant (the internal and
//! root programs', and one leaf key per menu shape: [`crate::tree_keys`]) and rejects a root
//! that names others ([`crate::aggregate::ClaimsError::InternalKey`],
//! [`crate::aggregate::ClaimsError::LeafKeys`]).

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use serde::{Deserialize, Serialize};
use slotproof_air::EvmAir;
use slotproof_prover::{proof_from_bytes, proof_to_bytes};
use slotproof_recursion::chain::ROOT_VALUES_LEN;
use slotproof_recursion::config::{ShardConfig, Val};
use slotproof_recursion::tree::native::expected_root_keys;

use crate::aggregate::{AggregatedBlock, ClaimsError, check_root_keys, claimed_root_values};
pub use crate::compact_claims::{ClaimsDecodeError, CompactClaims};
use crate::proof::{BlockProof, BlockPublicValues};
use crate::tree_keys::{RootKey, internal_key, leaf_keys_of_shapes};
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
            root_keys: aggregated
                .root
                .proof
                .public_values
                .get(ROOT_VALUES_LEN..)
                .unwrap_or(&[])
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
    crate::context::block_context(&proof.block)?;
    check_claims(&proof.block, &subblocks)?;
    let shard_subblocks: Vec<u32> = proof.shards.iter().map(|s| s.subblock).collect();
    // The root's public values, as the claims give them (the shard list checked).
    let claimed = claimed_root_values(&proof.block, &subblocks, &shard_subblocks)
        .map_err(VerifyError::RootClaims)?;

    // Only shapes of the menu (the verifier holds a leaf key for each).
    let tables = EvmAir::shard_airs().len();
    for (shard, s) in proof.shards.iter().enumerate() {
        if s.degree_bits.len() != tables {
            return Err(VerifyError::ShardShape { shard });
        }
        let bits: Vec<usize> = s.degree_bits.iter().map(|&b| usize::from(b)).collect();
        crate::verify::check_menu_shape(shard, &bits)?;
    }
    // Decoded before the keys are derived: malformed bytes cost nothing.
    let root_proof = proof_from_bytes::<ShardConfig>(&proof.root_proof)
        .map_err(|e| VerifyError::Malformed(format!("root proof: {e}")))?;
    let shapes: Vec<Vec<u8>> = proof.shards.iter().map(|s| s.degree_bits.clone()).collect();
    let leaf_keys = leaf_keys_of_shapes(&shapes).map_err(|reason| VerifyError::Keys { reason })?;
    let expected = expected_root_keys(&internal_key(), &leaf_keys)
        .ok_or(VerifyError::RootClaims(ClaimsError::NoShards))?;
    let mut public_values = claimed.to_vec();
    public_values.extend(
        proof
            .root_keys
            .iter()
            .map(|&v| canonical(v))
            .collect::<Result<Vec<_>, _>>()?,
    );
    check_root_keys(&public_values, &expected).map_err(VerifyError::RootClaims)?;
    let root_key = RootKey::fixed().map_err(|reason| VerifyError::Keys { reason })?;
    root_key
        .verify(&root_proof, &public_values)
        .map_err(|e| VerifyError::RootRejected {
            reason: e.to_string(),
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
