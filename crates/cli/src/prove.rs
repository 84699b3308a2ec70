//! `slotproof prove` and `slotproof verify`.

use crate::execute::load_block;
use anyhow::Context;
use clap::Args;
use serde_json::json;
use slotproof::{BlockProof, BlockProver, verify_block_proof};
use slotproof_executor::DEFAULT_SUBBLOCK_GAS;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct ProveArgs {
    /// Block fixture (ZK-PIG or EELS flat JSON); the embedded default block if omitted.
    pub fixture: Option<PathBuf>,
    /// Proving backend: cpu, or cuda (a build with `--features cuda`, a CUDA 13 driver, a GPU).
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// CUDA device ordinal (with --backend cuda).
    #[arg(long, default_value_t = 0)]
    pub device: usize,
    /// Field of the shard proofs: koalabear or babybear.
    #[arg(long, default_value = "koalabear")]
    pub field: String,
    /// Gas budget of a subblock.
    #[arg(long, default_value_t = DEFAULT_SUBBLOCK_GAS)]
    pub subblock_gas: u64,
    /// Maximum EVM steps per shard.
    #[arg(long, default_value_t = slotproof::DEFAULT_MAX_SHARD_ROWS)]
    pub max_rows: usize,
    /// Write the block proof here.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ProveArgs {
    pub fn default_block() -> Self {
        Self {
            fixture: None,
            backend: "cpu".into(),
            device: 0,
            field: "koalabear".into(),
            subblock_gas: DEFAULT_SUBBLOCK_GAS,
            max_rows: slotproof::DEFAULT_MAX_SHARD_ROWS,
            output: None,
            json: false,
        }
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn run_prove(args: &ProveArgs) -> anyhow::Result<ExitCode> {
    let backend = slotproof::ProverBackend::from_name(&args.backend, args.device)
        .ok_or_else(|| anyhow::anyhow!("unknown backend `{}` (cpu or cuda)", args.backend))?;
    let field = slotproof::Field::from_name(&args.field)
        .ok_or_else(|| anyhow::anyhow!("unknown field `{}` (koalabear or babybear)", args.field))?;
    let t0 = Instant::now();
    let (source, input) = load_block(args.fixture.as_deref())?;
    let prover = BlockProver::builder()
        .subblock_gas(args.subblock_gas)
        .max_shard_rows(args.max_rows)
        .field(field)
        .backend(backend)
        .build();
    // A backend that cannot run here is an error before anything is printed or executed.
    prover.check_backend()?;
    let bar = indicatif::ProgressBar::hidden();
    if !args.json {
        eprintln!("proving {source} (block {}) ...", input.number());
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} executing and generating traces {elapsed}",
            )
            .expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    let proved = prover.prove_with_progress(&input, &|p| match p {
        slotproof::Progress::ShardsPlanned(n) => {
            bar.set_length(n as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} shards proven {elapsed_precise}",
                )
                .expect("valid template"),
            );
        }
        slotproof::Progress::ShardProven(_) => bar.inc(1),
    })?;
    bar.finish_and_clear();
    let bytes = proved.proof.to_bytes()?;
    let t_verify = Instant::now();
    let verified = verify_block_proof(&bytes).is_ok();
    let verify = t_verify.elapsed();
    if let Some(out) = &args.output {
        std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    }
    let exec = &proved.execution;
    let t = &proved.timings;
    let share = exec
        .subblocks
        .iter()
        .map(|s| slotproof_air::coverage::constrained_share(&s.trace))
        .fold((0usize, 0usize), |(c, n), r| {
            (c + r.constrained_steps, n + r.steps)
        });
    let share_pct = if share.1 == 0 {
        100.0
    } else {
        100.0 * share.0 as f64 / share.1 as f64
    };
    if args.json {
        let out = json!({
            "fixture": source,
            "block_number": exec.number,
            "gas_used": exec.gas_used,
            "transactions": exec.transactions,
            "steps": exec.steps(),
            "subblocks": exec.subblocks.len(),
            "shards": proved.proof.shards.len(),
            "shards_with_carried_state": proved.proof.shards_with_carried_state(),
            "proof_bytes": bytes.len(),
            "phases_ms": {
                "execute": ms(t.execute),
                "tracegen": ms(t.tracegen),
                "prove": ms(t.prove),
                "prove_per_shard": t.shards.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "verify": ms(verify),
            },
            "total_ms": ms(t0.elapsed()),
            "verified": verified,
            "coverage": {
                "version": proved.proof.coverage_version,
                "constrained_step_share": share_pct / 100.0,
            },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("fixture      {source}");
        println!(
            "block        {} ({} txs, {} gas, {} steps)",
            exec.number,
            exec.transactions,
            exec.gas_used,
            exec.steps()
        );
        println!(
            "subblocks    {}   shards {} ({} take state carried across a cut inside a transaction: trusted)",
            exec.subblocks.len(),
            proved.proof.shards.len(),
            proved.proof.shards_with_carried_state()
        );
        println!(
            "phase        execute {:.1} ms | tracegen {:.1} ms | prove {:.1} ms | verify {:.1} ms | total {:.1} ms",
            ms(t.execute),
            ms(t.tracegen),
            ms(t.prove),
            ms(verify),
            ms(t0.elapsed())
        );
        for (i, d) in t.shards.iter().enumerate() {
            println!(
                "  shard {i:<3} subblock {:<3} {:.1} ms",
                proved.proof.shards[i].subblock,
                ms(*d)
            );
        }
        println!(
            "proof        {} bytes{}",
            bytes.len(),
            args.output
                .as_ref()
                .map(|o| format!(" -> {}", o.display()))
                .unwrap_or_default()
        );
        println!("verified     {verified}");
        println!(
            "coverage     v{}: {share_pct:.1}% of steps fully constrained, the rest trusted; block-level checks are verifier-checked on prover-supplied values or trusted (slotproof coverage)",
            proved.proof.coverage_version
        );
    }
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Args, Clone)]
pub struct VerifyArgs {
    /// A block proof written by `slotproof prove -o`.
    pub proof: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run_verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.proof).with_context(|| format!("reading {}", args.proof.display()))?;
    let t0 = Instant::now();
    let result = verify_block_proof(&bytes);
    let elapsed = ms(t0.elapsed());
    let (shards, subblocks, carried) = BlockProof::from_bytes(&bytes)
        .map(|p| {
            (
                p.shards.len(),
                p.subblocks.len(),
                p.shards_with_carried_state(),
            )
        })
        .unwrap_or((0, 0, 0));
    match &result {
        Ok(block) => {
            if args.json {
                println!(
                    "{}",
                    json!({"verified": true, "block_number": block.number, "gas_used": block.gas_used,
                    "block_hash": format!("0x{}", hex(&block.block_hash)), "state_root": format!("0x{}", hex(&block.state_root)),
                    "transactions": block.transactions, "subblocks": subblocks, "shards": shards, "shards_with_carried_state": carried, "verify_ms": elapsed})
                );
            } else {
                println!(
                    "valid: block {} (hash 0x{}), {} txs, {} gas, {subblocks} subblocks, {shards} shards ({carried} with carried state), verified in {elapsed:.1} ms",
                    block.number,
                    hex(&block.block_hash),
                    block.transactions,
                    block.gas_used,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({"verified": false, "error": e.to_string(), "verify_ms": elapsed})
                );
            } else {
                println!("INVALID: {e}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn hex(b: &[u8]) -> String {
    alloy_primitives::hex::encode(b)
}
