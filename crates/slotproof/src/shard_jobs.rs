//! Distributed proving: a block's shards planned once, proven in subsets on any number of
//! machines, and assembled into the block proof a single process makes.
//!
//! Every machine re-executes the block from its input and regenerates every shard's trace
//! (execution and trace generation are deterministic for the same [`BlockProver`] settings), so
//! shard `k` is the same shard everywhere; only the shards asked for are proven. The plan
//! ([`ShardPlan`]: the block's claims and the subblock of each shard) is what a worker checks its
//! own against before it trusts a job. The CPU never cuts shards to a memory budget; with CUDA
//! the cuts depend on the device's free memory unless a fixed
//! [`crate::BlockProverBuilder::device_memory_budget`] is set on every machine, and a worker
//! whose plan differs refuses the job ([`ShardJobError::PlanMismatch`]).

use crate::proof::{
    BLOCK_PROOF_VERSION, BlockProof, BlockPublicValues, ShardProof, SubblockPublicValues,
};
use crate::prove::{BlockProver, CancelToken, ProveError};
use serde::{Deserialize, Serialize};
use slotproof_air::{CoverageTable, coverage::COVERAGE_VERSION};
use slotproof_executor::BlockInput;
use std::collections::BTreeSet;
use thiserror::Error;

/// Why a shard subset could not be proven or a block proof assembled.
#[derive(Debug, Error)]
pub enum ShardJobError {
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// A shard index the block does not have.
    #[error("shard {shard} asked for, but the block has {shards} shards")]
    NoSuchShard { shard: usize, shards: usize },
    /// This machine's plan is not the one the job was made from (other settings, or a
    /// device-dependent memory budget).
    #[error("this machine plans the block differently from the job's plan ({reason})")]
    PlanMismatch { reason: String },
    /// Assembly got the wrong number of shard proofs.
    #[error("{got} shard proofs for a block of {shards} shards")]
    ShardCount { got: usize, shards: usize },
    /// Shard `shard`'s proof is for another subblock than the plan's.
    #[error("shard {shard} is proven for subblock {got}, the plan says {planned}")]
    WrongSubblock {
        shard: usize,
        got: u32,
        planned: u32,
    },
}

/// A block's shards as [`BlockProver`] cuts them: what a coordinator publishes jobs for and
/// assembles against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPlan {
    /// The field's name ([`crate::Field::name`]).
    pub field: String,
    pub block: BlockPublicValues,
    pub subblocks: Vec<SubblockPublicValues>,
    /// The subblock of each shard, in proof order (its length is the shard count).
    pub shard_subblocks: Vec<u32>,
}

impl ShardPlan {
    pub fn shard_count(&self) -> usize {
        self.shard_subblocks.len()
    }

    /// `Ok` when `other` (a worker's own plan) is this one.
    pub fn check_same(&self, other: &ShardPlan) -> Result<(), ShardJobError> {
        let reason = if self.field != other.field {
            format!("field {} vs {}", other.field, self.field)
        } else if self.shard_subblocks != other.shard_subblocks {
            format!("{} shards vs {}", other.shard_count(), self.shard_count())
        } else if self.block != other.block || self.subblocks != other.subblocks {
            "other block or subblock claims".into()
        } else {
            return Ok(());
        };
        Err(ShardJobError::PlanMismatch { reason })
    }

    /// The block proof (version [`BLOCK_PROOF_VERSION`]) from every shard's proof, in proof
    /// order: byte for byte what [`BlockProver::prove`] gives with the same settings.
    pub fn assemble(&self, shards: Vec<ShardProof>) -> Result<BlockProof, ShardJobError> {
        if shards.len() != self.shard_count() {
            return Err(ShardJobError::ShardCount {
                got: shards.len(),
                shards: self.shard_count(),
            });
        }
        for (k, (proof, &planned)) in shards.iter().zip(&self.shard_subblocks).enumerate() {
            if proof.subblock != planned {
                return Err(ShardJobError::WrongSubblock {
                    shard: k,
                    got: proof.subblock,
                    planned,
                });
            }
        }
        Ok(BlockProof {
            version: BLOCK_PROOF_VERSION,
            field: self.field.clone(),
            block: self.block.clone(),
            subblocks: self.subblocks.clone(),
            coverage_version: COVERAGE_VERSION,
            coverage: CoverageTable::current().to_json(),
            shards,
        })
    }
}

/// Some of a block's shards, proven ([`BlockProver::prove_shard_subset`]).
pub struct ProvenSubset {
    /// This machine's plan of the block.
    pub plan: ShardPlan,
    /// `(index, proof)` of each shard asked for, by index.
    pub shards: Vec<(usize, ShardProof)>,
}

impl BlockProver {
    /// Executes `input` and cuts it into shards without proving any: the plan a coordinator
    /// publishes one job per shard for. Trace generation runs in full (the cuts depend on it).
    pub fn plan_shards(
        &self,
        input: &BlockInput,
        cancel: &CancelToken,
    ) -> Result<ShardPlan, ShardJobError> {
        Ok(self.prove_shard_subset(input, &[], cancel)?.plan)
    }

    /// Executes `input`, regenerates every shard and proves only the shards `shards` (indices
    /// in proof order, as [`BlockProver::prove`] numbers them). Without aggregation: the
    /// assembled block proof is aggregated as a whole ([`crate::aggregate::aggregate_block`]).
    pub fn prove_shard_subset(
        &self,
        input: &BlockInput,
        shards: &[usize],
        cancel: &CancelToken,
    ) -> Result<ProvenSubset, ShardJobError> {
        let only: BTreeSet<usize> = shards.iter().copied().collect();
        let (_, _, block, subblocks, proven) =
            self.execute_and_prove(input, &|_| {}, cancel, Some(only.clone()))?;
        let plan = ShardPlan {
            field: self.field().name().into(),
            block,
            subblocks,
            shard_subblocks: proven.planned.iter().map(|&s| s as u32).collect(),
        };
        if let Some(&shard) = only.iter().find(|&&k| k >= plan.shard_count()) {
            return Err(ShardJobError::NoSuchShard {
                shard,
                shards: plan.shard_count(),
            });
        }
        let shards = proven
            .shards
            .into_iter()
            .map(|p| (p.report.index, p.proof))
            .collect();
        Ok(ProvenSubset { plan, shards })
    }
}
