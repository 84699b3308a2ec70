//! `slotproof prove` and `slotproof verify`.

use anyhow::Context;
use clap::Args;
use serde_json::json;
use slotproof::aggregate::AggregationProgress;
use slotproof::{BlockProof, BlockProver, verify_block_proof};
use slotproof_executor::DEFAULT_SUBBLOCK_GAS;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct ProveArgs {
    /// Block fixture (ZK-PIG, EELS flat or EEST blockchain-test JSON); the embedded default
    /// block if omitted.
    pub fixture: Option<PathBuf>,
    #[command(flatten)]
    pub eest: crate::eest::EestArgs,
    /// Proving backend: cpu, or cuda (a build with `--features cuda`, a CUDA 13 driver, a GPU).
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Field of the shard proofs: koalabear or babybear.
    #[arg(long, default_value = "koalabear")]
    pub field: String,
    /// Gas budget of a subblock.
    #[arg(long, default_value_t = DEFAULT_SUBBLOCK_GAS)]
    pub subblock_gas: u64,
    /// Maximum EVM steps per shard.
    #[arg(long, default_value_t = slotproof::DEFAULT_MAX_SHARD_ROWS)]
    pub max_rows: usize,
    /// Write the block proof here (v3, one aggregated proof; v2 with `--no-aggregate`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Keep the shard proofs (block proof v2) instead of aggregating them into one proof.
    #[arg(long)]
    pub no_aggregate: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ProveArgs {
    pub fn default_block() -> Self {
        Self {
            fixture: None,
            eest: crate::eest::EestArgs::default(),
            backend: "cpu".into(),
            devices: DeviceArgs::default(),
            field: "koalabear".into(),
            subblock_gas: DEFAULT_SUBBLOCK_GAS,
            max_rows: slotproof::DEFAULT_MAX_SHARD_ROWS,
            output: None,
            no_aggregate: false,
            json: false,
        }
    }
}

/// Where and how shards are proven, and how much device memory one may plan for (prove and
/// bench).
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct DeviceArgs {
    /// CUDA device ordinals, comma-separated (with --backend cuda), e.g. `--device 0,1`: each
    /// device takes the next shard whenever one of its streams is free.
    #[arg(long = "device", value_delimiter = ',', default_value = "0")]
    pub devices: Vec<usize>,
    /// Shards in flight at once per CUDA device, one stream each (they share its memory).
    #[arg(long, default_value_t = slotproof::DEFAULT_CUDA_STREAMS)]
    pub streams: usize,
    /// Device memory one shard may plan for, in bytes (suffix K, M or G: KiB, MiB, GiB), on any
    /// backend: larger shards are cut until they fit. With cuda the devices' free memory per
    /// stream also caps it.
    #[arg(long, value_parser = parse_bytes)]
    pub device_memory_budget: Option<u64>,
    /// Generate every shard's traces before proving any (default: the first shards are proven
    /// while the next are generated; the proof is the same).
    #[arg(long)]
    pub no_overlap: bool,
    /// Shards generated and not yet proven at once (bounds memory on long subblocks, e.g. one
    /// giant transaction); `auto` (the default: 2 on the CPU, one per CUDA stream plus one), a
    /// number, or `all` (every shard of a subblock generated at once). The proof is the same.
    #[arg(long, default_value = "auto", value_parser = parse_shards_in_flight)]
    pub shards_in_flight: slotproof::ShardsInFlight,
    /// Analyse each subblock whole before its first shard (default, with shards streamed: shard
    /// by shard as they are generated, holding one shard's analysis; the proof is the same).
    #[arg(long)]
    pub no_stream: bool,
    /// `on`: run the block untraced first, then record its trace on a thread of its own
    /// straight into shard generation, dropping the records of shards already generated
    /// (issue 18; needs shards streamed; the proof is the same). `auto` (default): so where a
    /// subblock is longer than 8 shards (one giant transaction), else record it whole. `off`.
    #[arg(long, default_value = "auto", value_parser = parse_stream_executor)]
    pub stream_executor: slotproof::StreamExecutor,
    /// Aggregate after every shard is proven (default: a shard's leaf is proven as soon as its
    /// shard proof exists, an internal node as soon as both children are; the proof is the
    /// same).
    #[arg(long)]
    pub aggregate_after: bool,
}

/// `auto`, `all` or a positive number of shards.
pub fn parse_shards_in_flight(s: &str) -> Result<slotproof::ShardsInFlight, String> {
    use slotproof::ShardsInFlight;
    match s.trim() {
        "auto" => Ok(ShardsInFlight::Auto),
        "all" => Ok(ShardsInFlight::Unbounded),
        n => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(ShardsInFlight::AtMost(n)),
            _ => Err(format!(
                "`{s}` is not auto, all or a positive number of shards"
            )),
        },
    }
}

/// `--stream-executor`: `auto`, `on` or `off`.
pub fn parse_stream_executor(s: &str) -> Result<slotproof::StreamExecutor, String> {
    use slotproof::StreamExecutor;
    match s.trim() {
        "auto" => Ok(StreamExecutor::Auto),
        "on" => Ok(StreamExecutor::On),
        "off" => Ok(StreamExecutor::Off),
        _ => Err(format!("`{s}` is not auto, on or off")),
    }
}

impl Default for DeviceArgs {
    fn default() -> Self {
        Self {
            devices: vec![0],
            streams: slotproof::DEFAULT_CUDA_STREAMS,
            device_memory_budget: None,
            no_overlap: false,
            shards_in_flight: slotproof::ShardsInFlight::Auto,
            no_stream: false,
            stream_executor: slotproof::StreamExecutor::Auto,
            aggregate_after: false,
        }
    }
}

impl DeviceArgs {
    /// The builder with `backend` (cpu or cuda) on these devices and settings; with
    /// `aggregate`, aggregation overlapped with shard proving unless `--aggregate-after`.
    pub fn apply(
        &self,
        backend: &str,
        aggregate: bool,
        builder: slotproof::BlockProverBuilder,
    ) -> anyhow::Result<slotproof::BlockProverBuilder> {
        Ok(self.apply_backend(self.backend(backend)?, aggregate, builder))
    }

    /// `backend` (cpu or cuda) on these devices.
    pub fn backend(&self, backend: &str) -> anyhow::Result<slotproof::ProverBackend> {
        slotproof::ProverBackend::from_name(backend, &self.devices)
            .ok_or_else(|| anyhow::anyhow!("unknown backend `{backend}` (cpu or cuda)"))
    }

    /// [`Self::apply`] with the backend already resolved.
    pub fn apply_backend(
        &self,
        backend: slotproof::ProverBackend,
        aggregate: bool,
        builder: slotproof::BlockProverBuilder,
    ) -> slotproof::BlockProverBuilder {
        builder
            .backend(backend)
            .cuda_streams(self.streams)
            .device_memory_budget(self.device_memory_budget)
            .overlap_tracegen(!self.no_overlap)
            .shards_in_flight(self.shards_in_flight)
            .stream_trace(!self.no_stream)
            .stream_executor(self.stream_executor)
            .aggregate(aggregate && !self.aggregate_after)
    }
}

/// Bytes, optionally with a binary suffix: `512M`, `8G`, `1048576`.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a byte count (e.g. 1048576, 512M, 8G)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{s}` bytes overflow"))
}

pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn run_prove(args: &ProveArgs) -> anyhow::Result<ExitCode> {
    let field = slotproof::Field::from_name(&args.field)
        .ok_or_else(|| anyhow::anyhow!("unknown field `{}` (koalabear or babybear)", args.field))?;
    let t0 = Instant::now();
    let (source, input) = crate::eest::load_input(args.fixture.as_deref(), &args.eest)?;
    // Aggregation: KoalaBear only (the recursion circuits verify KoalaBear proofs).
    let aggregate = !args.no_aggregate && field == slotproof::Field::KoalaBear;
    let prover = args
        .devices
        .apply(
            &args.backend,
            aggregate,
            BlockProver::builder()
                .subblock_gas(args.subblock_gas)
                .max_shard_rows(args.max_rows)
                .field(field),
        )?
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
    // One bar over the shard proofs and, when aggregating alongside, the tree's nodes: each
    // count is added as it becomes known.
    let proof_bar_style = || {
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} proofs ({msg}) {elapsed_precise}",
        )
        .expect("valid template")
    };
    let counts = std::sync::Mutex::new((0usize, 0usize));
    let show_counts = |shards: usize, nodes: usize| {
        if prover.aggregates() {
            bar.set_message(format!("{shards} shards, {nodes} recursion nodes"));
        } else {
            bar.set_message(format!("{shards} shards"));
        }
    };
    let mut proved = prover.prove_with_progress(&input, &|p| {
        let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
        match p {
            slotproof::Progress::ShardsPlanned(n) => {
                bar.set_style(proof_bar_style());
                bar.inc_length(n as u64);
            }
            slotproof::Progress::ShardProven(_) => {
                c.0 += 1;
                bar.inc(1);
            }
            slotproof::Progress::Aggregation(AggregationProgress::NodesPlanned(n)) => {
                bar.inc_length(n as u64)
            }
            slotproof::Progress::Aggregation(AggregationProgress::NodeProven(_)) => {
                c.1 += 1;
                bar.inc(1);
            }
        }
        show_counts(c.0, c.1);
    })?;
    bar.finish_and_clear();
    let v2_bytes = proved.proof.to_bytes()?;
    let t_verify = Instant::now();
    let mut verified = verify_block_proof(&v2_bytes).is_ok();
    let verify = t_verify.elapsed();
    // Overlapped with shard proving (the default), or after it (`--aggregate-after`); a block
    // without EVM steps has no shard to aggregate and stays v2.
    let overlapped = proved
        .aggregated
        .take()
        .map(|agg| (agg, proved.timings.aggregation_tail.unwrap_or_default()));
    let aggregate_after = aggregate
        && overlapped.is_none()
        && !prover.aggregates()
        && verified
        && !proved.proof.shards.is_empty();
    let aggregated = if let Some(o) = overlapped {
        Some(o)
    } else if aggregate_after {
        let bar = indicatif::ProgressBar::hidden();
        if !args.json {
            eprintln!(
                "aggregating {} shard proofs into one ...",
                proved.proof.shards.len()
            );
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} recursion proofs (leaves, internal nodes, root) {msg} {elapsed_precise}",
                )
                .expect("valid template"),
            );
        }
        let t = Instant::now();
        let agg =
            slotproof::aggregate::aggregate_block_with_progress(&proved.proof, &|p| match p {
                AggregationProgress::NodesPlanned(n) => bar.set_length(n as u64),
                AggregationProgress::NodeProven(kind) => {
                    bar.set_message(format!("last: {kind:?}"));
                    bar.inc(1)
                }
            })?;
        bar.finish_and_clear();
        Some((agg, t.elapsed()))
    } else {
        None
    };
    let aggregation = match aggregated {
        Some((agg, aggregate_time)) => {
            let v3 =
                slotproof::aggregated::AggregatedProof::new(&proved.proof, &agg)?.to_bytes()?;
            let t = Instant::now();
            let v3_verified = verify_block_proof(&v3).is_ok();
            verified &= v3_verified;
            Some((agg, aggregate_time, v3, t.elapsed()))
        }
        None => None,
    };
    let bytes = match &aggregation {
        Some((_, _, v3, _)) => v3.clone(),
        None => v2_bytes.clone(),
    };
    if let Some(out) = &args.output {
        std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    }
    let aggregation_json = aggregation.as_ref().map(|(agg, total, v3, v3_verify)| {
        json!({
            "format_version": slotproof::aggregated::AGGREGATED_PROOF_VERSION,
            // Overlapped: shard proving hid the rest of the aggregation, and this is the wall
            // time from the last shard proven to the root proven and checked. After: the whole
            // aggregation's wall time.
            "overlapped": prover.aggregates(),
            "aggregate_ms": ms(*total),
            "leaf_ms": agg.times.leaves.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "internal_ms": agg.times.internal.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "root_ms": ms(agg.times.root),
            "root_proof_bytes": agg.root_proof_bytes,
            // Conjectured bits per layer: the project's toy formula and Plonky3's estimate.
            "security_bits": crate::bench::layer_security_json(),
            "proof_bytes": v3.len(),
            "shard_proofs_bytes": v2_bytes.len(),
            // The whole v3 verification, with the verifier's fixed keys.
            "verify_ms": ms(*v3_verify),
        })
    });
    let exec = &proved.execution;
    let t = &proved.timings;
    let share = exec
        .subblocks
        .iter()
        .map(|s| slotproof_air::coverage::constrained_share(&s.trace))
        .fold((0usize, 0usize, 0usize), |(c, u, n), r| {
            (c + r.constrained_steps, u + r.untainted_steps, n + r.steps)
        });
    // A streamed executor leaves no trace behind to count (`slotproof coverage` records it).
    let streamed = exec
        .subblocks
        .iter()
        .any(|s| s.trace.steps.is_empty() && s.outline.as_ref().is_some_and(|o| o.steps > 0));
    let shares = if streamed {
        None
    } else if share.2 == 0 {
        Some((100.0, 100.0))
    } else {
        Some((
            100.0 * share.0 as f64 / share.2 as f64,
            100.0 * share.1 as f64 / share.2 as f64,
        ))
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
            "shards_with_trusted_carried_state": proved.proof.shards_with_trusted_carried_state(),
            "proof_bytes": bytes.len(),
            "phases_ms": {
                "execute": ms(t.execute),
                "tracegen": ms(t.tracegen),
                "prove": ms(t.prove),
                "tracegen_overlapped": t.overlapped,
                "prove_per_shard": t.shards.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "verify": ms(verify),
            },
            // Per shard, the wall time of each phase of its proof, in the prover's order.
            "shard_phases_ms": proved.shards.iter().map(|r| {
                r.phases.iter().map(|(name, d)| json!({"phase": name, "ms": ms(*d)})).collect::<Vec<_>>()
            }).collect::<Vec<_>>(),
            "trace_area": trace_area_json(&proved.shards),
            "total_ms": ms(t0.elapsed()),
            "verified": verified,
            "backend": prover.backend_description(),
            // The stand-in CUDA driver runs the kernels on the CPU: not a GPU figure.
            "standin_driver": prover.runs_on_standin(),
            // Computed from the shards' table shapes before proving, not measured.
            // Measured on CUDA (the proof's resident buffers, counted); null on the CPU.
            "measured_device_memory_max_bytes": proved.max_measured_device_bytes(),
            "planned_device_memory": {
                "max_bytes": proved.max_planned_device_bytes(),
                "budget_bytes": prover.device_memory_budget(),
                "per_shard": proved.shards.iter().map(|r| json!({
                    "subblock": r.subblock,
                    "index": r.index,
                    "steps": [r.steps.start, r.steps.end],
                    "planned_bytes": r.planned_device_bytes,
                    "peak_phase": format!("{:?}", r.peak_phase),
                    "cut_to_fit": r.cut_to_fit,
                    "device": r.device,
                    "measured_resident_bytes": r.measured_device_bytes,
                })).collect::<Vec<_>>(),
            },
            "coverage": {
                "version": proved.proof.coverage_version,
                // null where the executor was streamed (no trace kept to count).
                "constrained_step_share": shares.map(|s| s.0 / 100.0),
                "untainted_step_share": shares.map(|s| s.1 / 100.0),
            },
            "aggregation": aggregation_json,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("fixture      {source}");
        println!("backend      {}", prover.backend_description());
        println!(
            "block        {} ({} txs, {} gas, {} steps)",
            exec.number,
            exec.transactions,
            exec.gas_used,
            exec.steps()
        );
        println!(
            "subblocks    {}   shards {} ({} take state carried across a cut inside a transaction, {} of them with trusted stack items and calls)",
            exec.subblocks.len(),
            proved.proof.shards.len(),
            proved.proof.shards_with_carried_state(),
            proved.proof.shards_with_trusted_carried_state()
        );
        println!(
            "phase        execute {:.1} ms | tracegen {:.1} ms{} | prove {:.1} ms | verify {:.1} ms | total {:.1} ms",
            ms(t.execute),
            ms(t.tracegen),
            if t.overlapped { " (overlapped)" } else { "" },
            ms(t.prove),
            ms(verify),
            ms(t0.elapsed())
        );
        println!(
            "device mem   planned peak per shard: max {:.1} MiB{} (computed from table shapes, not measured)",
            mib(proved.max_planned_device_bytes()),
            prover
                .device_memory_budget()
                .map(|b| format!(", budget {:.1} MiB", mib(b)))
                .unwrap_or_default()
        );
        for (r, d) in proved.shards.iter().zip(&t.shards) {
            println!(
                "  shard {:<3} subblock {:<3} steps {:>7}..{:<7} shape {} {:>8.1} ms  planned {:>8.1} MiB ({:?}){}{}{}",
                r.index,
                r.subblock,
                r.steps.start,
                r.steps.end,
                r.shape.map_or("-".to_string(), |s| s.to_string()),
                ms(*d),
                mib(r.planned_device_bytes),
                r.peak_phase,
                r.measured_device_bytes
                    .map(|b| format!("  resident {:.1} MiB measured", mib(b)))
                    .unwrap_or_default(),
                r.device.map(|d| format!(" cuda:{d}")).unwrap_or_default(),
                if r.cut_to_fit { " cut to fit" } else { "" }
            );
        }
        let cells: u64 = proved.shards.iter().map(|r| r.committed_cells()).sum();
        let natural: u64 = proved
            .shards
            .iter()
            .map(|r| r.natural_committed_cells())
            .sum();
        println!(
            "trace area   {cells} committed cells ({:.0} per EVM step; main + LogUp + quotient, before blowup); {natural} without the shapes' padding (+{:.0}%)",
            cells as f64 / exec.steps().max(1) as f64,
            100.0 * (cells as f64 / natural.max(1) as f64 - 1.0)
        );
        println!("proof phases summed over shards (wall time per shard, shards may overlap):");
        for (name, d) in summed_phases(&proved.shards) {
            println!("  {name:<40} {:>9.1} ms", ms(d));
        }
        match &aggregation {
            Some((agg, total, _, v3_verify)) => {
                let layer = |d: &[Duration]| {
                    d.iter()
                        .map(|d| format!("{:.0}", ms(*d)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!(
                    "aggregation  {:.0} ms{}: leaves [{}] ms, internal [{}] ms, root {:.0} ms; root proof {} bytes (the shard proofs: {} bytes)",
                    ms(*total),
                    if prover.aggregates() {
                        " after the last shard proof (overlapped with shard proving)"
                    } else {
                        ""
                    },
                    layer(&agg.times.leaves),
                    layer(&agg.times.internal),
                    ms(agg.times.root),
                    agg.root_proof_bytes,
                    v2_bytes.len()
                );
                println!(
                    "format       v3 (one aggregated proof), verified in {:.1} ms (the verifier's fixed recursion keys)",
                    ms(*v3_verify)
                );
            }
            None => println!("format       v2 (the shard proofs)"),
        }
        if aggregation.is_some() {
            let layers = slotproof::aggregate::layer_security()
                .iter()
                .map(|(layer, s)| {
                    format!(
                        "{layer} {} ({} by Plonky3's estimate)",
                        s.conjectured_bits, s.p3_random_words_ldt_bits
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            println!("security     conjectured bits per layer: {layers}");
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
        match shares {
            Some((share_pct, untainted_pct)) => println!(
                "coverage     v{}: {share_pct:.1}% of steps fully constrained ({untainted_pct:.1}% also untainted: no consumed stack item computed from a trusted step), the rest trusted; block-level checks are verifier-checked on prover-supplied values or trusted (slotproof coverage)",
                proved.proof.coverage_version
            ),
            None => println!(
                "coverage     v{}: shares not counted (the executor was streamed, keeping no trace: `slotproof coverage` counts them)",
                proved.proof.coverage_version
            ),
        }
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
    let result = slotproof::verify_block_proof_version(&bytes);
    let elapsed = ms(t0.elapsed());
    let v3 = slotproof::aggregated::proof_version(&bytes)
        .is_ok_and(|v| v == slotproof::aggregated::AGGREGATED_PROOF_VERSION);
    // Shards with carried state: `None` for v3, whose shard list does not record it.
    let (shards, subblocks, carried) = if v3 {
        slotproof::aggregated::AggregatedProof::from_bytes(&bytes)
            .map(|p| (p.shards.len(), p.subblocks.len(), None))
            .unwrap_or((0, 0, None))
    } else {
        BlockProof::from_bytes(&bytes)
            .map(|p| {
                (
                    p.shards.len(),
                    p.subblocks.len(),
                    Some((
                        p.shards_with_carried_state(),
                        p.shards_with_trusted_carried_state(),
                    )),
                )
            })
            .unwrap_or((0, 0, None))
    };
    let carried_text = match carried {
        Some((n, trusted)) => {
            format!("{n} with carried state, {trusted} of them with trusted stack items and calls")
        }
        None => "carried state not recorded in v3".to_string(),
    };
    match &result {
        Ok((version, block)) => {
            let format = if *version == slotproof::aggregated::AGGREGATED_PROOF_VERSION {
                "v3 (one aggregated proof; fixed recursion keys)"
            } else {
                "v2 (the shard proofs)"
            };
            if args.json {
                println!(
                    "{}",
                    json!({"verified": true, "format_version": version, "block_number": block.number, "gas_used": block.gas_used,
                    "block_hash": format!("0x{}", hex(&block.block_hash)), "state_root": format!("0x{}", hex(&block.state_root)),
                    "transactions": block.transactions, "subblocks": subblocks, "shards": shards, "shards_with_carried_state": carried.map(|c| c.0),
                    "shards_with_trusted_carried_state": carried.map(|c| c.1), "verify_ms": elapsed})
                );
            } else {
                println!(
                    "valid ({format}): block {} (hash 0x{}), {} txs, {} gas, {subblocks} subblocks, {shards} shards ({carried_text}), verified in {elapsed:.1} ms",
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

/// Each proof phase's wall time summed over the shards, in the prover's phase order.
fn summed_phases(shards: &[slotproof::ShardReport]) -> Vec<(&'static str, Duration)> {
    let mut sums: Vec<(&'static str, Duration)> = Vec::new();
    for r in shards {
        for &(name, d) in &r.phases {
            match sums.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += d,
                None => sums.push((name, d)),
            }
        }
    }
    sums
}

/// Committed cells per table and shard, their total and the cells per EVM step.
fn trace_area_json(shards: &[slotproof::ShardReport]) -> serde_json::Value {
    let total: u64 = shards.iter().map(|r| r.committed_cells()).sum();
    let natural: u64 = shards.iter().map(|r| r.natural_committed_cells()).sum();
    let steps: usize = shards.iter().map(|r| r.steps.len()).sum();
    json!({
        "committed_cells": total,
        "natural_committed_cells": natural,
        "cells_per_step": total as f64 / steps.max(1) as f64,
        "per_shard": shards.iter().map(|r| json!({
            "index": r.index,
            "steps": r.steps.len(),
            "shape": r.shape,
            "committed_cells": r.committed_cells(),
            "natural_committed_cells": r.natural_committed_cells(),
            "cells_per_step": r.cells_per_step(),
            "tables": r.tables.iter().map(|t| json!({
                "name": t.name,
                "height": t.height,
                "natural_height": t.natural_height,
                "main_width": t.main_width,
                "permutation_width": t.permutation_width,
                "quotient_chunks": t.quotient_chunks,
                "main_cells": t.main_cells(),
                "committed_cells": t.committed_cells(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotproof::ShardsInFlight;

    #[test]
    fn shards_in_flight_parse() {
        assert_eq!(parse_shards_in_flight("auto"), Ok(ShardsInFlight::Auto));
        assert_eq!(parse_shards_in_flight("all"), Ok(ShardsInFlight::Unbounded));
        assert_eq!(parse_shards_in_flight("2"), Ok(ShardsInFlight::AtMost(2)));
        for bad in ["0", "-1", "", "many"] {
            assert!(parse_shards_in_flight(bad).is_err(), "{bad}");
        }
    }
}
