//! `slotproof worker`: proves shard jobs from a proof node's Redis stream
//! (`slotproof_node::redis_jobs`). Any number of workers, on any machines, share the jobs; a
//! worker that dies (or is killed) mid-shard loses nothing: its job is reclaimed by another
//! after the visibility timeout.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use slotproof_node::redis_jobs::{DEFAULT_RECLAIM_AFTER, Worker, WorkerEvent, default_worker_name};

#[derive(Args)]
pub struct WorkerArgs {
    /// The Redis server the node publishes jobs to (`redis://host:port`).
    #[arg(long)]
    pub redis: String,
    /// This worker's consumer name in the group (unique per worker; default: host-pid).
    #[arg(long)]
    pub name: Option<String>,
    /// Seconds a job may go without this worker's heartbeat (sent every fifth of it while
    /// proving) before another worker takes it over: how soon a dead worker's shard is proven
    /// again.
    #[arg(long, default_value_t = DEFAULT_RECLAIM_AFTER.as_secs_f64())]
    pub reclaim_after_secs: f64,
    /// Exit after this many jobs (default: run until killed).
    #[arg(long)]
    pub max_jobs: Option<usize>,
    /// Proving backend for shards: cpu, or cuda (a build with `--features cuda`, a CUDA 13
    /// driver, a GPU). The tree's leaves and internal nodes are proven on the CPU.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    #[command(flatten)]
    pub devices: crate::prove::DeviceArgs,
}

pub fn run(args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    let reclaim_after = Duration::try_from_secs_f64(args.reclaim_after_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| {
            format!(
                "--reclaim-after-secs {} is not a positive time",
                args.reclaim_after_secs
            )
        })?;
    let name = args.name.clone().unwrap_or_else(default_worker_name);
    // A backend that cannot run here is an error now, not at the first job.
    let backend = args.devices.backend(&args.backend)?;
    let devices = args.devices.clone();
    let setup = move |builder| devices.apply_backend(backend.clone(), false, builder);
    setup(slotproof::BlockProver::builder())
        .build()
        .check_backend()?;
    let worker = Worker::new(&args.redis, &name, reclaim_after)?.with_prover_setup(Box::new(setup));
    eprintln!("worker {name} on {}", args.redis);
    // One line per event on stdout (line-buffered: a reader sees each as it happens).
    let report = |event: WorkerEvent| println!("{event}");
    let handled = worker
        .run(&AtomicBool::new(false), args.max_jobs, &report)
        .with_context(|| format!("worker {name} on {}", args.redis))?;
    eprintln!("worker {name}: {handled} job(s)");
    Ok(ExitCode::SUCCESS)
}
