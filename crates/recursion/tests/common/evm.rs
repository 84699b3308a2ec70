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
