//! `slotproof worker`: proves shard jobs from a proof node's Redis stream
//! (`slotproof_node::redis_jobs`). Any number of workers, on any machines, share the jobs; a
//! worker that dies (or is killed) mid-shard loses nothing: its job is reclaimed by another
//! after the visibility timeout.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use slotproof_node::redis_jobs::{Worker, WorkerEvent};

#[derive(Args)]
pub struct WorkerArgs {
    /// The Redis server the node publishes jobs to (`redis://host:port`).
    #[arg(long)]
    pub redis: String,
    /// This worker's consumer name in the group (unique per worker; default: host-pid).
    #[arg(long)]
    pub name: Option<String>,
    /// Seconds a job may stay unacknowledged on a worker before another takes it over (the
    /// visibility timeout; longer than a shard's proving time, or shards are proven twice).
    #[arg(long, default_value_t = 60.0)]
    pub reclaim_after_secs: f64,
    /// Exit after this many jobs (default: run until killed).
    #[arg(long)]
    pub max_jobs: Option<usize>,
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
    let name = args.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "worker".into());
        format!("{host}-{}", std::process::id())
    });
    let worker = Worker::new(&args.redis, &name, reclaim_after)?;
    eprintln!("worker {name} on {}", args.redis);
    // One line per event on stdout (line-buffered: a reader sees each as it happens).
    let report = |event: WorkerEvent| match event {
        WorkerEvent::Claimed {
            run,
            shard,
            reclaimed,
        } => println!(
            "claimed run {run} shard {shard}{}",
            if reclaimed { " (reclaimed)" } else { "" }
        ),
        WorkerEvent::Proven {
            run,
            shard,
            stored,
            time,
        } => println!(
            "proven run {run} shard {shard} in {:.2} s{}",
            time.as_secs_f64(),
            if stored {
                ""
            } else {
                " (not stored: another proof was first, or the run is over)"
            }
        ),
        WorkerEvent::Dropped { run, shard } => println!("dropped run {run} shard {shard}"),
        WorkerEvent::Failed { run, shard, error } => {
            println!("failed run {run} shard {shard}: {error}")
        }
    };
    let handled = worker.run(&AtomicBool::new(false), args.max_jobs, &report)?;
    eprintln!("worker {name}: {handled} job(s)");
    Ok(ExitCode::SUCCESS)
}
