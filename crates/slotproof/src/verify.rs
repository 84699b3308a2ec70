//! Verifying a block proof: every shard proof, the binding of every shard to the block's public
//! values, and the chaining of the shards of each subblock.

use crate::proof::{BLOCK_PROOF_VERSION, BlockProof, BlockPublicValues};
use crate::prove::Field;
use p3_field::PrimeField32;
use slotproof_air::coverage::COVERAGE_VERSION;
use slotproof_air::shard::{CPU, OPCODE_TABLE, block_binding, chains, subblock_ends_public};
use slotproof_air::{CpuPublic, EvmAir};
use slotproof_prover::{BabyBear, CpuShardProver, FriSettings, KoalaBear, ShardProver};
use thiserror::Error;

/// Why a block proof is not accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("malformed proof bytes: {0}")]
    Malformed(String),
    #[error("unsupported proof: {0}")]
    Unsupported(String),
    #[error("shard {shard}: public values have the wrong shape")]
    PublicValueShape { shard: usize },
    #[error("shard {shard}: public value is not a canonical field element")]
    NonCanonical { shard: usize },
    #[error("shard {shard} is bound to other block public values")]
    WrongBlock { shard: usize },
    #[error("shard {shard}: proof rejected: {reason}")]
    ShardRejected { shard: usize, reason: String },
    #[error("subblock {subblock}: shards do not start and end the subblock, or do not chain")]
    BrokenChain { subblock: u32 },
    #[error("shards are out of order or name a subblock that does not exist")]
    ShardOrder,
    #[error("the proof has no shards")]
    Empty,
}

fn field_values<F: PrimeField32>(v: &[Vec<u32>], shard: usize) -> Result<Vec<Vec<F>>, VerifyError> {
    v.iter()
        .map(|x| {
            x.iter()
                .map(|&u| {
                    if u < F::ORDER_U32 {
                        Ok(F::from_u32(u))
                    } else {
                        Err(VerifyError::NonCanonical { shard })
                    }
                })
                .collect()
        })
        .collect()
}

/// Verifies every shard over one field; returns the shards' public values for the chain checks.
macro_rules! verify_shards {
    ($F:ident, $proof:expr) => {{
        let proof = $proof;
        let b = &proof.block;
        let binding = block_binding::<$F>(
            b.number,
            b.gas_used,
            b.block_hash,
            b.parent_state_root,
            b.state_root,
        );
        let airs = EvmAir::shard_airs();
        let expected_lens: Vec<usize> = airs
            .iter()
            .map(|a| p3_air::BaseAir::<$F>::num_public_values(a))
            .collect();
        let prover: CpuShardProver<$F> = ShardProver::cpu(FriSettings::DEFAULT);

        let mut values = Vec::with_capacity(proof.shards.len());
        for (k, s) in proof.shards.iter().enumerate() {
            let pv = field_values::<$F>(&s.public_values, k)?;
            if pv.len() != airs.len() || pv.iter().zip(&expected_lens).any(|(v, n)| v.len() != *n) {
                return Err(VerifyError::PublicValueShape { shard: k });
            }
            if pv[OPCODE_TABLE] != binding {
                return Err(VerifyError::WrongBlock { shard: k });
            }
            prover
                .verify_bytes(&airs, &s.proof, &pv)
                .map_err(|e| VerifyError::ShardRejected {
                    shard: k,
                    reason: e.to_string(),
                })?;
            values.push(pv);
        }

        ChainValues::$F(values)
    }};
}

/// The verified shards' public values, per field.
enum ChainValues {
    KoalaBear(Vec<Vec<Vec<KoalaBear>>>),
    BabyBear(Vec<Vec<Vec<BabyBear>>>),
}

fn group_ok<F: PrimeField32>(group: &[Vec<Vec<F>>]) -> bool {
    let chained = group.windows(2).all(|w| {
        chains(
            &CpuPublic::from_slice(&w[0][CPU]),
            &CpuPublic::from_slice(&w[1][CPU]),
        )
    });
    chained && subblock_ends_public(&group[0], &group[group.len() - 1])
}

impl ChainValues {
    /// Whether shards `range` (one subblock) start it, chain and end it.
    fn subblock_ok(&self, range: std::ops::Range<usize>) -> bool {
        match self {
            ChainValues::KoalaBear(v) => group_ok(&v[range]),
            ChainValues::BabyBear(v) => group_ok(&v[range]),
        }
    }
}

/// Verifies block proof bytes and returns the block public values they prove. Never panics.
pub fn verify_block_proof(bytes: &[u8]) -> Result<BlockPublicValues, VerifyError> {
    let proof = BlockProof::from_bytes(bytes).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    verify_parsed(&proof)?;
    Ok(proof.block)
}

fn verify_parsed(proof: &BlockProof) -> Result<(), VerifyError> {
    if proof.version != BLOCK_PROOF_VERSION {
        return Err(VerifyError::Unsupported(format!(
            "format version {}",
            proof.version
        )));
    }
    if proof.coverage_version != COVERAGE_VERSION {
        return Err(VerifyError::Unsupported(format!(
            "coverage version {}",
            proof.coverage_version
        )));
    }
    if proof.shards.is_empty() {
        return Err(VerifyError::Empty);
    }
    let chain_values = match Field::from_name(&proof.field) {
        Some(Field::KoalaBear) => verify_shards!(KoalaBear, proof),
        Some(Field::BabyBear) => verify_shards!(BabyBear, proof),
        None => return Err(VerifyError::Unsupported(format!("field {}", proof.field))),
    };
    // Shards come subblock by subblock, in order; each subblock's shards start it, chain, end it.
    let mut start = 0;
    while start < proof.shards.len() {
        let sub = proof.shards[start].subblock;
        if sub >= proof.subblocks || (start > 0 && sub <= proof.shards[start - 1].subblock) {
            return Err(VerifyError::ShardOrder);
        }
        let mut end = start + 1;
        while end < proof.shards.len() && proof.shards[end].subblock == sub {
            end += 1;
        }
        if !chain_values.subblock_ok(start..end) {
            return Err(VerifyError::BrokenChain { subblock: sub });
        }
        start = end;
    }
    Ok(())
}
