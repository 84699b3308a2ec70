//! The block proof container and its stable, versioned byte format.

use serde::{Deserialize, Serialize};

/// Version of the [`BlockProof`] byte format; a verifier rejects any other.
pub const BLOCK_PROOF_VERSION: u32 = 1;

/// What a block proof claims about the block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockPublicValues {
    pub number: u64,
    pub block_hash: [u8; 32],
    pub parent_state_root: [u8; 32],
    pub state_root: [u8; 32],
    pub gas_used: u64,
}

/// One shard's proof: a Plonky3 batch-STARK proof over the EVM chips of a slice of a subblock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardProof {
    /// The subblock the shard belongs to.
    pub subblock: u32,
    /// Public values of every chip (canonical field elements), in `EvmAir::shard_airs` order.
    pub public_values: Vec<Vec<u32>>,
    /// The postcard bytes of the batch proof.
    pub proof: Vec<u8>,
}

/// A block proof: the shard proofs of every subblock, in order, plus the block's public values
/// and the coverage table that says what the shard proofs constrain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockProof {
    pub version: u32,
    /// The field the shards are proven over ("koalabear").
    pub field: String,
    pub block: BlockPublicValues,
    /// Number of subblocks the block was split into (subblocks without EVM steps have no shard).
    pub subblocks: u32,
    pub coverage_version: u32,
    /// The coverage table as JSON (`slotproof_air::CoverageTable::to_json`).
    pub coverage: String,
    pub shards: Vec<ShardProof>,
}

impl BlockProof {
    /// The proof as bytes (postcard).
    pub fn to_bytes(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
    }

    /// Parses proof bytes; any malformed input is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, postcard::Error> {
        let (proof, rest) = postcard::take_from_bytes::<Self>(bytes)?;
        if !rest.is_empty() {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        Ok(proof)
    }
}
