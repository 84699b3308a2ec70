//! Prove and verify a block with the slotproof library, as an operator would embed it.
//!
//! `cargo run --release -p slotproof --example prove_block -- [FIXTURE]`
//! (default: the project's own `fixtures/transfers.json`).

use slotproof::executor::BlockInput;
use slotproof::{BlockProver, verify_block_proof};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json").to_string()
    });
    let input = BlockInput::from_path(&path)?;

    // Execute, check against the header, prove every shard (in parallel).
    let prover = BlockProver::builder().max_shard_rows(1 << 14).build();
    let proved = prover.prove(&input)?;
    let bytes = proved.proof.to_bytes()?;
    println!(
        "block {}: {} shards, {} proof bytes, proved in {:.1} s",
        proved.proof.block.number,
        proved.proof.shards.len(),
        bytes.len(),
        proved.timings.total.as_secs_f64()
    );

    // A verifier needs only the bytes.
    let block = verify_block_proof(&bytes)?;
    println!(
        "verified: block {} uses {} gas",
        block.number, block.gas_used
    );
    Ok(())
}
