//! `slotproof node`: the proof node (EIP-8025 HTTP API and zk-boost JSON-RPC) over a fixture
//! directory; `slotproof payload-request`: the SSZ `NewPayloadRequest` of a fixture's block, to
//! request a proof by hand (`curl --data-binary @request.ssz`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use slotproof_node::{
    ElWitness, FileConfig, FixtureDir, NewPayloadRequest, NodeConfig, ProofNode, WitnessSource,
};

#[derive(Args)]
pub struct NodeArgs {
    /// Address to serve on.
    #[arg(long)]
    pub listen: Option<String>,
    /// Directory of block fixtures (ZK-PIG or EELS flat JSON) the node serves, by block hash.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Or: an execution client's JSON-RPC endpoint (plain HTTP), asked for each block with
    /// `eth_getBlockByHash` and `debug_executionWitnessByBlockHash`.
    #[arg(long, conflicts_with = "fixtures")]
    pub el_endpoint: Option<String>,
    /// Seconds each execution-client call may take.
    #[arg(long)]
    pub witness_timeout_secs: Option<f64>,
    /// TOML config file (every key optional; flags win over it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where finished proofs and accepted requests are kept across restarts.
    #[arg(long)]
    pub store_dir: Option<PathBuf>,
    /// Finished proofs kept (the oldest is evicted first).
    #[arg(long)]
    pub store_capacity: Option<usize>,
    /// Blocks proven at once.
    #[arg(long)]
    pub lanes: Option<usize>,
    /// Jobs waiting for a lane; beyond it a request gets HTTP 429.
    #[arg(long)]
    pub queue_size: Option<usize>,
    /// Seconds from a request to its proof, after which it fails with `proving_timeout`.
    #[arg(long)]
    pub deadline_secs: Option<f64>,
    /// Serve shard-list proofs (v2) instead of one aggregated proof (v3).
    #[arg(long)]
    pub no_aggregate: bool,
    /// Maximum EVM steps per shard.
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// Gas budget of a subblock.
    #[arg(long)]
    pub subblock_gas: Option<u64>,
    /// Largest request body, in bytes.
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
    /// Prove shards on remote workers (`slotproof worker --redis URL`) through this Redis
    /// server instead of on this machine.
    #[arg(long)]
    pub redis: Option<String>,
    /// With --redis: workers inside this node taking shard jobs next to the remote ones.
    #[arg(long)]
    pub local_workers: Option<usize>,
    /// The local workers' visibility timeout (as `slotproof worker --reclaim-after-secs`).
    #[arg(long)]
    pub reclaim_after_secs: Option<f64>,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// Where the node's blocks and witnesses come from.
enum Source {
    Fixtures(PathBuf),
    ExecutionClient(String, Duration),
}

impl NodeArgs {
    /// The file's settings, then the flags'.
    fn settings(&self) -> anyhow::Result<(String, Source, NodeConfig)> {
        let file = match &self.config {
            Some(path) => FileConfig::from_path(path)?,
            None => FileConfig::default(),
        };
        let flags = FileConfig {
            listen: self.listen.clone(),
            fixtures: self.fixtures.clone(),
            el_endpoint: self.el_endpoint.clone(),
            witness_timeout_secs: self.witness_timeout_secs,
            store_dir: self.store_dir.clone(),
            store_capacity: self.store_capacity,
            lanes: self.lanes,
            queue_size: self.queue_size,
            deadline_secs: self.deadline_secs,
            aggregate: self.no_aggregate.then_some(false),
            max_shard_rows: self.max_rows,
            subblock_gas: self.subblock_gas,
            max_body_bytes: self.max_body_bytes,
            redis: self.redis.clone(),
            local_workers: self.local_workers,
            reclaim_after_secs: self.reclaim_after_secs,
        };
        let mut config = NodeConfig::default();
        file.apply(&mut config)?;
        flags.apply(&mut config)?;
        let listen = flags
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let source = match (
            flags.fixtures.or(file.fixtures),
            flags.el_endpoint.or(file.el_endpoint),
        ) {
            (Some(dir), None) => Source::Fixtures(dir),
            (None, Some(endpoint)) => {
                let secs = flags
                    .witness_timeout_secs
                    .or(file.witness_timeout_secs)
                    .unwrap_or(12.0);
                let timeout = Duration::try_from_secs_f64(secs)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .with_context(|| format!("witness timeout {secs} s is not a positive time"))?;
                Source::ExecutionClient(endpoint, timeout)
            }
            (Some(_), Some(_)) => anyhow::bail!("give either fixtures or el_endpoint, not both"),
            (None, None) => anyhow::bail!(
                "no witness source: give --fixtures DIR or --el-endpoint URL (or either in the config file)"
            ),
        };
        Ok((listen, source, config))
    }
}

pub fn run(args: &NodeArgs) -> anyhow::Result<ExitCode> {
    let (listen, source, config) = args.settings()?;
    let source: Arc<dyn WitnessSource> = match source {
        Source::Fixtures(dir) => {
            let source = FixtureDir::open(&dir)?;
            for (path, why) in source.skipped() {
                eprintln!("skipping {}: {why}", path.display());
            }
            for (hash, number, path) in source.blocks() {
                eprintln!("serving block {number} {hash} ({})", path.display());
            }
            Arc::new(source)
        }
        Source::ExecutionClient(endpoint, timeout) => Arc::new(ElWitness::new(endpoint, timeout)),
    };
    eprintln!("witness source: {}", source.describe());
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = ProofNode::start(config.clone(), source)?;
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        eprintln!(
            "proof node on http://{} ({} lane(s){}, queue {}, deadline {:.1} s, proofs in {}); Ctrl-C stops it",
            listener.local_addr()?,
            config.lanes,
            match &config.redis {
                Some(url) => format!(
                    " with shards on workers via {url}, {} of them local",
                    config.local_workers
                ),
                None => String::new(),
            },
            config.queue_size,
            config.deadline.as_secs_f64(),
            config.store_dir.display()
        );
        let stopper = node.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("stopping: queued jobs fail, running ones get up to the deadline");
                let running = stopper.shutdown(stopper.config().deadline).await;
                if running > 0 {
                    eprintln!("{running} job(s) still running at exit");
                }
            }
        });
        slotproof_node::serve(listener, node.clone()).await?;
        // The server stops once shutdown began; let the lanes finish (bounded by the deadline).
        node.shutdown(node.config().deadline + Duration::from_secs(1)).await;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

#[derive(Args)]
pub struct PayloadRequestArgs {
    /// Block fixture (ZK-PIG or EELS flat JSON).
    pub fixture: PathBuf,
    /// Write the SSZ request body here.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run_payload_request(args: &PayloadRequestArgs) -> anyhow::Result<ExitCode> {
    let input = slotproof::executor::BlockInput::from_path(&args.fixture)?;
    let request = NewPayloadRequest::from_block(&input)?;
    std::fs::write(&args.output, request.to_ssz_bytes())
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "{} request for block {} ({}): new_payload_request_root {}",
        request.fork(),
        input.number(),
        request.payload().block_hash,
        request.root()
    );
    Ok(ExitCode::SUCCESS)
}
