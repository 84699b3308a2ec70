//! Proving a block: execute, generate shard traces (in parallel), prove shards (in parallel).

use crate::backend::{BackendField, BackendUnavailable, DeviceSlot, ProverBackend};
use crate::proof::{
    BLOCK_PROOF_VERSION, BlockProof, BlockPublicValues, ShardProof, SubblockPublicValues,
};
use p3_field::PrimeField32;
use rayon::prelude::*;
use slotproof_air::shard::shard_binding;
use slotproof_air::{CoverageTable, coverage::COVERAGE_VERSION, generate_shards};
use slotproof_executor::{
    BlockExecution, BlockInput, DEFAULT_SUBBLOCK_GAS, ExecError, ExecuteOptions, execute_block,
};
use slotproof_prover::{BabyBear, FriSettings, KoalaBear};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why a block could not be proven.
#[derive(Debug, Error)]
pub enum ProveError {
    #[error(transparent)]
    Execution(#[from] ExecError),
    #[error("trace generation of subblock {subblock}: {reason}")]
    TraceGeneration { subblock: usize, reason: String },
    #[error("proving shard {shard} (subblock {subblock}): {reason}")]
    Shard {
        subblock: usize,
        shard: usize,
        reason: String,
    },
    #[error("invalid prover settings: {0}")]
    Settings(String),
    /// The chosen backend cannot run here (see [`crate::ProverBackend`]).
    #[error(transparent)]
    Backend(#[from] BackendUnavailable),
}

/// What [`BlockProver::prove_with_progress`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Execution and trace generation are done; this many shards will be proven.
    ShardsPlanned(usize),
    /// Shard `k` is proven.
    ShardProven(usize),
}

/// Wall time per phase.
#[derive(Clone, Debug, Default)]
pub struct ProveTimings {
    pub execute: Duration,
    pub tracegen: Duration,
    /// Per shard, in proof order (shards are proven in parallel: these overlap).
    pub shards: Vec<Duration>,
    /// Wall time of all shard proving.
    pub prove: Duration,
    pub total: Duration,
}

/// A proven block: the proof, the checked execution it proves and the time it took.
pub struct ProvedBlock {
    pub proof: BlockProof,
    pub execution: BlockExecution,
    pub timings: ProveTimings,
}

/// Trace generation and shard proving over one field (the prover types are per field).
macro_rules! prove_shards {
    ($F:ty, $execution:expr, $block:expr, $subblocks:expr, $max_rows:expr, $progress:expr, $backend:expr, $slot:expr) => {{
        let block_claim = $block.claim();

        let t1 = Instant::now();
        let per_subblock = $execution
            .subblocks
            .par_iter()
            .enumerate()
            .filter(|(_, sb)| !sb.trace.steps.is_empty())
            .map(|(i, sb)| {
                generate_shards::<$F>(&sb.trace, $max_rows)
                    .map(|shards| (i, shards))
                    .map_err(|e| ProveError::TraceGeneration {
                        subblock: i,
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut shards = Vec::new();
        for (i, list) in per_subblock {
            let binding = shard_binding::<$F>(&block_claim, &$subblocks[i].claim());
            for mut s in list {
                s.bind(binding.clone());
                shards.push((i, s));
            }
        }
        let tracegen = t1.elapsed();

        let t2 = Instant::now();
        $progress(Progress::ShardsPlanned(shards.len()));
        let prover = <$F as BackendField>::shard_prover($backend, $slot, FriSettings::DEFAULT)?;
        let proven: Vec<(ShardProof, Duration)> = shards
            .par_iter()
            .enumerate()
            .map(|(k, (i, s))| {
                let ts = Instant::now();
                let err = |reason: String| ProveError::Shard {
                    subblock: *i,
                    shard: k,
                    reason,
                };
                let bytes = prover.prove_shard(s).map_err(err)?;
                $progress(Progress::ShardProven(k));
                Ok((
                    ShardProof {
                        subblock: *i as u32,
                        public_values: canonical(&s.public_values),
                        proof: bytes,
                    },
                    ts.elapsed(),
                ))
            })
            .collect::<Result<Vec<_>, ProveError>>()?;
        let prove = t2.elapsed();
        (proven, tracegen, prove)
    }};
}

/// Proves blocks on the CPU backend (or CUDA, see [`ProverBackend`]). Build with
/// [`BlockProver::builder`].
#[derive(Clone, Debug)]
pub struct BlockProver {
    subblock_gas: u64,
    max_shard_rows: usize,
    field: Field,
    backend: ProverBackend,
    device: DeviceSlot,
}

/// The field shard proofs are made over (both with a degree-4 extension).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Field {
    #[default]
    KoalaBear,
    BabyBear,
}

impl Field {
    /// The name a [`crate::BlockProof`] records.
    pub fn name(self) -> &'static str {
        match self {
            Field::KoalaBear => "koalabear",
            Field::BabyBear => "babybear",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "koalabear" => Some(Field::KoalaBear),
            "babybear" => Some(Field::BabyBear),
            _ => None,
        }
    }
}

/// Settings of a [`BlockProver`].
#[derive(Clone, Debug)]
pub struct BlockProverBuilder {
    subblock_gas: u64,
    max_shard_rows: usize,
    field: Field,
    backend: ProverBackend,
}

/// Default maximum number of EVM steps in one shard.
pub const DEFAULT_MAX_SHARD_ROWS: usize = 1 << 16;

impl Default for BlockProverBuilder {
    fn default() -> Self {
        Self {
            subblock_gas: DEFAULT_SUBBLOCK_GAS,
            max_shard_rows: DEFAULT_MAX_SHARD_ROWS,
            field: Field::KoalaBear,
            backend: ProverBackend::Cpu,
        }
    }
}

impl BlockProverBuilder {
    /// Gas budget of a subblock (see `ExecuteOptions::subblock_gas`).
    pub fn subblock_gas(mut self, gas: u64) -> Self {
        self.subblock_gas = gas;
        self
    }

    /// Maximum number of EVM steps per shard.
    pub fn max_shard_rows(mut self, rows: usize) -> Self {
        self.max_shard_rows = rows;
        self
    }

    /// Field of the shard proofs (KoalaBear by default).
    pub fn field(mut self, field: Field) -> Self {
        self.field = field;
        self
    }

    /// Backend of the shard proofs (the CPU by default; also `.cpu()` / `.cuda(device)`).
    pub fn backend(mut self, backend: ProverBackend) -> Self {
        self.backend = backend;
        self
    }

    pub fn build(self) -> BlockProver {
        BlockProver {
            subblock_gas: self.subblock_gas,
            max_shard_rows: self.max_shard_rows,
            field: self.field,
            backend: self.backend,
            device: DeviceSlot::default(),
        }
    }
}

fn canonical<F: PrimeField32>(v: &[Vec<F>]) -> Vec<Vec<u32>> {
    v.iter()
        .map(|x| x.iter().map(|f| f.as_canonical_u32()).collect())
        .collect()
}

impl BlockProver {
    pub fn builder() -> BlockProverBuilder {
        BlockProverBuilder::default()
    }

    /// The backend shards are proven on.
    pub fn backend(&self) -> ProverBackend {
        self.backend
    }

    /// Checks that the backend can prove here (opens the CUDA device on first use); `prove`
    /// does the same before any work.
    pub fn check_backend(&self) -> Result<(), BackendUnavailable> {
        self.device.ensure(self.backend)
    }

    /// Executes `input` (every header check must pass), then proves every shard of every
    /// subblock.
    pub fn prove(&self, input: &BlockInput) -> Result<ProvedBlock, ProveError> {
        self.prove_with_progress(input, &|_| {})
    }

    /// [`BlockProver::prove`], reporting progress (for progress bars; called from worker threads).
    pub fn prove_with_progress(
        &self,
        input: &BlockInput,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ProvedBlock, ProveError> {
        if self.max_shard_rows < 4 {
            return Err(ProveError::Settings("a shard needs at least 4 rows".into()));
        }
        // Before any work: a backend that cannot run here fails fast.
        self.device.ensure(self.backend)?;
        let t0 = Instant::now();
        let execution = execute_block(
            input,
            &ExecuteOptions {
                subblock_gas: self.subblock_gas,
                record_trace: true,
            },
        )?;
        execution.ensure_checks_pass()?;
        let execute = t0.elapsed();

        let block = BlockPublicValues::of_execution(&execution);
        let subblocks = SubblockPublicValues::of_execution(&execution);
        let (proven, tracegen, prove) = match self.field {
            Field::KoalaBear => prove_shards!(
                KoalaBear,
                execution,
                block,
                subblocks,
                self.max_shard_rows,
                progress,
                self.backend,
                &self.device
            ),
            Field::BabyBear => prove_shards!(
                BabyBear,
                execution,
                block,
                subblocks,
                self.max_shard_rows,
                progress,
                self.backend,
                &self.device
            ),
        };
        let (shard_proofs, shard_times): (Vec<_>, Vec<_>) = proven.into_iter().unzip();

        let proof = BlockProof {
            version: BLOCK_PROOF_VERSION,
            field: self.field.name().into(),
            block,
            subblocks,
            coverage_version: COVERAGE_VERSION,
            coverage: CoverageTable::current().to_json(),
            shards: shard_proofs,
        };
        Ok(ProvedBlock {
            proof,
            execution,
            timings: ProveTimings {
                execute,
                tracegen,
                shards: shard_times,
                prove,
                total: t0.elapsed(),
            },
        })
    }
}
