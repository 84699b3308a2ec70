//! A real EVM shard for the tests: the first shard of `fixtures/transfers.json`, cut small.

use slotproof_air::shard::{Shard, generate_shards};
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};
use slotproof_recursion::config::Val;

/// Steps per shard: small, so the tests stay fast (the chip tables keep their fixed sizes).
pub const SHARD_ROWS: usize = 256;

/// The first shard of the `transfers` block (every EVM chip), at most [`SHARD_ROWS`] steps.
pub fn transfers_first_shard() -> Shard<Val> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let input = BlockInput::from_path(path).expect("fixture parses");
    let exec = execute_block(&input, &ExecuteOptions::default()).expect("fixture executes");
    generate_shards::<Val>(&exec.subblocks[0].trace, SHARD_ROWS)
        .expect("shards")
        .swap_remove(0)
}

/// A block's shards, cut at `rows` steps, each bound to the block's claim and its subblock's
/// (with a made-up boundary digest: the tree checks bindings, not what they hash).
pub struct BoundShards {
    /// Per shard: its subblock index and the shard.
    pub shards: Vec<(u64, Shard<Val>)>,
    pub block: slotproof_air::shard::BlockClaim,
    pub subblocks: Vec<slotproof_air::shard::SubblockClaim>,
    /// The block context every shard carries (`slotproof_air::block_context`).
    pub context: Vec<Val>,
}

/// The shards of fixture `name` (under `fixtures/`), bound as `slotproof prove` binds them.
pub fn bound_shards(name: &str, subblock_gas: u64, rows: usize) -> BoundShards {
    use slotproof_air::shard::{BlockClaim, SubblockClaim, shard_binding};
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let input = BlockInput::from_path(&path).expect("fixture parses");
    let options = ExecuteOptions {
        subblock_gas,
        ..ExecuteOptions::default()
    };
    let exec = execute_block(&input, &options).expect("fixture executes");
    let block = BlockClaim {
        number: exec.number,
        gas_used: exec.gas_used,
        transactions: exec.transactions as u64,
        block_hash: exec.block_hash.0,
        parent_state_root: exec.parent_state_root.0,
        state_root: exec.state_root.0,
    };
    let mut gas = 0;
    let mut subblocks = Vec::new();
    let mut shards = Vec::new();
    for sb in &exec.subblocks {
        let claim = SubblockClaim {
            index: sb.index as u64,
            steps: sb.trace.steps.len() as u64,
            gas_start: gas,
            gas_end: gas + sb.gas_used,
            first_tx: sb.transactions.start as u64,
            tx_count: sb.transactions.len() as u64,
            boundary_digest: [sb.index as u8; 32],
        };
        gas += sb.gas_used;
        if !sb.trace.steps.is_empty() {
            for mut shard in generate_shards::<Val>(&sb.trace, rows).expect("shards") {
                shard.bind(shard_binding(&block, &claim));
                shards.push((claim.index, shard));
            }
        }
        subblocks.push(claim);
    }
    let context = slotproof_air::block_context::public_values(&exec.context).expect("context");
    BoundShards {
        context,
        shards,
        block,
        subblocks,
    }
}
