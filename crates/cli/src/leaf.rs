//! `slotproof leaf`: prove a block's shard, then the leaf recursion proof that the shard proof
//! verifies, and check the leaf with the stock batch-STARK verifier.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use slotproof::leaf::{LEAF_SETTINGS, prove_leaf, shard_leaf, verify_leaf};
use slotproof::prover::{CpuShardProver, ShardProver, proof_to_bytes};
use slotproof::recursion::config::Val;

#[derive(Args, Clone)]
pub struct LeafArgs {
    #[command(flatten)]
    pub block: crate::block_source::BlockSource,
    /// The shard whose proof the leaf verifies (its index in the block proof).
    #[arg(long, default_value_t = 0)]
    pub shard: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &LeafArgs) -> anyhow::Result<ExitCode> {
    let (source, proved, block_ms) = args.block.prove(args.json)?;
    let steps = proved
        .shards
        .get(args.shard)
        .map(|s| s.steps.end - s.steps.start);
    if !args.json {
        eprintln!(
            "block proven in {block_ms:.0} ms ({} shards); building the leaf of shard {} ...",
            proved.proof.shards.len(),
            args.shard
        );
    }

    let t = Instant::now();
    let (circuit, witness) = shard_leaf(&proved.proof, args.shard)?;
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS);
    let t = Instant::now();
    let key = circuit.keygen(&prover)?;
    let keygen_ms = t.elapsed().as_secs_f64() * 1e3;
    let proven = prove_leaf(&prover, &key, &circuit, &witness)?;
    let leaf_prove_ms = (proven.witness_time + proven.prove_time).as_secs_f64() * 1e3;
    let leaf_proof_bytes = proof_to_bytes(&proven.proof.proof)?.len();
    let t = Instant::now();
    let verdict = verify_leaf(&prover, &key, &circuit, &proven.proof);
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    let verified = verdict.is_ok();
    let rows = circuit.rows();
    let phases = circuit.program.rows_by_phase();

    if args.json {
        let rows_json: BTreeMap<&str, usize> = rows.iter().map(|r| (r.table, r.rows)).collect();
        let out = json!({
            "verified": verified,
            "shard": args.shard,
            "shard_steps": steps,
            "rows": rows_json,
            "rows_by_phase": phases.iter().map(|p| json!({
                "phase": p.phase, "alu": p.alu, "poseidon2": p.poseidon2, "horner": p.horner,
                "decompose": p.decompose,
            })).collect::<Vec<_>>(),
            "leaf_prove_ms": leaf_prove_ms,
            "leaf_witness_ms": proven.witness_time.as_secs_f64() * 1e3,
            "leaf_build_ms": build_ms,
            "leaf_keygen_ms": keygen_ms,
            "leaf_verify_ms": verify_ms,
            "leaf_proof_bytes": leaf_proof_bytes,
            "leaf_public_values": witness.public_values.len(),
            "block_prove_ms": block_ms,
        });
        println!("{out}");
    } else {
        println!(
            "leaf of shard {} ({} steps) of {source}",
            args.shard,
            steps.unwrap_or(0)
        );
        println!("{:<12} {:>10} {:>10}", "table", "rows", "padded");
        for r in &rows {
            println!("{:<12} {:>10} {:>10}", r.table, r.rows, r.padded_rows);
        }
        println!(
            "{:<28} {:>8} {:>10} {:>8} {:>10}",
            "verifier phase", "alu", "poseidon2", "horner", "decompose"
        );
        for p in &phases {
            println!(
                "{:<28} {:>8} {:>10} {:>8} {:>10}",
                p.phase, p.alu, p.poseidon2, p.horner, p.decompose
            );
        }
        println!(
            "circuit built in {build_ms:.0} ms, key in {keygen_ms:.0} ms; leaf proven in \
             {leaf_prove_ms:.0} ms (witness {:.0} ms); proof {leaf_proof_bytes} bytes; verified \
             {verified} in {verify_ms:.1} ms",
            proven.witness_time.as_secs_f64() * 1e3
        );
    }
    match verdict {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: the leaf proof does not verify: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
