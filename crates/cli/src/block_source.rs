//! The block a recursion command proves before it aggregates (`slotproof leaf`,
//! `slotproof aggregate`): its fixture, and how it is cut into subblocks and shards.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use slotproof::{BlockProver, ProvedBlock};
use slotproof_executor::DEFAULT_SUBBLOCK_GAS;

#[derive(Args, Clone)]
pub struct BlockSource {
    /// Block fixture (ZK-PIG or EELS flat JSON, or an EEST blockchain test); the embedded
    /// default block if omitted.
    pub fixture: Option<PathBuf>,
    #[command(flatten)]
    pub eest: crate::eest::EestArgs,
    /// Gas budget of a subblock.
    #[arg(long, default_value_t = DEFAULT_SUBBLOCK_GAS)]
    pub subblock_gas: u64,
    /// Maximum EVM steps per shard.
    #[arg(long, default_value_t = slotproof::DEFAULT_MAX_SHARD_ROWS)]
    pub max_rows: usize,
}

impl BlockSource {
    /// Load the block and prove it on the CPU: what it is, its proof, and the proving time in
    /// ms. Says what it proves on stderr unless `quiet`.
    pub fn prove(&self, quiet: bool) -> anyhow::Result<(String, ProvedBlock, f64)> {
        let (source, input) = crate::eest::load_input(self.fixture.as_deref(), &self.eest)?;
        if !quiet {
            eprintln!("proving {source} (block {}) ...", input.number());
        }
        let t = Instant::now();
        let proved = BlockProver::builder()
            .subblock_gas(self.subblock_gas)
            .max_shard_rows(self.max_rows)
            .build()
            .prove(&input)?;
        Ok((source, proved, t.elapsed().as_secs_f64() * 1e3))
    }
}
