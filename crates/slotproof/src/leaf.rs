//! Leaves of the aggregation tree (issue 12): the recursion circuit that verifies one shard
//! proof of a block proof, and its witness. The recursion stack itself is
//! `slotproof-recursion`; this module reads a [`BlockProof`]'s shard the way
//! [`crate::verify_block_proof`] does (the EVM tables, the shard's public values) and hands it
//! to the leaf builder.

use p3_field::PrimeField32;
use slotproof_air::EvmAir;
use slotproof_prover::{CpuShardProver, FriSettings, ShardProver, proof_from_bytes};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::config::{ShardConfig, ShardProof as BatchShardProof, Val};
use thiserror::Error;

pub use slotproof_recursion::leaf::{
    LEAF_SETTINGS, LeafCircuit, LeafError, LeafProof, LeafWitness, ProvenLeaf, TableRows,
    build_leaf, prove_leaf, verify_leaf,
};

use crate::proof::{BlockProof, ShardProof};

/// Why a shard's leaf cannot be made.
#[derive(Debug, Error)]
pub enum ShardLeafError {
    #[error("the block proof has {count} shards; there is no shard {shard}")]
    NoSuchShard { shard: usize, count: usize },
    #[error("leaves verify KoalaBear shard proofs; this block proof is over {0}")]
    Field(String),
    #[error("shard {shard}: public value {value} is not a canonical field element")]
    NonCanonical { shard: usize, value: u32 },
    #[error("shard {shard}: the proof bytes do not decode: {reason}")]
    Decode { shard: usize, reason: String },
    #[error("shard {shard}: the verifier's key cannot be made: {reason}")]
    Key { shard: usize, reason: String },
    #[error("shard {shard}: {source}")]
    Leaf {
        shard: usize,
        #[source]
        source: LeafError,
    },
}

/// The decoded shard: its batch proof and public values, and the verifier's key for it.
pub struct DecodedShard {
    pub proof: BatchShardProof,
    pub public_values: Vec<Vec<Val>>,
    pub key: MirrorKey,
}

/// Decode shard `shard` of `proof` and make the verifier's key for its shape.
pub fn decode_shard(proof: &BlockProof, shard: usize) -> Result<DecodedShard, ShardLeafError> {
    if proof.field != "koalabear" {
        return Err(ShardLeafError::Field(proof.field.clone()));
    }
    let s = proof.shards.get(shard).ok_or(ShardLeafError::NoSuchShard {
        shard,
        count: proof.shards.len(),
    })?;
    decode_shard_proof(shard, s)
}

/// Decode shard proof `s` (shard `shard` of a KoalaBear block proof) and make the verifier's
/// key for its shape.
pub fn decode_shard_proof(shard: usize, s: &ShardProof) -> Result<DecodedShard, ShardLeafError> {
    let public_values = s
        .public_values
        .iter()
        .map(|v| {
            v.iter()
                .map(|&u| {
                    if u < Val::ORDER_U32 {
                        Ok(Val::new(u))
                    } else {
                        Err(ShardLeafError::NonCanonical { shard, value: u })
                    }
                })
                .collect()
        })
        .collect::<Result<Vec<Vec<Val>>, _>>()?;
    let batch: BatchShardProof =
        proof_from_bytes::<ShardConfig>(&s.proof).map_err(|e| ShardLeafError::Decode {
            shard,
            reason: e.to_string(),
        })?;
    let airs = EvmAir::shard_airs();
    let key_err = |reason: String| ShardLeafError::Key { shard, reason };
    if batch.degree_bits.len() != airs.len() {
        return Err(key_err(format!(
            "{} tables in the proof, {} EVM tables",
            batch.degree_bits.len(),
            airs.len()
        )));
    }
    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let data = prover
        .setup(&airs, &batch.degree_bits)
        .map_err(|e| key_err(e.to_string()))?;
    let key = MirrorKey::new(
        FriSettings::DEFAULT,
        &airs,
        &batch.degree_bits,
        &data.common,
    )
    .map_err(|e| key_err(e.to_string()))?;
    Ok(DecodedShard {
        proof: batch,
        public_values,
        key,
    })
}

/// The leaf circuit for shard `shard` of `proof`, and its witness. A shard proof that does not
/// verify is [`LeafError::ShardRejected`] naming the verifier's step.
pub fn shard_leaf(
    proof: &BlockProof,
    shard: usize,
) -> Result<(LeafCircuit, LeafWitness), ShardLeafError> {
    let decoded = decode_shard(proof, shard)?;
    build_leaf(&decoded.key, &decoded.proof, &decoded.public_values)
        .map_err(|source| ShardLeafError::Leaf { shard, source })
}
