//! `slotproof bench`: end-to-end block proving latency, per phase, over blocks and repeats.
//!
//! One run = one block proven once: execute (witness check + execution + header checks), trace
//! generation, shard proving, then serialisation and verification of the block proof. Fixtures
//! are parsed (and `--generate-gas` blocks generated) before any run: loading a file is not part
//! of proving a block. The JSON (`--json FILE`) has one entry per run in the shape of
//! zkevm-benchmark-workload's results (`name`, `timestamp_completed`, `metadata`, and
//! `execution` / `proving` / `verification`, each `{"success": {...}}` or
//! `{"crashed": {"reason": ...}}`, absent when the phase did not run), plus our per-phase
//! figures and a summary with nearest-rank percentiles.

use crate::execute::load_block;
use crate::generate::{GenerateKind, format_gas, generate_block, parse_gas, parse_generate_kind};
use crate::peak_memory::PeakMemory;
use crate::prove::ms;
use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};
use slotproof::executor::BlockInput;
use slotproof::{BlockProver, Field, ProveError, verify_block_proof};
use slotproof_executor::DEFAULT_SUBBLOCK_GAS;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Block fixtures (ZK-PIG, EELS flat or EEST blockchain-test JSON); the embedded default
    /// block if none is given and no --generate-gas or --eest either.
    pub fixtures: Vec<PathBuf>,
    #[command(flatten)]
    pub select: crate::eest::EestArgs,
    /// Bench every EEST blockchain test in this file or folder (the last valid block of each),
    /// as zkevm-benchmark-workload does; with --out, write its results in that tool's layout.
    #[arg(long)]
    pub eest: Option<PathBuf>,
    /// With --eest: the metrics folder to write (`hardware.json`, and one BenchmarkRun JSON per
    /// fixture under `<execution client>/<prover>/`).
    #[arg(long, requires = "eest")]
    pub out: Option<PathBuf>,
    /// Proving backend: cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    #[command(flatten)]
    pub devices: crate::prove::DeviceArgs,
    /// Prove every block this many times.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Write every run and the summary as one JSON document to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also bench a generated block of this much gas (e.g. 30M, 60M, 120M; repeatable), of the
    /// --generate-kind, with raised gas limits (see generate-fixtures --gas-target).
    #[arg(long, value_parser = parse_gas)]
    pub generate_gas: Vec<u64>,
    /// What --generate-gas blocks are made of: `mixed` (the `mixed` pattern repeated) or one
    /// transaction looping one opcode family: mulmod, sar, shifts, div, exp, keccak256, mcopy, memexpand,
    /// calldatacopy.
    #[arg(long, default_value = "mixed", value_parser = parse_generate_kind)]
    pub generate_kind: GenerateKind,
    /// Field of the shard proofs: koalabear or babybear.
    #[arg(long, default_value = "koalabear")]
    pub field: String,
    /// Gas budget of a subblock.
    #[arg(long, default_value_t = DEFAULT_SUBBLOCK_GAS)]
    pub subblock_gas: u64,
    /// Maximum EVM steps per shard.
    #[arg(long, default_value_t = slotproof::DEFAULT_MAX_SHARD_ROWS)]
    pub max_rows: usize,
    /// With --backend cuda: time every kernel and copy with CUDA events and print the device
    /// time per kernel (summed over all runs; per run in the JSON). Adds two events per launch.
    #[arg(long)]
    pub kernel_times: bool,
    /// Keep the shard proofs (block proof v2) instead of aggregating them into one proof: end
    /// to end then stops at the verified shard proofs.
    #[arg(long)]
    pub no_aggregate: bool,
    /// Draw end-to-end latency and its phases (median per block) against block gas into this
    /// SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// A block to bench: its display name, where it came from, and its parsed input.
pub(crate) struct Workload {
    pub(crate) name: String,
    pub(crate) source: String,
    pub(crate) input: BlockInput,
}

/// What one run measured. Durations are absent for phases that did not run.
pub(crate) struct Run {
    workload: usize,
    repeat: usize,
    timestamp: SystemTime,
    /// The execution's figures, when execution succeeded.
    block: Option<BlockFigures>,
    execution: Result<Duration, String>,
    /// `None` when proving did not start (execution failed).
    proving: Option<Result<ProvingFigures, String>>,
    /// `None` when there was no proof to verify.
    verification: Option<Result<Duration, String>>,
    /// Whether the verified proof names the executed block (number, hash, roots, gas).
    output_matched: bool,
    pub(crate) end_to_end: Duration,
    peak_rss: Option<u64>,
    start_rss: Option<u64>,
    peak_reset: bool,
    /// Device time per kernel (CUDA with --kernel-times; empty otherwise).
    kernel_times: Vec<slotproof::KernelTime>,
    /// `None` when the run did not aggregate (v2, or no verified shard proofs to aggregate).
    aggregation: Option<Result<AggregationFigures, String>>,
}

/// What aggregating a block's shard proofs into one proof (block proof v3) measured.
struct AggregationFigures {
    leaves: Vec<Duration>,
    internal: Vec<Duration>,
    root: Duration,
    /// Wall time of the aggregation after the last shard proof: every layer when aggregating
    /// afterwards, what shard proving did not hide when overlapped.
    wall: Duration,
    root_proof_size: usize,
    /// The v2 proof's size (the shard proofs the aggregation replaces).
    shard_proofs_size: usize,
}

struct BlockFigures {
    number: u64,
    gas_used: u64,
    transactions: usize,
    steps: usize,
    subblocks: usize,
}

struct ProvingFigures {
    /// Overlaps `shards_wall` when `overlapped`.
    tracegen: Duration,
    overlapped: bool,
    /// Wall time of all shard proving (shards run in parallel).
    shards_wall: Duration,
    shards: Vec<Duration>,
    /// From the end of execution to the serialised proof.
    proving: Duration,
    proof_size: usize,
    /// The largest planned device memory of a shard (computed, not measured).
    planned_device_bytes: u64,
    /// The largest measured resident device memory of a shard (CUDA only).
    measured_device_bytes: Option<u64>,
}

impl Run {
    /// A run whose block could not be prepared for proving (its chain did not execute).
    pub(crate) fn preparation_failed(workload: usize, reason: String) -> Self {
        Self {
            workload,
            repeat: 0,
            timestamp: SystemTime::now(),
            block: None,
            execution: Err(reason),
            proving: None,
            verification: None,
            output_matched: false,
            end_to_end: Duration::ZERO,
            peak_rss: None,
            start_rss: None,
            peak_reset: false,
            kernel_times: Vec::new(),
            aggregation: None,
        }
    }

    pub(crate) fn succeeded(&self) -> bool {
        self.execution.is_ok()
            && matches!(self.proving, Some(Ok(_)))
            && matches!(self.verification, Some(Ok(_)))
            && !matches!(self.aggregation, Some(Err(_)))
            && self.output_matched
    }

    fn aggregated(&self) -> Option<&AggregationFigures> {
        self.aggregation.as_ref().and_then(|a| a.as_ref().ok())
    }

    fn mgas_per_s(&self) -> Option<f64> {
        let gas = self.block.as_ref()?.gas_used as f64;
        Some(gas / 1e6 / self.end_to_end.as_secs_f64())
    }
}

/// The text of a panic payload.
fn panic_reason(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".into()
    }
}

/// Proves and verifies `input` once, then (with `aggregate`: KoalaBear only; a block with shards)
/// aggregates the shard proofs into one proof and verifies that instead, catching errors and
/// panics as crashes of the phase they happened in.
pub(crate) fn run_once(
    prover: &BlockProver,
    input: &BlockInput,
    workload: usize,
    repeat: usize,
    aggregate: bool,
) -> Run {
    let memory = PeakMemory::start();
    let t0 = Instant::now();
    let proved = catch_unwind(AssertUnwindSafe(|| prover.prove(input)));
    let mut run = Run {
        workload,
        repeat,
        timestamp: SystemTime::now(),
        block: None,
        execution: Err(String::new()),
        proving: None,
        verification: None,
        output_matched: false,
        end_to_end: Duration::ZERO,
        peak_rss: None,
        start_rss: memory.start_rss,
        peak_reset: memory.reset,
        kernel_times: Vec::new(),
        aggregation: None,
    };
    match proved {
        Err(payload) => {
            // Which phase panicked is unknown: report it as proving (execution's own errors
            // are typed and never panic).
            run.execution = Ok(Duration::ZERO);
            run.proving = Some(Err(panic_reason(payload)));
        }
        Ok(Err(ProveError::Execution(e))) => run.execution = Err(e.to_string()),
        Ok(Err(e)) => {
            // Backend and settings errors come before execution, trace and shard errors after:
            // either way the proof is what failed.
            run.execution = Ok(Duration::ZERO);
            run.proving = Some(Err(e.to_string()));
        }
        Ok(Ok(mut proved)) => {
            // Aggregated alongside shard proving (the prover's default with `aggregate`).
            let overlapped = proved.aggregated.take();
            let t = &proved.timings;
            let exec = &proved.execution;
            run.block = Some(BlockFigures {
                number: exec.number,
                gas_used: exec.gas_used,
                transactions: exec.transactions,
                steps: exec.steps(),
                subblocks: exec.subblocks.len(),
            });
            run.execution = Ok(t.execute);
            run.kernel_times = proved.kernel_times.clone();
            match proved.proof.to_bytes() {
                Err(e) => run.proving = Some(Err(format!("serialising the proof: {e}"))),
                Ok(bytes) => {
                    let proving = t0.elapsed().saturating_sub(t.execute);
                    run.proving = Some(Ok(ProvingFigures {
                        tracegen: t.tracegen,
                        overlapped: t.overlapped,
                        shards_wall: t.prove,
                        shards: t.shards.clone(),
                        proving,
                        proof_size: bytes.len(),
                        planned_device_bytes: proved.max_planned_device_bytes(),
                        measured_device_bytes: proved.max_measured_device_bytes(),
                    }));
                    let tv = Instant::now();
                    let verified = catch_unwind(|| verify_block_proof(&bytes));
                    let mut verify = tv.elapsed();
                    let aggregate = aggregate
                        && matches!(verified, Ok(Ok(_)))
                        && !proved.proof.shards.is_empty();
                    let tail = t.aggregation_tail.unwrap_or_default();
                    // The final proof replaces the shard proofs: its size and verification
                    // are the run's.
                    let verified = if aggregate {
                        let aggregated = match overlapped {
                            Some(agg) => finish_aggregation(&proved.proof, agg, tail, bytes.len()),
                            None => aggregate_once(&proved.proof, bytes.len()),
                        };
                        match aggregated {
                            Ok((figures, v3)) => {
                                if let Some(Ok(p)) = run.proving.as_mut() {
                                    p.proof_size = v3.len();
                                }
                                run.aggregation = Some(Ok(figures));
                                let tv = Instant::now();
                                let verified = catch_unwind(|| verify_block_proof(&v3));
                                verify = tv.elapsed();
                                verified
                            }
                            Err(reason) => {
                                run.aggregation = Some(Err(reason));
                                verified
                            }
                        }
                    } else {
                        verified
                    };
                    run.verification = Some(match verified {
                        Ok(Ok(block)) => {
                            run.output_matched = block == proved.proof.block
                                && block.number == exec.number
                                && block.gas_used == exec.gas_used
                                && block.block_hash == exec.block_hash.0
                                && block.state_root == exec.state_root.0;
                            Ok(verify)
                        }
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(payload) => Err(panic_reason(payload)),
                    });
                }
            }
        }
    }
    // Only the successful case's figures are a block proof's latency; for crashes this is the
    // time until the crash.
    run.end_to_end = t0.elapsed();
    run.peak_rss = memory.peak();
    run
}

/// Aggregate a verified v2 proof (`shard_proofs_size` bytes) after proving it: the figures
/// and the v3 bytes.
fn aggregate_once(
    proof: &slotproof::BlockProof,
    shard_proofs_size: usize,
) -> Result<(AggregationFigures, Vec<u8>), String> {
    let t = Instant::now();
    let agg = catch_unwind(AssertUnwindSafe(|| {
        slotproof::aggregate::aggregate_block(proof).map_err(|e| e.to_string())
    }))
    .map_err(panic_reason)??;
    finish_aggregation(proof, agg, t.elapsed(), shard_proofs_size)
}

/// The figures and v3 bytes of an aggregation whose wall time (after the last shard proof) was
/// `wall`.
fn finish_aggregation(
    proof: &slotproof::BlockProof,
    agg: slotproof::aggregate::AggregatedBlock,
    wall: Duration,
    shard_proofs_size: usize,
) -> Result<(AggregationFigures, Vec<u8>), String> {
    let v3 = slotproof::aggregated::AggregatedProof::new(proof, &agg)
        .and_then(|p| p.to_bytes())
        .map_err(|e| format!("encoding the aggregated proof: {e}"))?;
    Ok((
        AggregationFigures {
            leaves: agg.times.leaves.clone(),
            internal: agg.times.internal.clone(),
            root: agg.times.root,
            wall,
            root_proof_size: agg.root_proof_bytes,
            shard_proofs_size,
        },
        v3,
    ))
}

/// Per-layer security of an aggregated proof as JSON rows.
pub(crate) fn layer_security_json() -> Value {
    json!(
        slotproof::aggregate::layer_security()
            .iter()
            .map(|(layer, s)| json!({
                "layer": layer,
                "conjectured_bits": s.conjectured_bits,
                "p3_random_words_ldt_bits": s.p3_random_words_ldt_bits,
            }))
            .collect::<Vec<_>>()
    )
}

/// Device time per kernel as JSON rows (CUDA events).
fn kernel_times_json(times: &[slotproof::KernelTime]) -> Value {
    json!(
        times
            .iter()
            .map(|t| json!({"kernel": t.name, "launches": t.launches, "device_ms": t.device_ms}))
            .collect::<Vec<_>>()
    )
}

/// Kernel times of several runs summed per kernel, largest first.
fn sum_kernel_times<'a>(runs: impl Iterator<Item = &'a Run>) -> Vec<slotproof::KernelTime> {
    slotproof::KernelTime::summed(runs.flat_map(|r| r.kernel_times.iter().cloned()))
}

/// Nearest-rank percentile of `values` (any order): the smallest value with at least `p`% of
/// the values at or below it.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn stats(values: &[f64]) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    json!({
        "n": values.len(),
        "p50": percentile(values, 50.0),
        "p90": percentile(values, 90.0),
        "p99": percentile(values, 99.0),
        "min": percentile(values, 0.0),
        "max": percentile(values, 100.0),
        "mean": mean,
    })
}

/// `2026-11-21T18:03:04.123Z` (UTC) without a date-time dependency.
pub fn utc_timestamp(t: SystemTime) -> String {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn duration_json(d: Duration) -> Value {
    json!({"secs": d.as_secs(), "nanos": d.subsec_nanos()})
}

fn crashed(reason: &str) -> Value {
    json!({"crashed": {"reason": reason}})
}

pub(crate) fn run_json(run: &Run, w: &Workload, prover: &BlockProver, field: Field) -> Value {
    let b = run.block.as_ref();
    let mut out = json!({
        "name": w.name,
        "timestamp_completed": utc_timestamp(run.timestamp),
        "metadata": {
            "fixture": w.source,
            "repeat": run.repeat,
            "block_number": b.map(|b| b.number),
            "block_gas_used": b.map(|b| b.gas_used),
            "transactions": b.map(|b| b.transactions),
            "steps": b.map(|b| b.steps),
            "subblocks": b.map(|b| b.subblocks),
            "backend": prover.backend_description(),
            "field": field.name(),
        },
    });
    let obj = out.as_object_mut().expect("an object");
    obj.insert(
        "execution".into(),
        match &run.execution {
            Ok(d) if run.block.is_some() => json!({"success": {
                // Every header check passed (the prover refuses a block that fails one).
                "output_matched": true,
                "execution_duration": duration_json(*d),
                "execution_time_ms": ms(*d),
            }}),
            // Proving failed before or without reporting execution figures.
            Ok(_) => Value::Null,
            Err(reason) => crashed(reason),
        },
    );
    if obj["execution"].is_null() {
        obj.remove("execution");
    }
    if let Some(proving) = &run.proving {
        let verify_ms = match &run.verification {
            Some(Ok(d)) => d.as_millis(),
            _ => 0,
        };
        obj.insert(
            "proving".into(),
            match proving {
                Ok(p) => json!({"success": {
                    "output_matched": run.output_matched,
                    "proof_size": p.proof_size,
                    "proving_time_ms": p.proving.as_millis(),
                    "verification_time_ms": verify_ms,
                    "trace_generation_time_ms": ms(p.tracegen),
                    "trace_generation_overlapped": p.overlapped,
                    "shard_proving_wall_time_ms": ms(p.shards_wall),
                    "shard_proving_time_ms": p.shards.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                    "shards": p.shards.len(),
                    "peak_memory_usage_bytes": run.peak_rss,
                    "initial_memory_usage_bytes": run.start_rss,
                    "peak_memory_reset": run.peak_reset,
                    // Planned (the largest shard's plan), not measured.
                    "peak_device_memory_bytes": p.planned_device_bytes,
                    // CUDA: the largest shard's resident buffers, counted while proving.
                    "measured_resident_device_memory_bytes": p.measured_device_bytes,
                }}),
                Err(reason) => crashed(reason),
            },
        );
    }
    if let Some(verification) = &run.verification {
        obj.insert(
            "verification".into(),
            match verification {
                Ok(d) => json!({"success": {
                    "proof_size": run.proving.as_ref().and_then(|p| p.as_ref().ok()).map(|p| p.proof_size),
                    "verification_time_ms": d.as_millis(),
                    "verification_time_ms_f64": ms(*d),
                }}),
                Err(reason) => crashed(reason),
            },
        );
    }
    if let Some(aggregation) = &run.aggregation {
        obj.insert(
            "aggregation".into(),
            match aggregation {
                Ok(a) => json!({"success": {
                    "aggregation_time_ms": ms(a.wall),
                    "leaf_ms": a.leaves.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                    "internal_ms": a.internal.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                    "root_ms": ms(a.root),
                    "share_of_end_to_end": ms(a.wall) / ms(run.end_to_end).max(f64::MIN_POSITIVE),
                    "root_proof_size": a.root_proof_size,
                    "shard_proofs_size": a.shard_proofs_size,
                    "security_bits": layer_security_json(),
                }}),
                Err(reason) => crashed(reason),
            },
        );
    }
    if !run.kernel_times.is_empty() {
        obj.insert("kernel_times".into(), kernel_times_json(&run.kernel_times));
    }
    obj.insert("end_to_end_ms".into(), json!(ms(run.end_to_end)));
    obj.insert("mgas_per_s".into(), json!(run.mgas_per_s()));
    obj.insert("succeeded".into(), json!(run.succeeded()));
    out
}

/// Per-phase samples over the successful runs `runs`.
struct Samples {
    end_to_end: Vec<f64>,
    execute: Vec<f64>,
    tracegen: Vec<f64>,
    shards_wall: Vec<f64>,
    shard: Vec<f64>,
    verify: Vec<f64>,
    mgas_per_s: Vec<f64>,
    proof_size: Vec<f64>,
    peak_rss: Vec<f64>,
    planned_device: Vec<f64>,
    aggregation: Vec<f64>,
    aggregation_share: Vec<f64>,
}

fn samples<'a>(runs: impl Iterator<Item = &'a Run>) -> Samples {
    let mut s = Samples {
        end_to_end: vec![],
        execute: vec![],
        tracegen: vec![],
        shards_wall: vec![],
        shard: vec![],
        verify: vec![],
        mgas_per_s: vec![],
        proof_size: vec![],
        peak_rss: vec![],
        planned_device: vec![],
        aggregation: vec![],
        aggregation_share: vec![],
    };
    for r in runs.filter(|r| r.succeeded()) {
        let (Ok(exec), Some(Ok(p)), Some(Ok(verify))) = (&r.execution, &r.proving, &r.verification)
        else {
            continue;
        };
        s.end_to_end.push(ms(r.end_to_end));
        s.execute.push(ms(*exec));
        s.tracegen.push(ms(p.tracegen));
        s.shards_wall.push(ms(p.shards_wall));
        s.shard.extend(p.shards.iter().map(|d| ms(*d)));
        s.verify.push(ms(*verify));
        s.mgas_per_s.extend(r.mgas_per_s());
        s.proof_size.push(p.proof_size as f64);
        s.peak_rss.extend(r.peak_rss.map(|b| b as f64));
        s.planned_device.push(p.planned_device_bytes as f64);
        if let Some(a) = r.aggregated() {
            s.aggregation.push(ms(a.wall));
            s.aggregation_share.push(ms(a.wall) / ms(r.end_to_end));
        }
    }
    s
}

fn summary_json(s: &Samples) -> Value {
    json!({
        "end_to_end_ms": stats(&s.end_to_end),
        "execution_ms": stats(&s.execute),
        "trace_generation_ms": stats(&s.tracegen),
        "shard_proving_wall_ms": stats(&s.shards_wall),
        "per_shard_ms": stats(&s.shard),
        "verification_ms": stats(&s.verify),
        "mgas_per_s": stats(&s.mgas_per_s),
        "proof_size_bytes": stats(&s.proof_size),
        "peak_memory_usage_bytes": stats(&s.peak_rss),
        "peak_device_memory_bytes": stats(&s.planned_device),
        "aggregation_ms": stats(&s.aggregation),
        "aggregation_share_of_end_to_end": stats(&s.aggregation_share),
    })
}

fn load_workloads(args: &BenchArgs, progress: bool) -> anyhow::Result<Vec<Workload>> {
    let mut workloads = Vec::new();
    for path in &args.fixtures {
        let (source, input) = crate::eest::load_input(Some(path), &args.select)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| source.clone());
        workloads.push(Workload {
            name,
            source,
            input,
        });
    }
    for &gas in &args.generate_gas {
        let kind = args.generate_kind;
        if progress {
            eprintln!(
                "generating a {} block of {} gas ...",
                kind.name(),
                format_gas(gas)
            );
        }
        let block = generate_block(kind, gas)?;
        // Through the JSON text, exactly as `generate-fixtures --gas-target` writes it.
        let text = slotproof_executor::generate::fixture_text(&block.json)?;
        // The execution is redone by every run; this one is not kept.
        drop(block.execution);
        workloads.push(Workload {
            name: match kind {
                GenerateKind::Mixed => format!("generated-{}", format_gas(gas)),
                GenerateKind::Giant(_) => format!("generated-{}", kind.block_name(gas)),
            },
            source: block.summary,
            input: BlockInput::from_json_str(&text)?,
        });
    }
    if workloads.is_empty() {
        let (source, input) = load_block(None)?;
        workloads.push(Workload {
            name: "mixed.json".into(),
            source,
            input,
        });
    }
    Ok(workloads)
}

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.repeat >= 1, "--repeat must be at least 1");
    let field = Field::from_name(&args.field)
        .ok_or_else(|| anyhow::anyhow!("unknown field `{}` (koalabear or babybear)", args.field))?;
    anyhow::ensure!(
        !args.kernel_times || args.backend == "cuda",
        "--kernel-times times CUDA kernels: it needs --backend cuda"
    );
    // The recursion circuits verify KoalaBear shard proofs only.
    let aggregate = !args.no_aggregate && field == Field::KoalaBear;
    let prover = args
        .devices
        .apply(
            &args.backend,
            aggregate,
            BlockProver::builder()
                .subblock_gas(args.subblock_gas)
                .max_shard_rows(args.max_rows)
                .field(field)
                .profile_kernels(args.kernel_times),
        )?
        .build();
    let backend = prover.backend().to_string();
    // Before loading or generating anything; this also opens the CUDA device, so that the
    // first run does not pay for context creation and kernel loading.
    prover
        .check_backend()
        .with_context(|| format!("backend {backend}"))?;
    if args.eest.is_some() {
        return crate::bench_eest::run(args, &prover, field);
    }
    let progress = args.json.is_none();
    let workloads = load_workloads(args, progress)?;

    let total = workloads.len() * args.repeat;
    let mut runs = Vec::with_capacity(total);
    // Repeats outermost: every block once, then again, so slow drift of a shared machine
    // spreads over all blocks.
    for repeat in 0..args.repeat {
        for (i, w) in workloads.iter().enumerate() {
            if progress {
                eprint!(
                    "[{}/{total}] {} (repeat {}/{}) ... ",
                    runs.len() + 1,
                    w.name,
                    repeat + 1,
                    args.repeat
                );
            }
            let run = run_once(&prover, &w.input, i, repeat, aggregate);
            if progress {
                if run.succeeded() {
                    eprintln!("{:.1} s", run.end_to_end.as_secs_f64());
                } else {
                    eprintln!("FAILED");
                }
            }
            runs.push(run);
        }
    }

    print_table(&runs, &workloads, &prover, field, args);
    if let Some(path) = &args.plot {
        crate::bench_plot::draw(path, &latency_points(&runs, &workloads))
            .with_context(|| format!("drawing {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        let doc = document(&runs, &workloads, &prover, field, args);
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if runs.iter().all(Run::succeeded) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Per block, the median phases of its successful runs (what `--plot` draws).
fn latency_points(runs: &[Run], workloads: &[Workload]) -> Vec<crate::bench_plot::LatencyPoint> {
    workloads
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.workload == i).collect();
            let s = samples(mine.iter().copied());
            let gas = mine
                .iter()
                .find_map(|r| r.block.as_ref().map(|b| b.gas_used))?;
            let median = |v: &[f64]| percentile(v, 50.0).map(|ms| ms / 1e3);
            Some(crate::bench_plot::LatencyPoint {
                name: w.name.clone(),
                mgas: gas as f64 / 1e6,
                end_to_end_s: median(&s.end_to_end)?,
                execute_s: median(&s.execute)?,
                shard_proving_s: median(&s.shards_wall)?,
                aggregation_s: median(&s.aggregation),
                verification_s: median(&s.verify)?,
            })
        })
        .collect()
}

pub(crate) fn host_json() -> Value {
    json!({
        "available_parallelism": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpu_model": std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        }),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

fn document(
    runs: &[Run],
    workloads: &[Workload],
    prover: &BlockProver,
    field: Field,
    args: &BenchArgs,
) -> Value {
    let per_fixture: Vec<Value> = workloads
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.workload == i).collect();
            let s = samples(mine.iter().copied());
            let p50 = percentile(&s.mgas_per_s, 50.0);
            json!({
                "name": w.name,
                "fixture": w.source,
                "block_gas_used": mine.iter().find_map(|r| r.block.as_ref().map(|b| b.gas_used)),
                "runs": mine.len(),
                "succeeded": mine.iter().filter(|r| r.succeeded()).count(),
                "summary": summary_json(&s),
                // At the median throughput: the gas one slot's worth of proving covers.
                "mgas_in_12s_at_p50": p50.map(|m| m * 12.0),
                "mgas_in_8s_at_p50": p50.map(|m| m * 8.0),
            })
        })
        .collect();
    json!({
        "tool": "slotproof bench",
        "version": env!("CARGO_PKG_VERSION"),
        "settings": {
            "backend": prover.backend_description(),
            // The stand-in CUDA driver runs the kernels on the CPU: never a GPU figure.
            "standin_driver": prover.runs_on_standin(),
            "cuda_streams_per_device": prover.cuda_streams(),
            "device_memory_budget_bytes": prover.device_memory_budget(),
            "field": field.name(),
            "repeat": args.repeat,
            "subblock_gas": args.subblock_gas,
            "max_shard_rows": args.max_rows,
            "shards_in_flight": format!("{:?}", prover.shards_in_flight()),
            "stream_trace": prover.streams_trace(),
            "stream_executor": format!("{:?}", prover.streams_executor()).to_lowercase(),
            "generate_kind": args.generate_kind.name(),
            "percentiles": "nearest rank over successful runs",
            "end_to_end": "execution + trace generation + shard proving + proof serialisation + verification + aggregation and the aggregated proof's verification when aggregating (fixture parsing excluded)",
            "proving_time_ms": "trace generation + shard proving + serialisation (after execution)",
            "peak_memory": "host peak RSS per run (/proc VmHWM after a clear_refs reset)",
            "peak_device_memory": "planned, not measured: the largest shard's device memory plan (slotproof_prover::device_memory), on every backend",
            "kernel_times": args.kernel_times,
            "aggregate": !args.no_aggregate,
            "aggregation_overlapped": prover.aggregates(),
            "aggregation": "the shard proofs aggregated into one proof (block proof v3: leaves, internal nodes, root); proof_size and verification are then the aggregated proof's, verified with the verifier's fixed recursion keys. Overlapped (the default): leaves and internal nodes are proven while later shards are, proving_time_ms includes them, and aggregation_time_ms is the wall time from the last shard proof to the root proven and checked; --aggregate-after: aggregation_time_ms is the whole aggregation, after proving_time_ms",
            "security_bits": layer_security_json(),
        },
        "host": host_json(),
        "runs": runs
            .iter()
            .map(|r| run_json(r, &workloads[r.workload], prover, field))
            .collect::<Vec<_>>(),
        "summary": {
            "runs": runs.len(),
            "succeeded": runs.iter().filter(|r| r.succeeded()).count(),
            "all": summary_json(&samples(runs.iter())),
            "per_fixture": per_fixture,
            // CUDA events, summed over every run (empty without --kernel-times).
            "kernel_times": kernel_times_json(&sum_kernel_times(runs.iter())),
        },
    })
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

pub(crate) fn print_table(
    runs: &[Run],
    workloads: &[Workload],
    prover: &BlockProver,
    field: Field,
    args: &BenchArgs,
) {
    println!(
        "backend {} | field {} | max rows {} | subblock gas {} | {} block(s) x {} repeat(s) | {} threads",
        prover.backend_description(),
        field.name(),
        args.max_rows,
        args.subblock_gas,
        workloads.len(),
        args.repeat,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{:<22} {:>3} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7} {:>8} {:>9}  status",
        "block",
        "rep",
        "Mgas",
        "steps",
        "shards",
        "exec ms",
        "trace ms",
        "prove ms",
        "shard max",
        "aggr ms",
        "vrfy ms",
        "e2e ms",
        "Mgas/s",
        "peak MiB",
        "proof KiB"
    );
    for r in runs {
        let w = &workloads[r.workload];
        let b = r.block.as_ref();
        let p = r.proving.as_ref().and_then(|p| p.as_ref().ok());
        let status = if r.succeeded() {
            "ok".to_string()
        } else {
            let reason = match (&r.execution, &r.proving, &r.verification) {
                (Err(e), _, _) => format!("execution: {e}"),
                (_, Some(Err(e)), _) => format!("proving: {e}"),
                (_, _, Some(Err(e))) => format!("verification: {e}"),
                _ => match &r.aggregation {
                    Some(Err(e)) => format!("aggregation: {e}"),
                    _ => "proof names another block".to_string(),
                },
            };
            format!("FAILED {reason}")
        };
        println!(
            "{:<22} {:>3} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9.1} {:>7} {:>8} {:>9}  {status}",
            truncate(&w.name, 22),
            r.repeat + 1,
            fmt_opt(b.map(|b| b.gas_used as f64 / 1e6), 2),
            b.map(|b| b.steps.to_string()).unwrap_or_else(|| "-".into()),
            p.map(|p| p.shards.len().to_string())
                .unwrap_or_else(|| "-".into()),
            fmt_opt(
                r.execution
                    .as_ref()
                    .ok()
                    .filter(|_| b.is_some())
                    .map(|d| ms(*d)),
                1
            ),
            fmt_opt(p.map(|p| ms(p.tracegen)), 1),
            fmt_opt(p.map(|p| ms(p.shards_wall)), 1),
            fmt_opt(p.and_then(|p| p.shards.iter().max()).map(|d| ms(*d)), 1),
            fmt_opt(r.aggregated().map(|a| ms(a.wall)), 1),
            fmt_opt(
                r.verification
                    .as_ref()
                    .and_then(|v| v.as_ref().ok())
                    .map(|d| ms(*d)),
                1
            ),
            ms(r.end_to_end),
            fmt_opt(r.mgas_per_s(), 3),
            fmt_opt(r.peak_rss.map(|b| b as f64 / (1 << 20) as f64), 0),
            fmt_opt(p.map(|p| p.proof_size as f64 / 1024.0), 0),
        );
    }
    let s = samples(runs.iter());
    let ok = runs.iter().filter(|r| r.succeeded()).count();
    println!();
    println!(
        "over {ok} successful run(s) of {} (nearest-rank percentiles; per shard: over all shards)",
        runs.len()
    );
    println!("{:<22} {:>10} {:>10} {:>10}", "", "p50", "p90", "p99");
    let row = |name: &str, v: &[f64], digits: usize| {
        println!(
            "{name:<22} {:>10} {:>10} {:>10}",
            fmt_opt(percentile(v, 50.0), digits),
            fmt_opt(percentile(v, 90.0), digits),
            fmt_opt(percentile(v, 99.0), digits)
        );
    };
    row("end-to-end ms", &s.end_to_end, 1);
    row("execute ms", &s.execute, 1);
    row("trace generation ms", &s.tracegen, 1);
    row("shard proving ms", &s.shards_wall, 1);
    row("per shard ms", &s.shard, 1);
    row("aggregation ms", &s.aggregation, 1);
    row(
        "aggregation share %",
        &s.aggregation_share
            .iter()
            .map(|x| 100.0 * x)
            .collect::<Vec<_>>(),
        1,
    );
    row("verification ms", &s.verify, 1);
    row("Mgas/s", &s.mgas_per_s, 3);
    row(
        "planned device MiB",
        &s.planned_device
            .iter()
            .map(|b| b / f64::from(1 << 20))
            .collect::<Vec<_>>(),
        1,
    );
    row(
        "peak RSS MiB",
        &s.peak_rss
            .iter()
            .map(|b| b / f64::from(1 << 20))
            .collect::<Vec<_>>(),
        0,
    );
    println!();
    println!(
        "{:<22} {:>8} {:>10} {:>8} {:>11} {:>10}",
        "block", "Mgas", "e2e p50 ms", "Mgas/s", "Mgas in 12s", "Mgas in 8s"
    );
    for (i, w) in workloads.iter().enumerate() {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.workload == i).collect();
        let s = samples(mine.iter().copied());
        let gas = mine
            .iter()
            .find_map(|r| r.block.as_ref().map(|b| b.gas_used as f64 / 1e6));
        let m = percentile(&s.mgas_per_s, 50.0);
        println!(
            "{:<22} {:>8} {:>10} {:>8} {:>11} {:>10}",
            truncate(&w.name, 22),
            fmt_opt(gas, 2),
            fmt_opt(percentile(&s.end_to_end, 50.0), 1),
            fmt_opt(m, 3),
            fmt_opt(m.map(|m| m * 12.0), 2),
            fmt_opt(m.map(|m| m * 8.0), 2)
        );
    }
    println!(
        "planned device MiB: the largest shard's device memory plan per run (computed, not measured)"
    );
    let kernels = sum_kernel_times(runs.iter());
    if !kernels.is_empty() {
        let total: f64 = kernels.iter().map(|t| t.device_ms).sum();
        println!();
        println!(
            "device time by kernel, summed over {} runs (CUDA events):",
            runs.len()
        );
        println!(
            "{:<28} {:>9} {:>12} {:>7}",
            "kernel", "launches", "device ms", "share"
        );
        for t in &kernels {
            println!(
                "{:<28} {:>9} {:>12.2} {:>6.1}%",
                truncate(&t.name, 28),
                t.launches,
                t.device_ms,
                100.0 * t.device_ms / total.max(f64::MIN_POSITIVE)
            );
        }
        println!("{:<28} {:>9} {:>12.2}", "total", "", total);
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("~{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&v, 99.0), Some(10.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let t = |s: u64| utc_timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(t(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century year divisible by 400) 12:34:56.
        assert_eq!(t(951_827_696), "2000-02-29T12:34:56.000Z");
        assert_eq!(t(1_795_000_000), "2026-11-18T11:06:40.000Z");
    }
}
