//! `slotproof aggregate`: prove a block, aggregate its shard proofs into one root recursion
//! proof (leaves, internal nodes checking that the shards chain, root), check the root and its
//! public values against the block's claims, and print what each layer took.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use slotproof::aggregate::aggregate_block;

#[derive(Args, Clone)]
pub struct AggregateArgs {
    #[command(flatten)]
    pub block: crate::block_source::BlockSource,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn run(args: &AggregateArgs) -> anyhow::Result<ExitCode> {
    let (source, proved, block_ms) = args.block.prove(args.json)?;
    let shards = proved.proof.shards.len();
    if !args.json {
        eprintln!("block proven in {block_ms:.0} ms ({shards} shards); aggregating ...");
    }
    let t = Instant::now();
    let agg = aggregate_block(&proved.proof)?;
    let aggregate_ms = ms(t.elapsed());
    let leaves: Vec<f64> = agg.times.leaves.iter().copied().map(ms).collect();
    let internal: Vec<f64> = agg.times.internal.iter().copied().map(ms).collect();
    if args.json {
        println!(
            "{}",
            json!({
                "verified": true,
                "shards": shards,
                "block_prove_ms": block_ms,
                "aggregate_ms": aggregate_ms,
                "leaf_ms": leaves,
                "internal_ms": internal,
                "root_ms": ms(agg.times.root),
                "root_proof_bytes": agg.root_proof_bytes,
                "root_keygen_ms": ms(agg.root_keygen_time),
                "root_verify_ms": ms(agg.verify_time),
            })
        );
    } else {
        println!("aggregated {source}: {shards} shards into one root proof");
        println!(
            "leaves {:?} ms; internal nodes {:?} ms; root {:.0} ms (aggregation {aggregate_ms:.0} \
             ms, shard proving {block_ms:.0} ms)",
            leaves.iter().map(|x| x.round()).collect::<Vec<_>>(),
            internal.iter().map(|x| x.round()).collect::<Vec<_>>(),
            ms(agg.times.root)
        );
        println!(
            "root proof {} bytes; root and claims checked in {:.1} ms (root key made in {:.0} ms)",
            agg.root_proof_bytes,
            ms(agg.verify_time),
            ms(agg.root_keygen_time)
        );
    }
    Ok(ExitCode::SUCCESS)
}
