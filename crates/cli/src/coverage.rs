//! `slotproof coverage`: the coverage table, the constrained share of a block's steps, and
//! (with `--prove`) shard proofs of its subblocks.

use clap::Args;
use serde_json::json;
use slotproof_air::coverage::{ShareReport, constrained_share};
use slotproof_air::{CoverageTable, generate_shards};
use slotproof_executor::{DEFAULT_SUBBLOCK_GAS, ExecuteOptions, execute_block};
use slotproof_prover::{CpuShardProver, FriSettings, KoalaBear, ShardProver};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Clone)]
pub struct CoverageArgs {
    /// Block fixture; the embedded default block if omitted.
    pub fixture: Option<PathBuf>,
    #[arg(long, default_value_t = DEFAULT_SUBBLOCK_GAS)]
    pub subblock_gas: u64,
    /// Prove (and verify) shards of every subblock with the CPU backend (KoalaBear).
    #[arg(long)]
    pub prove: bool,
    /// Steps per shard.
    #[arg(long, default_value_t = 1 << 16)]
    pub max_rows: usize,
    /// Prove at most this many shards per subblock.
    #[arg(long, default_value_t = usize::MAX)]
    pub shards: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &CoverageArgs) -> anyhow::Result<ExitCode> {
    let table = CoverageTable::current();
    let (source, input) = crate::execute::load_block(args.fixture.as_deref())?;
    let exec = execute_block(
        &input,
        &ExecuteOptions {
            subblock_gas: args.subblock_gas,
            record_trace: true,
        },
    )?;
    let mut total = ShareReport::default();
    let mut subblocks = Vec::new();
    let prover: CpuShardProver<KoalaBear> = ShardProver::cpu(FriSettings::DEFAULT);
    for (i, sb) in exec.subblocks.iter().enumerate() {
        let r = constrained_share(&sb.trace);
        total.add(&r);
        let mut proofs = Vec::new();
        if args.prove && !sb.trace.steps.is_empty() {
            let t0 = Instant::now();
            let shards = generate_shards::<KoalaBear>(&sb.trace, args.max_rows)?;
            let tracegen = t0.elapsed().as_secs_f64();
            for s in shards.iter().take(args.shards) {
                let t1 = Instant::now();
                let proof = prover
                    .prove(&s.airs, &s.traces, &s.public_values)
                    .map_err(|e| anyhow::anyhow!("subblock {i} steps {:?}: {e}", s.steps))?;
                let prove_s = t1.elapsed().as_secs_f64();
                prover
                    .verify(&s.airs, &proof, &s.public_values)
                    .map_err(|e| anyhow::anyhow!("subblock {i} steps {:?}: {e}", s.steps))?;
                let heights: Vec<usize> =
                    s.traces.iter().map(|t| t.values.len() / t.width).collect();
                proofs.push(json!({"steps": [s.steps.start, s.steps.end], "prove_s": prove_s, "heights": heights}));
            }
            // The verifier-side rules between shards of the subblock.
            let chained = shards.windows(2).all(|w| {
                slotproof_air::shard::chains(&w[0].cpu_public, &w[1].cpu_public)
                    && slotproof_air::shard::carries_on(&w[0].public_values, &w[1].public_values)
            }) && slotproof_air::shard::subblock_ends(
                &shards[0],
                shards.last().expect("non-empty"),
            );
            anyhow::ensure!(chained, "subblock {i}: shards do not chain");
            proofs.push(json!({"tracegen_s_all_shards": tracegen, "shards": shards.len(), "chained": chained}));
        }
        subblocks.push(
            json!({"subblock": i, "steps": r.steps, "constrained_steps": r.constrained_steps,
            "exceptional_steps": r.exceptional_steps, "share": r.share(),
            "untainted_steps": r.untainted_steps, "untainted_share": r.untainted_share(), "proofs": proofs}),
        );
    }
    if args.json {
        let out = json!({"fixture": source, "coverage": table, "share": total.share(), "steps": total.steps,
            "constrained_steps": total.constrained_steps, "untainted_share": total.untainted_share(),
            "untainted_steps": total.untainted_steps, "trusted_by_opcode": total.trusted_by_opcode,
            "subblocks": subblocks});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", table.render());
        println!(
            "\n{source}: {} steps, {:.1}% fully constrained ({} constrained, {} exceptional)",
            total.steps,
            100.0 * total.share(),
            total.constrained_steps,
            total.exceptional_steps
        );
        println!(
            "{:.1}% constrained with every consumed stack item from untainted steps ({} steps; an item pushed by a trusted step, or computed from one, is tainted)",
            100.0 * total.untainted_share(),
            total.untainted_steps
        );
        let top: Vec<String> = total
            .trusted_by_opcode
            .iter()
            .take(10)
            .map(|(n, c)| format!("{n} {c}"))
            .collect();
        println!("most frequent trusted opcodes: {}", top.join(", "));
        for s in &subblocks {
            println!("{s}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
