//! The proof node's engine: a bounded queue of proof jobs, proving lanes, one job per block
//! shared by every request for it, the proof store, and the events requests wait on.
//!
//! A job is keyed by block hash: a proof binds the block hash (its claims carry it), so every
//! `NewPayloadRequest` for one block, and every JSON-RPC call naming it, shares one proof. Its
//! deadline runs from when it was queued; when it passes, the job's requests fail with
//! `proving_timeout` and its proof is cancelled ([`slotproof::CancelToken`]: no shard or
//! aggregation node starts after it; the ones running finish). The lane waits for that before
//! it takes the next job, so the number of proofs running never exceeds the lanes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::B256;
use serde::Serialize;
use slotproof::{BlockProver, CancelToken, VerifyError, verify_block_proof};
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, watch};

use crate::metrics::Metrics;
use crate::redis_jobs::{Coordinator, JobSettings, RedisJobError};
use crate::request::{NewPayloadRequest, RequestError};
use crate::store::{ProofStore, StoreError};
use crate::witness::WitnessSource;

/// The one proof type this node serves: aggregated block proofs over KoalaBear.
pub const PROOF_TYPE: &str = "slotproof-koalabear";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// Blocks proven at once. Each lane's proof uses every core (rayon); more than one lane
    /// only helps with GPU backends or spare cores.
    pub lanes: usize,
    /// Jobs waiting for a lane; a request beyond it is refused (HTTP 429).
    pub queue_size: usize,
    /// From queueing to a finished proof.
    pub deadline: Duration,
    pub store_dir: PathBuf,
    /// Finished proofs kept on disk.
    pub store_capacity: usize,
    /// Serve aggregated proofs (v3, one small proof); otherwise shard lists (v2).
    pub aggregate: bool,
    pub max_shard_rows: usize,
    pub subblock_gas: u64,
    /// Largest request body accepted (HTTP 413 beyond).
    pub max_body_bytes: usize,
    /// Prove on workers through this Redis server (`redis://host:port`) instead of in the
    /// lanes: each lane then coordinates one block ([`crate::redis_jobs`]). `None`: local.
    pub redis: Option<String>,
    /// With `redis`: workers inside this node taking the same jobs as remote ones (this
    /// machine's cores, or a GPU, next to the remote machines). 0: remote workers only.
    pub local_workers: usize,
    /// The local workers' visibility timeout (see [`crate::redis_jobs::Worker::new`]).
    pub reclaim_after: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            lanes: 1,
            queue_size: 8,
            deadline: Duration::from_secs(12),
            store_dir: PathBuf::from("slotproof-node-store"),
            store_capacity: 128,
            aggregate: true,
            max_shard_rows: slotproof::DEFAULT_MAX_SHARD_ROWS,
            subblock_gas: slotproof::executor::DEFAULT_SUBBLOCK_GAS,
            max_body_bytes: 32 << 20,
            redis: None,
            local_workers: 0,
            reclaim_after: crate::redis_jobs::DEFAULT_RECLAIM_AFTER,
        }
    }
}

/// Why a proof job failed (the `reason` of a `proof_failure` event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The witness source has no such block, or cannot read it.
    WitnessError,
    ProvingTimeout,
    /// The block does not execute against its witness, or a shard cannot be proven.
    ProvingError,
    InternalError,
    /// The node stopped before the job started.
    ShuttingDown,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WitnessError => "witness_error",
            Self::ProvingTimeout => "proving_timeout",
            Self::ProvingError => "proving_error",
            Self::InternalError => "internal_error",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// How a job ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Proof(Arc<Vec<u8>>),
    Failed {
        reason: FailureReason,
        error: String,
    },
}

/// What the event stream (`GET /v1/execution_proof_requests`) sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofEvent {
    Complete {
        root: B256,
        proof_type: String,
    },
    Failure {
        root: B256,
        proof_type: String,
        reason: FailureReason,
        error: String,
    },
}

impl ProofEvent {
    pub fn root(&self) -> B256 {
        match self {
            Self::Complete { root, .. } | Self::Failure { root, .. } => *root,
        }
    }
}

#[derive(Debug, Error)]
pub enum NodeError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("unknown proof type {0:?} (this node serves {PROOF_TYPE:?})")]
    UnknownProofType(String),
    #[error("no proof types requested")]
    NoProofTypes,
    #[error("no request with root {0} (never requested here, or evicted)")]
    UnknownRequest(B256),
    #[error("no {proof_type} proof for request {root} (not finished, failed, or evicted)")]
    ProofNotFound { root: B256, proof_type: String },
    #[error("the proof queue is full ({0} jobs waiting)")]
    QueueFull(usize),
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error("the proof bytes are not a slotproof block proof: {0}")]
    MalformedProof(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Redis(#[from] crate::redis_jobs::RedisJobError),
    #[error("starting a local worker: {0}")]
    LocalWorker(String),
}

/// Result of a verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// Why not (a rejected proof, or a valid proof of another block).
    Invalid(String),
}

struct Job {
    block_hash: B256,
    queued: Instant,
}

struct JobEntry {
    roots: HashSet<B256>,
    done: watch::Sender<Option<Outcome>>,
}

struct Inner {
    config: NodeConfig,
    source: Arc<dyn WitnessSource>,
    prover: Arc<BlockProver>,
    /// With [`NodeConfig::redis`]: shards are proven by remote workers.
    coordinator: Option<Arc<Coordinator>>,
    store: ProofStore,
    jobs: Mutex<HashMap<B256, JobEntry>>,
    queue: mpsc::Sender<Job>,
    /// Taken at shutdown, which ends every event stream after what was already sent.
    events: Mutex<Option<broadcast::Sender<ProofEvent>>>,
    metrics: Metrics,
    shutting_down: AtomicBool,
    /// Lanes stop waiting for jobs (the start of a shutdown).
    stopping: watch::Sender<bool>,
    /// The server and event streams stop (its end).
    shutdown: watch::Sender<bool>,
    lanes_idle: watch::Sender<usize>,
    /// The queue's receiving end, shared by the lanes (and drained at shutdown).
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    /// Set at shutdown: the local workers stop after the job they are proving.
    workers_stop: Arc<AtomicBool>,
}

/// The proof node's engine; cheap to clone (shared).
#[derive(Clone)]
pub struct ProofNode {
    inner: Arc<Inner>,
}

impl Inner {
    fn emit(&self, event: ProofEvent) {
        if let Some(events) = &*lock(&self.events) {
            // No subscriber is fine: events are not stored (finished proofs are).
            let _ = events.send(event);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update under these locks is one step; a panicking holder leaves them consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ProofNode {
    /// Opens the store and starts the lanes (on the current tokio runtime).
    pub fn start(config: NodeConfig, source: Arc<dyn WitnessSource>) -> Result<Self, NodeError> {
        let store = ProofStore::open(&config.store_dir, config.store_capacity)?;
        let prover = BlockProver::builder()
            .max_shard_rows(config.max_shard_rows)
            .subblock_gas(config.subblock_gas)
            .aggregate(config.aggregate)
            .build();
        let coordinator = match &config.redis {
            Some(url) => Some(Arc::new(Coordinator::new(
                url,
                JobSettings {
                    max_shard_rows: config.max_shard_rows,
                    subblock_gas: config.subblock_gas,
                },
            )?)),
            None => None,
        };
        let workers_stop = Arc::new(AtomicBool::new(false));
        if let Some(url) = &config.redis {
            start_local_workers(url, &config, &workers_stop)?;
        }
        let lanes = config.lanes.max(1);
        let (queue, rx) = mpsc::channel(config.queue_size.max(1));
        let (events, _) = broadcast::channel(1024);
        let receiver = Arc::new(tokio::sync::Mutex::new(rx));
        let inner = Arc::new(Inner {
            metrics: Metrics::new(lanes),
            config,
            source,
            prover: Arc::new(prover),
            coordinator,
            store,
            jobs: Mutex::new(HashMap::new()),
            queue,
            events: Mutex::new(Some(events)),
            shutting_down: AtomicBool::new(false),
            stopping: watch::Sender::new(false),
            shutdown: watch::Sender::new(false),
            lanes_idle: watch::Sender::new(lanes),
            receiver,
            workers_stop,
        });
        for _ in 0..lanes {
            tokio::spawn(lane(inner.clone()));
        }
        Ok(Self { inner })
    }

    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn source(&self) -> &dyn WitnessSource {
        &*self.inner.source
    }

    pub fn source_handle(&self) -> Arc<dyn WitnessSource> {
        self.inner.source.clone()
    }

    /// Events from now on (a closed stream once the node has shut down).
    pub fn subscribe(&self) -> broadcast::Receiver<ProofEvent> {
        match &*lock(&self.inner.events) {
            Some(events) => events.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// Resolves when the node starts shutting down.
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut rx = self.inner.shutdown.subscribe();
        async move {
            let _ = rx.wait_for(|&s| s).await;
        }
    }

    /// EIP-8025 `request_proofs`: decodes the request, records it and queues (or joins) the
    /// proof of its block. Returns the request root.
    pub fn request_proofs(&self, body: &[u8], proof_types: &[String]) -> Result<B256, NodeError> {
        check_proof_types(proof_types)?;
        let request = NewPayloadRequest::from_ssz_bytes(body)?;
        let root = request.root();
        let block_hash = request.payload().block_hash;
        self.inner.store.put_request(root, block_hash)?;
        self.inner.metrics.requests.inc();
        self.submit(block_hash, Some(root))?;
        Ok(root)
    }

    /// Queues (or joins) the proof of a block; the receiver sees its outcome.
    pub fn submit(
        &self,
        block_hash: B256,
        root: Option<B256>,
    ) -> Result<watch::Receiver<Option<Outcome>>, NodeError> {
        let inner = &self.inner;
        loop {
            let mut jobs = lock(&inner.jobs);
            // Checked under the jobs lock (a lane stores a proof before it removes its job, so
            // a proof is either stored or its job is still here), read after it: the bytes
            // may be megabytes on disk, and every request would wait on that read.
            if !inner.store.has_proof(block_hash, PROOF_TYPE) {
                return self.join_or_queue(&mut jobs, block_hash, root);
            }
            drop(jobs);
            if let Some(bytes) = inner.store.proof(block_hash, PROOF_TYPE) {
                if let Some(root) = root {
                    inner.emit(ProofEvent::Complete {
                        root,
                        proof_type: PROOF_TYPE.into(),
                    });
                }
                return Ok(watch::Sender::new(Some(Outcome::Proof(Arc::new(bytes)))).subscribe());
            }
            // Evicted between the check and the read: the next round queues it again.
        }
    }

    /// Under the jobs lock, for a block without a stored proof: joins its job, or queues one.
    fn join_or_queue(
        &self,
        jobs: &mut HashMap<B256, JobEntry>,
        block_hash: B256,
        root: Option<B256>,
    ) -> Result<watch::Receiver<Option<Outcome>>, NodeError> {
        let inner = &self.inner;
        if let Some(entry) = jobs.get_mut(&block_hash) {
            entry.roots.extend(root);
            return Ok(entry.done.subscribe());
        }
        if inner.shutting_down.load(Ordering::SeqCst) {
            return Err(NodeError::ShuttingDown);
        }
        let job = Job {
            block_hash,
            queued: Instant::now(),
        };
        // Counted before a lane can take it, so the gauge never goes below zero.
        inner.metrics.queue_depth.inc();
        match inner.queue.try_send(job) {
            Ok(()) => {}
            Err(e) => {
                inner.metrics.queue_depth.dec();
                return Err(match e {
                    mpsc::error::TrySendError::Full(_) => {
                        inner.metrics.rejected_queue_full.inc();
                        NodeError::QueueFull(inner.config.queue_size)
                    }
                    mpsc::error::TrySendError::Closed(_) => NodeError::ShuttingDown,
                });
            }
        }
        let (done, rx) = watch::channel(None);
        jobs.insert(
            block_hash,
            JobEntry {
                roots: root.into_iter().collect(),
                done,
            },
        );
        Ok(rx)
    }

    /// The finished proof of a request.
    pub fn proof(&self, root: B256, proof_type: &str) -> Result<Vec<u8>, NodeError> {
        let block_hash = self.requested_block(root, proof_type)?;
        self.inner
            .store
            .proof(block_hash, proof_type)
            .ok_or_else(|| NodeError::ProofNotFound {
                root,
                proof_type: proof_type.into(),
            })
    }

    /// The block a request root names.
    pub fn request_block(&self, root: B256) -> Option<B256> {
        self.inner.store.request(root)
    }

    /// The block of an accepted request, for a proof type this node serves.
    fn requested_block(&self, root: B256, proof_type: &str) -> Result<B256, NodeError> {
        check_proof_types(&[proof_type.to_string()])?;
        self.request_block(root)
            .ok_or(NodeError::UnknownRequest(root))
    }

    /// Completion events of finished proofs for a request (replayed to a filtered event stream).
    pub fn finished_events(&self, root: B256) -> Vec<ProofEvent> {
        let Some(block_hash) = self.inner.store.request(root) else {
            return Vec::new();
        };
        self.inner
            .store
            .proof_types_of(block_hash)
            .into_iter()
            .map(|proof_type| ProofEvent::Complete { root, proof_type })
            .collect()
    }

    /// Verifies `bytes` as a proof for the block `block_hash` (off the async workers).
    pub async fn verify_for_block(
        &self,
        block_hash: B256,
        bytes: Vec<u8>,
    ) -> Result<Verdict, NodeError> {
        let verdict = tokio::task::spawn_blocking(move || verify_block_proof(&bytes))
            .await
            .map_err(|e| NodeError::MalformedProof(format!("the verifier panicked: {e}")))?;
        let verdict = match verdict {
            Ok(block) if block.block_hash == block_hash.0 => Verdict::Valid,
            Ok(block) => Verdict::Invalid(format!(
                "a valid proof of block {} ({}), not of {block_hash}",
                block.number,
                B256::from(block.block_hash)
            )),
            Err(e @ (VerifyError::Malformed(_) | VerifyError::Unsupported(_))) => {
                return Err(NodeError::MalformedProof(e.to_string()));
            }
            Err(e) => Verdict::Invalid(e.to_string()),
        };
        self.inner.metrics.count_verification(match verdict {
            Verdict::Valid => "valid",
            Verdict::Invalid(_) => "invalid",
        });
        Ok(verdict)
    }

    /// Verifies `bytes` against a request: valid only for the request's block.
    pub async fn verify_for_request(
        &self,
        root: B256,
        proof_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Verdict, NodeError> {
        let block_hash = self.requested_block(root, proof_type)?;
        self.verify_for_block(block_hash, bytes).await
    }

    /// Stops taking requests, fails the queued jobs that no lane started, and waits up to
    /// `grace` for the running ones (their outcomes are reported). Then ends the event streams
    /// and the server ([`crate::serve`]). Returns how many jobs were still running.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        let inner = &self.inner;
        inner.shutting_down.store(true, Ordering::SeqCst);
        inner.workers_stop.store(true, Ordering::SeqCst);
        // Idle lanes give up the queue, so the queued jobs can be failed here.
        inner.stopping.send_replace(true);
        drain_on_shutdown(inner).await;
        let lanes = inner.config.lanes.max(1);
        let mut idle = inner.lanes_idle.subscribe();
        let _ = tokio::time::timeout(grace, idle.wait_for(|&n| n == lanes)).await;
        let running = lanes - *idle.borrow();
        lock(&inner.events).take();
        inner.shutdown.send_replace(true);
        running
    }

    /// Jobs queued or running.
    pub fn jobs_in_flight(&self) -> usize {
        lock(&self.inner.jobs).len()
    }
}

/// The node's own workers on `url` (threads: proving is blocking work), each reporting on
/// stderr. Each fails fast if Redis does not answer now, like a `slotproof worker`.
fn start_local_workers(
    url: &str,
    config: &NodeConfig,
    stop: &Arc<AtomicBool>,
) -> Result<(), NodeError> {
    for i in 0..config.local_workers {
        let name = format!("{}-local-{i}", crate::redis_jobs::default_worker_name());
        let worker = crate::redis_jobs::Worker::new(url, &name, config.reclaim_after)?;
        worker.check_connection()?;
        let stop = stop.clone();
        std::thread::Builder::new()
            .name(format!("slotproof-worker-{i}"))
            .spawn(move || {
                let report = |event| eprintln!("[{}] {}", worker.name(), event);
                if let Err(e) = worker.run(&stop, None, &report) {
                    eprintln!("[{}] stopped: {e}", worker.name());
                }
            })
            .map_err(|e| NodeError::LocalWorker(e.to_string()))?;
    }
    Ok(())
}

fn check_proof_types(proof_types: &[String]) -> Result<(), NodeError> {
    if proof_types.is_empty() {
        return Err(NodeError::NoProofTypes);
    }
    match proof_types.iter().find(|t| t.as_str() != PROOF_TYPE) {
        Some(t) => Err(NodeError::UnknownProofType(t.clone())),
        None => Ok(()),
    }
}

/// What a lane's blocking work returns.
type Proven = Result<(Vec<u8>, Vec<(&'static str, Duration)>), (FailureReason, String)>;

fn prove_block(
    source: &dyn WitnessSource,
    prover: &BlockProver,
    block_hash: B256,
    cancel: &CancelToken,
) -> Proven {
    let t = Instant::now();
    let input = source
        .block_input(block_hash)
        .map_err(|e| (FailureReason::WitnessError, e.to_string()))?;
    let witness = t.elapsed();
    let proved = prover
        .prove_cancellable(&input, &|_| {}, cancel)
        .map_err(|e| (FailureReason::ProvingError, e.to_string()))?;
    let internal = |e: postcard::Error| (FailureReason::InternalError, e.to_string());
    let bytes = match &proved.aggregated {
        Some(agg) => slotproof::aggregated::AggregatedProof::new(&proved.proof, agg)
            .and_then(|p| p.to_bytes())
            .map_err(internal)?,
        None => proved.proof.to_bytes().map_err(internal)?,
    };
    let t = &proved.timings;
    let mut phases = vec![
        ("witness", witness),
        ("execute", t.execute),
        ("shards", t.prove),
    ];
    phases.extend(t.aggregation_tail.map(|d| ("aggregation_tail", d)));
    Ok((bytes, phases))
}

/// [`prove_block`] on remote workers: the witness is sent to Redis, the shards are proven
/// there, and the block proof is assembled (and aggregated) here: the same bytes.
fn prove_block_remotely(
    source: &dyn WitnessSource,
    coordinator: &Coordinator,
    aggregate: bool,
    block_hash: B256,
    cancel: &CancelToken,
) -> Proven {
    let t = Instant::now();
    let witness_error = |reason: String| (FailureReason::WitnessError, reason);
    let json = source
        .witness_json(block_hash)
        .map_err(|e| witness_error(e.to_string()))?;
    let input = slotproof::executor::BlockInput::from_json_str(&json)
        .map_err(|e| witness_error(e.to_string()))?;
    let hash = input.header.hash_slow();
    if hash != block_hash {
        return Err(witness_error(format!(
            "asked for block {block_hash}, the witness holds {hash}"
        )));
    }
    let witness = t.elapsed();
    let remote = coordinator
        .prove(block_hash, &input, &json, aggregate, cancel)
        .map_err(|e| match e {
            RedisJobError::Redis(_) => (FailureReason::InternalError, e.to_string()),
            _ => (FailureReason::ProvingError, e.to_string()),
        })?;
    let internal = |e: postcard::Error| (FailureReason::InternalError, e.to_string());
    let mut phases = vec![
        ("witness", witness),
        ("execute", remote.plan_time),
        ("shards", remote.shards_time),
    ];
    let bytes = match &remote.aggregated {
        // The workers proved the leaves and internal nodes with the shards; the root is the
        // tail here.
        Some(aggregated) => {
            phases.push(("aggregation_tail", remote.root_time));
            slotproof::aggregated::AggregatedProof::new(&remote.proof, aggregated)
                .and_then(|p| p.to_bytes())
                .map_err(internal)?
        }
        None => remote.proof.to_bytes().map_err(internal)?,
    };
    Ok((bytes, phases))
}

async fn lane(inner: Arc<Inner>) {
    let mut stopping = inner.stopping.subscribe();
    loop {
        let job = {
            let mut rx = inner.receiver.lock().await;
            tokio::select! {
                job = rx.recv() => job,
                _ = stopping.wait_for(|&s| s) => None,
            }
        };
        let Some(job) = job else {
            drain_on_shutdown(&inner).await;
            return;
        };
        inner.metrics.queue_depth.dec();
        inner.metrics.lanes_busy.inc();
        inner.lanes_idle.send_modify(|n| *n -= 1);
        let outcome = run_job(&inner, &job).await;
        finish(&inner, job.block_hash, outcome);
        inner.metrics.lanes_busy.dec();
        inner.lanes_idle.send_modify(|n| *n += 1);
    }
}

/// Fails the jobs still queued when the node stops.
async fn drain_on_shutdown(inner: &Inner) {
    let mut rx = inner.receiver.lock().await;
    while let Ok(job) = rx.try_recv() {
        inner.metrics.queue_depth.dec();
        finish(
            inner,
            job.block_hash,
            Outcome::Failed {
                reason: FailureReason::ShuttingDown,
                error: "the node stopped before a lane took this job".into(),
            },
        );
    }
}

async fn run_job(inner: &Arc<Inner>, job: &Job) -> Outcome {
    let started = Instant::now();
    inner
        .metrics
        .observe_phase("queue", job.queued.elapsed().as_secs_f64());
    let deadline = tokio::time::Instant::from_std(job.queued + inner.config.deadline);
    if tokio::time::Instant::now() >= deadline {
        return Outcome::Failed {
            reason: FailureReason::ProvingTimeout,
            error: format!(
                "the deadline of {:.1} s passed while the job was queued",
                inner.config.deadline.as_secs_f64()
            ),
        };
    }
    let (source, prover, block_hash) = (inner.source.clone(), inner.prover.clone(), job.block_hash);
    let (coordinator, aggregate) = (inner.coordinator.clone(), inner.config.aggregate);
    let cancel = CancelToken::new();
    let token = cancel.clone();
    let mut work = tokio::task::spawn_blocking(move || match coordinator {
        Some(c) => prove_block_remotely(&*source, &c, aggregate, block_hash, &token),
        None => prove_block(&*source, &prover, block_hash, &token),
    });
    let result = tokio::time::timeout_at(deadline, &mut work).await;
    let outcome = match result {
        Ok(Ok(Ok((bytes, phases)))) => {
            for (phase, d) in phases {
                inner.metrics.observe_phase(phase, d.as_secs_f64());
            }
            inner
                .metrics
                .observe_phase("total", job.queued.elapsed().as_secs_f64());
            inner.metrics.proof_bytes.observe(bytes.len() as f64);
            match inner.store.put_proof(block_hash, PROOF_TYPE, &bytes) {
                Ok(()) => Outcome::Proof(Arc::new(bytes)),
                Err(e) => Outcome::Failed {
                    reason: FailureReason::InternalError,
                    error: e.to_string(),
                },
            }
        }
        Ok(Ok(Err((reason, error)))) => Outcome::Failed { reason, error },
        Ok(Err(join)) => Outcome::Failed {
            reason: FailureReason::InternalError,
            error: format!("the proving task failed: {join}"),
        },
        Err(_) => {
            let error = format!(
                "no proof within the deadline of {:.1} s",
                inner.config.deadline.as_secs_f64()
            );
            // Report now, then wait for the shards already running (the lane stays busy).
            let outcome = Outcome::Failed {
                reason: FailureReason::ProvingTimeout,
                error,
            };
            finish(inner, block_hash, outcome.clone());
            cancel.cancel();
            let _ = work.await;
            outcome
        }
    };
    inner
        .metrics
        .lane_busy_seconds
        .inc_by(started.elapsed().as_secs_f64());
    outcome
}

/// Ends a job: its waiters and its requests' event subscribers learn the outcome. A second
/// call for the same job (after a timeout was reported) finds no job and does nothing.
fn finish(inner: &Inner, block_hash: B256, outcome: Outcome) {
    let Some(entry) = lock(&inner.jobs).remove(&block_hash) else {
        return;
    };
    let label = match &outcome {
        Outcome::Proof(_) => "complete",
        Outcome::Failed { reason, .. } => reason.as_str(),
    };
    inner.metrics.count_outcome(label);
    for root in entry.roots {
        let event = match &outcome {
            Outcome::Proof(_) => ProofEvent::Complete {
                root,
                proof_type: PROOF_TYPE.into(),
            },
            Outcome::Failed { reason, error } => ProofEvent::Failure {
                root,
                proof_type: PROOF_TYPE.into(),
                reason: *reason,
                error: error.clone(),
            },
        };
        inner.emit(event);
    }
    entry.done.send_replace(Some(outcome));
}
