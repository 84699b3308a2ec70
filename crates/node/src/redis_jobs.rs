//! Distributed proving on Redis Streams: a [`Coordinator`] publishes one job per shard of a block,
//! any number of [`Worker`]s (`slotproof worker --redis URL`, on any machine) prove them, and the
//! coordinator assembles the block proof, byte for byte the single-process one
//! ([`slotproof::shard_jobs`]).
//!
//! The protocol (every key under a prefix, `slotproof` by default):
//! - `{p}:input:{block hash}`: the block's witness (fixture JSON), stored once per block (with an
//!   expiry), read by every job of the block.
//! - `{p}:jobs`: the stream of jobs, read in the consumer group `{p}-workers`. A job names its
//!   run (one coordinator's proof of one block), the block, the shard index, the shard count and
//!   the prover settings the block is cut with.
//! - `{p}:plan:{run}`: the coordinator's [`ShardPlan`] (postcard); a worker whose own plan differs
//!   (other settings, another build) fails the job rather than prove a different shard.
//! - With aggregation, a shard's job also proves the shard's **leaf**, and the coordinator
//!   publishes a job per **internal node** of the tree as soon as both its children are stored
//!   (the pairing is `TreeSchedule`'s, as in one process). `{p}:node:{run}:{layer}:{index}`:
//!   a node's bytes (`ProvenNode::to_bytes`); the coordinator proves the root over the top node
//!   and checks it ([`slotproof::remote_tree`]). `{p}:results:{run}`: per stored result its
//!   proving time and, for a leaf, its time, key and the shard proof's degree bits (so the
//!   coordinator does not decode every shard proof again for them).
//! - `{p}:proof:{run}:{k}`: shard `k`'s proof (postcard), written with `SET NX` while the run is
//!   open (one script, [`STORE_SCRIPT`]): the first proof stored is the result, so a job proven
//!   twice (a slow worker whose job was reclaimed) still gives one proof, and a proof finished
//!   after its run ended is not stored. `{p}:stored:{run}` counts per shard the proofs that were
//!   stored (1 each) and `{p}:claims:{run}` the deliveries of each job.
//! - `{p}:notify:{run}`: a list workers push to after storing a proof (or an error), so the
//!   coordinator wakes up without polling every key; `{p}:error:{run}`: the first job failure;
//!   `{p}:closed:{run}`: set when the run ends (assembled, failed or cancelled at the node's
//!   deadline): workers drop its remaining jobs and store nothing more for it.
//!
//! A worker claims with `XREADGROUP` and acknowledges (`XACK`, and `XDEL`: the stream holds only
//! jobs not done) after the proof is stored. While it proves, a **heartbeat** (its own
//! connection, every fifth of the visibility timeout, [`HEARTBEAT_SCRIPT`]) resets the job's
//! idle time as long as the job is still this worker's, so a long shard is not taken over. A job
//! whose worker died (or stalled, or lost Redis) stays pending without heartbeats; after the
//! visibility timeout (`reclaim_after`) another worker takes it over with `XAUTOCLAIM` and
//! proves it again. A worker overtaken that way is not stopped: both proofs are the same bytes
//! and only the first is kept. `{p}:workers:{run}` counts the stored proofs per worker.
//!
//! A worker survives Redis going away: it reports the lost connection and reconnects with a
//! backoff (up to [`MAX_BACKOFF`]); its job in flight, unacknowledged, is reclaimed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alloy_primitives::B256;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use slotproof::aggregate::{AggregateError, AggregatedBlock};
use slotproof::executor::BlockInput;
use slotproof::recursion::config::Val;
use slotproof::recursion::keys::KEY_LEN;
use slotproof::recursion::schedule::{NodeAt, Ready, TreeSchedule};
use slotproof::recursion::tree::InternalKey;
use slotproof::remote_tree::{LeafReport, NodeJobProver, ProvenLeaf};
use slotproof::shard_jobs::{ShardJobError, ShardPlan};
use slotproof::{BlockProof, BlockProver, CancelToken, ShardProof};
use thiserror::Error;

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "slotproof";

/// How long the witness, plan and results of a run stay in Redis at most (a coordinator that
/// dies leaves nothing behind for longer).
const KEY_TTL_SECS: u64 = 3600;

#[derive(Debug, Error)]
pub enum RedisJobError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Shard(#[from] ShardJobError),
    #[error("aggregation: {0}")]
    Aggregate(#[from] AggregateError),
    /// A job entry or stored value this code did not write (or another version did).
    #[error("malformed job data ({what}): {reason}")]
    Malformed { what: String, reason: String },
    /// A worker failed a job of this run.
    #[error("a worker failed: {0}")]
    WorkerFailed(String),
    /// A worker's visibility timeout that is not a positive time.
    #[error("the visibility timeout must be positive")]
    ZeroReclaimAfter,
    #[error("proving was cancelled")]
    Cancelled,
}

impl RedisJobError {
    /// Redis could not be reached or the connection broke (a worker reconnects), as opposed
    /// to a reply or a job it cannot use.
    pub fn is_connection(&self) -> bool {
        match self {
            Self::Redis(e) => {
                e.is_io_error()
                    || e.is_connection_refusal()
                    || e.is_connection_dropped()
                    || e.is_timeout()
            }
            _ => false,
        }
    }
}

fn malformed(what: impl Into<String>, reason: impl ToString) -> RedisJobError {
    RedisJobError::Malformed {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// Stores a job's result unless the run is closed or the job has one already, and counts it
/// per job and per worker; 1 if stored. KEYS: closed flag, result, stored counts, counts per
/// worker, results hash, [the shard's leaf]; ARGV: result, TTL, counts field, worker, results
/// field, results value, [the leaf's bytes].
pub const STORE_SCRIPT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
if KEYS[6] then redis.call('SET', KEYS[6], ARGV[7], 'EX', ARGV[2]) end
redis.call('HSET', KEYS[5], ARGV[5], ARGV[6])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
for i = 3, 5 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return 1
"#;

/// Resets a pending job's idle time if it is still this worker's (a job reclaimed by another
/// worker is left to it); 1 if it was. KEYS: the stream; ARGV: group, entry id, worker.
pub const HEARTBEAT_SCRIPT: &str = r#"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
"#;

/// The longest wait between a worker's attempts to reach Redis again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The visibility timeout workers use by default: with heartbeats every fifth of it, a job is
/// taken over about this long after its worker stopped.
pub const DEFAULT_RECLAIM_AFTER: Duration = Duration::from_secs(5);

/// The prover settings a block is cut with: every worker builds its prover from the job's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobSettings {
    pub max_shard_rows: usize,
    pub subblock_gas: u64,
}

impl JobSettings {
    fn prover(self) -> BlockProver {
        self.builder().build()
    }

    /// A prover builder cutting blocks as the job says (a worker adds its backend to it).
    pub fn builder(self) -> slotproof::BlockProverBuilder {
        BlockProver::builder()
            .max_shard_rows(self.max_shard_rows)
            .subblock_gas(self.subblock_gas)
    }
}

/// How a worker's shard prover is set up beyond the job's cut: its backend (CPU, CUDA devices,
/// streams, device memory budget).
pub type ProverSetup =
    Box<dyn Fn(slotproof::BlockProverBuilder) -> slotproof::BlockProverBuilder + Send + Sync>;

/// The key names of one prefix.
#[derive(Clone, Debug)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn stream(&self) -> String {
        format!("{}:jobs", self.prefix)
    }
    fn group(&self) -> String {
        format!("{}-workers", self.prefix)
    }
    fn input(&self, block: B256) -> String {
        format!("{}:input:{block}", self.prefix)
    }
    fn run(&self, what: &str, run: &str) -> String {
        format!("{}:{what}:{run}", self.prefix)
    }
    fn proof(&self, run: &str, shard: usize) -> String {
        format!("{}:proof:{run}:{shard}", self.prefix)
    }
    fn node(&self, run: &str, at: NodeAt) -> String {
        format!("{}:node:{run}:{}:{}", self.prefix, at.layer, at.index)
    }
}

/// The consumer group, created with the stream if need be (reading from the stream's start,
/// so jobs added before the first worker are seen).
fn ensure_group(con: &mut redis::Connection, keys: &Keys) -> Result<(), RedisJobError> {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(keys.stream())
        .arg(keys.group())
        .arg("0")
        .arg("MKSTREAM")
        .query(con);
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => Ok(other?),
    }
}

/// A run id: unique per proof of a block (a block proven again gets fresh keys).
fn new_run_id(block: B256) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{}-{:016x}", &block.to_string()[2..18], h.finish())
}

/// Publishes a block's shards (and, aggregating, the tree's internal nodes) as jobs and
/// assembles their proofs.
pub struct Coordinator {
    client: redis::Client,
    keys: Keys,
    settings: JobSettings,
    /// How often the coordinator looks at the deadline / cancellation while waiting.
    poll: Duration,
    /// The root's prover (and the keys it made, one per program, kept across blocks).
    tree: NodeJobProver,
}

/// A block proven by workers.
pub struct RemoteProof {
    pub proof: BlockProof,
    /// The tree over the shards, aggregating: the root proven here over the workers' nodes.
    pub aggregated: Option<AggregatedBlock>,
    pub run: String,
    /// Planning (execution and trace generation here).
    pub plan_time: Duration,
    /// Waiting for the workers' shards (and tree nodes).
    pub shards_time: Duration,
    /// The root and its checks, here.
    pub root_time: Duration,
}

/// What a run's results hash says of one stored result: its proving time in ms, then for a
/// shard with its leaf the leaf's time, key, and the number of the shard proof's degree bits
/// followed by them.
fn result_value(ms: u128, leaf: Option<&ProvenLeaf>) -> String {
    let mut v = ms.to_string();
    if let Some(leaf) = leaf {
        v += &format!(" {}", leaf.time.as_millis());
        for x in &leaf.key {
            v += &format!(" {}", x.as_canonical_u32());
        }
        v += &format!(" {}", leaf.degree_bits.len());
        for b in &leaf.degree_bits {
            v += &format!(" {b}");
        }
    }
    v
}

/// A leaf as [`result_value`] stored it.
#[derive(Debug, PartialEq)]
struct StoredLeaf {
    ms: u64,
    key: InternalKey,
    /// `None` in a value written before the degree bits were stored.
    degree_bits: Option<Vec<usize>>,
}

/// Log heights above this are not a table's (the v3 file holds them as bytes).
const MAX_DEGREE_BITS: u64 = 63;

/// [`result_value`] read back: (ms, the leaf).
fn parse_result_value(what: &str, value: &str) -> Result<(u64, Option<StoredLeaf>), RedisJobError> {
    let bad = |e: &dyn std::fmt::Display| malformed(format!("the result of {what}"), e);
    let numbers: Vec<u64> = value
        .split_whitespace()
        .map(|x| x.parse::<u64>().map_err(|e| bad(&e)))
        .collect::<Result<_, _>>()?;
    match numbers.as_slice() {
        [ms] => Ok((*ms, None)),
        [ms, leaf_ms, rest @ ..] if rest.len() >= KEY_LEN => {
            let (key, bits) = rest.split_at(KEY_LEN);
            let mut k = [Val::ZERO; KEY_LEN];
            for (dst, &x) in k.iter_mut().zip(key) {
                let x = u32::try_from(x)
                    .ok()
                    .filter(|&x| x < Val::ORDER_U32)
                    .ok_or_else(|| bad(&format!("{x} is not a field element")))?;
                *dst = Val::from_u32(x);
            }
            let degree_bits = match bits {
                [] => None,
                [n, bits @ ..] if *n as usize == bits.len() => {
                    if let Some(b) = bits.iter().find(|&&b| b > MAX_DEGREE_BITS) {
                        return Err(bad(&format!("{b} is not a table's log height")));
                    }
                    Some(bits.iter().map(|&b| b as usize).collect())
                }
                _ => return Err(bad(&format!("`{value}`"))),
            };
            let leaf = StoredLeaf {
                ms: *leaf_ms,
                key: k,
                degree_bits,
            };
            Ok((*ms, Some(leaf)))
        }
        _ => Err(bad(&format!("`{value}`"))),
    }
}

impl Coordinator {
    pub fn new(url: &str, settings: JobSettings) -> Result<Self, RedisJobError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            keys: Keys {
                prefix: DEFAULT_PREFIX.into(),
            },
            settings,
            poll: Duration::from_millis(200),
            tree: NodeJobProver::new(),
        })
    }

    /// Plans `input` (the block `block_hash`, whose witness is `input_json`), publishes a job
    /// per shard, waits for every shard's proof (until `cancel`) and assembles the block proof.
    /// With `aggregate`, each shard's job also proves its leaf, the internal nodes are jobs as
    /// soon as their children are stored, and the root is proven here.
    pub fn prove(
        &self,
        block_hash: B256,
        input: &BlockInput,
        input_json: &str,
        aggregate: bool,
        cancel: &CancelToken,
    ) -> Result<RemoteProof, RedisJobError> {
        let t = Instant::now();
        let plan = self.settings.prover().plan_shards(input, cancel)?;
        let plan_time = t.elapsed();
        let n = plan.shard_count();
        let run = new_run_id(block_hash);
        let keys = &self.keys;
        let mut con = self.client.get_connection()?;
        ensure_group(&mut con, keys)?;
        let plan_bytes = postcard::to_allocvec(&plan).map_err(|e| malformed("plan", e))?;
        let mut publish = redis::pipe();
        publish
            .cmd("SET")
            .arg(keys.input(block_hash))
            .arg(input_json)
            .arg("EX")
            .arg(KEY_TTL_SECS)
            .ignore()
            .cmd("SET")
            .arg(keys.run("plan", &run))
            .arg(plan_bytes)
            .arg("EX")
            .arg(KEY_TTL_SECS)
            .ignore();
        for k in 0..n {
            publish
                .cmd("XADD")
                .arg(keys.stream())
                .arg("*")
                .arg("kind")
                .arg("shard")
                .arg("run")
                .arg(&run)
                .arg("block")
                .arg(block_hash.to_string())
                .arg("shard")
                .arg(k)
                .arg("shards")
                .arg(n)
                .arg("max_shard_rows")
                .arg(self.settings.max_shard_rows)
                .arg("subblock_gas")
                .arg(self.settings.subblock_gas)
                .arg("leaf")
                .arg(u8::from(aggregate))
                .ignore();
        }
        publish.exec(&mut con)?;

        let t = Instant::now();
        let mut published_nodes = Vec::new();
        let result = self
            .wait(&mut con, &run, n, aggregate, &mut published_nodes, cancel)
            .and_then(|top| {
                let proofs: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                    .arg((0..n).map(|k| keys.proof(&run, k)).collect::<Vec<_>>())
                    .query(&mut con)?;
                let shards = proofs
                    .into_iter()
                    .enumerate()
                    .map(|(k, bytes)| {
                        let bytes = bytes.ok_or_else(|| malformed(format!("shard {k}"), "gone"))?;
                        postcard::from_bytes::<ShardProof>(&bytes)
                            .map_err(|e| malformed(format!("shard {k}'s proof"), e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let proof = plan.assemble(shards)?;
                let shards_time = t.elapsed();
                let t = Instant::now();
                let aggregated = match top {
                    Some(top) => Some(self.root(&mut con, &run, &proof, top, &published_nodes)?),
                    None => None,
                };
                Ok((proof, aggregated, shards_time, t.elapsed()))
            });
        // The run is over, however it ended: workers drop its remaining jobs and store nothing
        // more (first, so no proof is stored after the cleanup). The results are read (or
        // useless): free them. The counters stay until they expire (operators and tests read
        // them).
        let mut cleanup = redis::pipe();
        cleanup
            .cmd("SET")
            .arg(keys.run("closed", &run))
            .arg(1)
            .arg("EX")
            .arg(KEY_TTL_SECS)
            .ignore()
            .cmd("DEL")
            .arg(keys.run("plan", &run))
            .arg(keys.run("notify", &run))
            .arg(keys.run("error", &run))
            .arg((0..n).map(|k| keys.proof(&run, k)).collect::<Vec<_>>())
            .ignore();
        if aggregate {
            let leaves = (0..n).map(NodeAt::leaf);
            let nodes: Vec<String> = leaves
                .chain(published_nodes.iter().copied())
                .map(|at| keys.node(&run, at))
                .collect();
            cleanup.cmd("DEL").arg(nodes).ignore();
        }
        for what in [
            "claims",
            "stored",
            "workers",
            "results",
            "node_claims",
            "node_stored",
        ] {
            cleanup
                .cmd("EXPIRE")
                .arg(keys.run(what, &run))
                .arg(KEY_TTL_SECS)
                .ignore();
        }
        let _: redis::RedisResult<()> = cleanup.exec(&mut con);
        let (proof, aggregated, shards_time, root_time) = result?;
        Ok(RemoteProof {
            proof,
            aggregated,
            run,
            plan_time,
            shards_time,
            root_time,
        })
    }

    /// The root over the stored top node, checked against `proof`'s claims.
    fn root(
        &self,
        con: &mut redis::Connection,
        run: &str,
        proof: &BlockProof,
        top: NodeAt,
        internal: &[NodeAt],
    ) -> Result<AggregatedBlock, RedisJobError> {
        let keys = &self.keys;
        let (top_bytes, results): (Option<Vec<u8>>, HashMap<String, String>) = redis::pipe()
            .cmd("GET")
            .arg(keys.node(run, top))
            .cmd("HGETALL")
            .arg(keys.run("results", run))
            .query(con)?;
        let top_bytes = top_bytes.ok_or_else(|| malformed("the top node", "gone"))?;
        let result = |what: String| {
            let value = results
                .get(&what)
                .ok_or_else(|| malformed(format!("the result of {what}"), "missing"))?;
            parse_result_value(&what, value)
        };
        let mut leaves = Vec::new();
        for k in 0..proof.shards.len() {
            let what = JobTarget::Shard(k).to_string();
            let (_, leaf) = result(what.clone())?;
            let leaf = leaf.ok_or_else(|| malformed(format!("the result of {what}"), "no leaf"))?;
            let degree_bits = leaf.degree_bits.ok_or_else(|| {
                malformed(
                    format!("the result of {what}"),
                    "no degree bits (stored by an older worker)",
                )
            })?;
            leaves.push(LeafReport {
                key: leaf.key,
                degree_bits,
                time: Duration::from_millis(leaf.ms),
            });
        }
        let internal_times = internal
            .iter()
            .map(|&at| {
                let (ms, _) = result(JobTarget::Node(at).to_string())?;
                Ok((at, Duration::from_millis(ms)))
            })
            .collect::<Result<Vec<_>, RedisJobError>>()?;
        Ok(self
            .tree
            .finish(proof, &top_bytes, leaves, internal_times)?)
    }

    /// What the workers did for `run` (kept for an hour after it ends).
    pub fn run_stats(&self, run: &str) -> Result<RunStats, RedisJobError> {
        let mut con = self.client.get_connection()?;
        #[allow(clippy::type_complexity)]
        let (claims, stored, by_worker, node_claims, node_stored): (
            HashMap<usize, u64>,
            HashMap<usize, u64>,
            HashMap<String, u64>,
            HashMap<String, u64>,
            HashMap<String, u64>,
        ) = redis::pipe()
            .cmd("HGETALL")
            .arg(self.keys.run("claims", run))
            .cmd("HGETALL")
            .arg(self.keys.run("stored", run))
            .cmd("HGETALL")
            .arg(self.keys.run("workers", run))
            .cmd("HGETALL")
            .arg(self.keys.run("node_claims", run))
            .cmd("HGETALL")
            .arg(self.keys.run("node_stored", run))
            .query(&mut con)?;
        Ok(RunStats {
            claims: claims.into_iter().collect(),
            stored: stored.into_iter().collect(),
            by_worker: by_worker.into_iter().collect(),
            node_claims: node_claims.into_iter().collect(),
            node_stored: node_stored.into_iter().collect(),
        })
    }

    /// Jobs in the stream: published and not done yet (every run; done jobs are deleted).
    pub fn queued_jobs(&self) -> Result<usize, RedisJobError> {
        let mut con = self.client.get_connection()?;
        Ok(redis::cmd("XLEN").arg(self.keys.stream()).query(&mut con)?)
    }

    /// Jobs delivered to a worker and not acknowledged yet (every run).
    pub fn pending_jobs(&self) -> Result<usize, RedisJobError> {
        let mut con = self.client.get_connection()?;
        ensure_group(&mut con, &self.keys)?;
        let summary: redis::Value = redis::cmd("XPENDING")
            .arg(self.keys.stream())
            .arg(self.keys.group())
            .query(&mut con)?;
        match summary {
            redis::Value::Array(items) => match items.first() {
                Some(redis::Value::Int(n)) => Ok(*n as usize),
                other => Err(malformed("XPENDING", format!("{other:?}"))),
            },
            other => Err(malformed("XPENDING", format!("{other:?}"))),
        }
    }

    /// Until every shard's proof (and, aggregating, the tree's top node) is stored, a worker
    /// reports a failure, or `cancel`. Aggregating, each internal node is published as a job
    /// as soon as its children are stored (into `published`); returns the top node's place.
    fn wait(
        &self,
        con: &mut redis::Connection,
        run: &str,
        n: usize,
        aggregate: bool,
        published: &mut Vec<NodeAt>,
        cancel: &CancelToken,
    ) -> Result<Option<NodeAt>, RedisJobError> {
        let keys = &self.keys;
        // Results not stored yet, by place (a shard's proof at its leaf's place), with their key.
        let mut waiting: BTreeMap<NodeAt, String> = (0..n)
            .map(|k| (NodeAt::leaf(k), keys.proof(run, k)))
            .collect();
        let mut schedule: TreeSchedule<NodeAt> = TreeSchedule::new();
        let mut top = None;
        if aggregate {
            let ready = schedule.set_leaf_count(n);
            self.publish_nodes(con, run, ready, &mut waiting, published, &mut top)?;
        }
        while !waiting.is_empty() || (aggregate && top.is_none()) {
            if cancel.is_cancelled() {
                return Err(RedisJobError::Cancelled);
            }
            // A notification (or the poll interval) wakes us; the keys are the truth.
            let _: Option<(String, String)> = redis::cmd("BLPOP")
                .arg(keys.run("notify", run))
                .arg(self.poll.as_secs_f64())
                .query(con)?;
            let error: Option<String> = redis::cmd("GET").arg(keys.run("error", run)).query(con)?;
            if let Some(error) = error {
                return Err(RedisJobError::WorkerFailed(error));
            }
            let mut exists = redis::pipe();
            for key in waiting.values() {
                exists.cmd("EXISTS").arg(key);
            }
            let found: Vec<bool> = exists.query(con)?;
            let stored: Vec<NodeAt> = waiting
                .keys()
                .zip(found)
                .filter_map(|(&at, there)| there.then_some(at))
                .collect();
            for at in &stored {
                waiting.remove(at);
            }
            if aggregate {
                let ready: Vec<Ready<NodeAt>> = stored
                    .into_iter()
                    .filter_map(|at| schedule.insert(at, at))
                    .collect();
                self.publish_nodes(con, run, ready, &mut waiting, published, &mut top)?;
            }
        }
        Ok(top)
    }

    /// Publishes a job per internal node that became ready (now awaited in `waiting`); the
    /// root's turn sets `top`.
    fn publish_nodes(
        &self,
        con: &mut redis::Connection,
        run: &str,
        ready: Vec<Ready<NodeAt>>,
        waiting: &mut BTreeMap<NodeAt, String>,
        published: &mut Vec<NodeAt>,
        top: &mut Option<NodeAt>,
    ) -> Result<(), RedisJobError> {
        let place = |at: NodeAt| format!("{}:{}", at.layer, at.index);
        for r in ready {
            match r {
                Ready::Internal { at, left, right } => {
                    let _: String = redis::cmd("XADD")
                        .arg(self.keys.stream())
                        .arg("*")
                        .arg("kind")
                        .arg("node")
                        .arg("run")
                        .arg(run)
                        .arg("node")
                        .arg(place(at))
                        .arg("left")
                        .arg(place(left))
                        .arg("right")
                        .arg(place(right))
                        .query(con)?;
                    waiting.insert(at, self.keys.node(run, at));
                    published.push(at);
                }
                Ready::Root { top: t } => *top = Some(t),
            }
        }
        Ok(())
    }
}

/// Per shard of a run: how many times its job was delivered to a worker, and how many of its
/// proofs were stored as the result (1 each once the run is done: never more, `SET NX`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    pub claims: BTreeMap<usize, u64>,
    pub stored: BTreeMap<usize, u64>,
    /// Stored results (shard proofs and tree nodes) per worker (consumer name).
    pub by_worker: BTreeMap<String, u64>,
    /// The same per internal node of the tree (`layer:index`), aggregating.
    pub node_claims: BTreeMap<String, u64>,
    pub node_stored: BTreeMap<String, u64>,
}

/// What a job proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobTarget {
    /// A shard (and its leaf, aggregating).
    Shard(usize),
    /// An internal node of the aggregation tree.
    Node(NodeAt),
}

impl std::fmt::Display for JobTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Shard(k) => write!(f, "shard {k}"),
            Self::Node(at) => write!(f, "node {}:{}", at.layer, at.index),
        }
    }
}

/// What a worker reports (the CLI prints these lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerEvent {
    /// A job was taken: new (`reclaimed` false) or from a worker that went quiet.
    Claimed {
        run: String,
        target: JobTarget,
        reclaimed: bool,
    },
    /// Its result is stored (`stored` false: another worker's was there first, or the run is
    /// over).
    Proven {
        run: String,
        target: JobTarget,
        stored: bool,
        time: Duration,
    },
    /// Its run is over or already has this job's result: dropped unproven.
    Dropped { run: String, target: JobTarget },
    /// The job failed (the run fails with this).
    Failed {
        run: String,
        target: JobTarget,
        error: String,
    },
    /// A stream entry that is not a job this worker can read (acknowledged and skipped).
    Skipped { error: String },
    /// Redis could not be reached or the connection broke: the next attempt is in `retry_in`.
    Disconnected { error: String, retry_in: Duration },
    /// Connected again after [`WorkerEvent::Disconnected`].
    Reconnected,
}

impl std::fmt::Display for WorkerEvent {
    /// One line per event (what `slotproof worker` prints; tests read these lines).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Claimed {
                run,
                target,
                reclaimed,
            } => write!(
                f,
                "claimed run {run} {target}{}",
                if *reclaimed { " (reclaimed)" } else { "" }
            ),
            Self::Proven {
                run,
                target,
                stored,
                time,
            } => write!(
                f,
                "proven run {run} {target} in {:.2} s{}",
                time.as_secs_f64(),
                if *stored {
                    ""
                } else {
                    " (not stored: another proof was first, or the run is over)"
                }
            ),
            Self::Dropped { run, target } => write!(f, "dropped run {run} {target}"),
            Self::Failed { run, target, error } => {
                write!(f, "failed run {run} {target}: {error}")
            }
            Self::Skipped { error } => write!(f, "skipped a stream entry: {error}"),
            Self::Disconnected { error, retry_in } => write!(
                f,
                "lost redis ({error}); retrying in {:.1} s",
                retry_in.as_secs_f64()
            ),
            Self::Reconnected => write!(f, "reconnected to redis"),
        }
    }
}

/// `host-pid`: a consumer name unique per process on a network of machines.
pub fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// Claims and proves shard and tree-node jobs.
pub struct Worker {
    client: redis::Client,
    keys: Keys,
    consumer: String,
    reclaim_after: Duration,
    /// How long one `XREADGROUP` blocks (how often `stop` is looked at).
    block: Duration,
    /// Leaves and internal nodes (it keeps the keys it made, one per program).
    tree: NodeJobProver,
    /// The shard prover's backend ([`Worker::with_prover_setup`]); the CPU by default.
    setup: ProverSetup,
}

/// A shard job.
struct ShardJob {
    block: B256,
    shard: usize,
    shards: usize,
    settings: JobSettings,
    /// Prove the shard's leaf too.
    leaf: bool,
}

/// An internal node job: its place and its children's.
struct NodeJob {
    at: NodeAt,
    left: NodeAt,
    right: NodeAt,
}

enum JobKind {
    Shard(ShardJob),
    Node(NodeJob),
}

/// A job entry, parsed.
struct Job {
    id: String,
    run: String,
    kind: JobKind,
}

impl Job {
    fn parse(entry: &StreamId) -> Result<Self, RedisJobError> {
        let field = |name: &str| -> Result<String, RedisJobError> {
            entry
                .get::<String>(name)
                .ok_or_else(|| malformed(format!("job {}", entry.id), format!("no {name}")))
        };
        let number = |name: &str| -> Result<u64, RedisJobError> {
            field(name)?
                .parse()
                .map_err(|e| malformed(format!("job {}'s {name}", entry.id), e))
        };
        let place = |name: &str| -> Result<NodeAt, RedisJobError> {
            let text = field(name)?;
            let bad = || malformed(format!("job {}'s {name}", entry.id), &text);
            let (layer, index) = text.split_once(':').ok_or_else(bad)?;
            Ok(NodeAt {
                layer: layer.parse().map_err(|_| bad())?,
                index: index.parse().map_err(|_| bad())?,
            })
        };
        let kind = match field("kind")?.as_str() {
            "shard" => JobKind::Shard(ShardJob {
                block: field("block")?
                    .parse()
                    .map_err(|e| malformed(format!("job {}'s block", entry.id), e))?,
                shard: number("shard")? as usize,
                shards: number("shards")? as usize,
                settings: JobSettings {
                    max_shard_rows: number("max_shard_rows")? as usize,
                    subblock_gas: number("subblock_gas")?,
                },
                leaf: number("leaf")? == 1,
            }),
            "node" => JobKind::Node(NodeJob {
                at: place("node")?,
                left: place("left")?,
                right: place("right")?,
            }),
            other => {
                return Err(malformed(
                    format!("job {}", entry.id),
                    format!("unknown kind `{other}`"),
                ));
            }
        };
        Ok(Self {
            id: entry.id.clone(),
            run: field("run")?,
            kind,
        })
    }

    fn target(&self) -> JobTarget {
        match &self.kind {
            JobKind::Shard(s) => JobTarget::Shard(s.shard),
            JobKind::Node(n) => JobTarget::Node(n.at),
        }
    }
}

/// A proven job's result, ready to store.
struct JobResult {
    bytes: Vec<u8>,
    /// The shard's leaf, aggregating.
    leaf: Option<ProvenLeaf>,
}

/// Sleeps `time`, waking early when `stop` is set.
fn sleep_unless_stopped(time: Duration, stop: &AtomicBool) {
    let end = Instant::now() + time;
    while !stop.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

impl Worker {
    /// A worker named `consumer` (unique per worker process); jobs pending on a worker for
    /// longer than `reclaim_after` without a heartbeat are taken over.
    pub fn new(url: &str, consumer: &str, reclaim_after: Duration) -> Result<Self, RedisJobError> {
        if reclaim_after.is_zero() {
            return Err(RedisJobError::ZeroReclaimAfter);
        }
        Ok(Self {
            client: redis::Client::open(url)?,
            keys: Keys {
                prefix: DEFAULT_PREFIX.into(),
            },
            consumer: consumer.into(),
            reclaim_after,
            block: Duration::from_millis(500),
            tree: NodeJobProver::new(),
            setup: Box::new(|builder| builder),
        })
    }

    /// Proves shards on the backend `setup` adds to each job's prover builder (e.g. CUDA
    /// devices); the job's cut (rows per shard, subblock gas) stays the job's. A backend that
    /// cuts differently (a device memory budget smaller than the shards) makes the worker's
    /// plan differ from the coordinator's, and the job fails rather than prove another shard.
    pub fn with_prover_setup(mut self, setup: ProverSetup) -> Self {
        self.setup = setup;
        self
    }

    pub fn name(&self) -> &str {
        &self.consumer
    }

    /// Redis answers at this worker's address (and the consumer group exists).
    pub fn check_connection(&self) -> Result<(), RedisJobError> {
        self.connect().map(drop)
    }

    /// How often a job being proven is marked alive.
    fn heartbeat(&self) -> Duration {
        self.reclaim_after / 5
    }

    fn connect(&self) -> Result<redis::Connection, RedisJobError> {
        let mut con = self.client.get_connection()?;
        ensure_group(&mut con, &self.keys)?;
        Ok(con)
    }

    /// Takes and proves jobs until `stop` is set (looked at between jobs and every half
    /// second while idle) or `max_jobs` jobs were handled. Returns how many were.
    ///
    /// Redis must answer at the start (a wrong address is an error, not a wait); after that a
    /// lost connection is reported and retried with a backoff, and an entry that is not a job
    /// is reported and skipped.
    pub fn run(
        &self,
        stop: &AtomicBool,
        max_jobs: Option<usize>,
        report: &dyn Fn(WorkerEvent),
    ) -> Result<usize, RedisJobError> {
        let mut con = Some(self.connect()?);
        let mut handled = 0;
        let mut backoff = Duration::from_millis(100);
        while !stop.load(Ordering::SeqCst) && max_jobs.is_none_or(|m| handled < m) {
            let c = match con.as_mut() {
                Some(c) => c,
                None => match self.connect() {
                    Ok(c) => {
                        report(WorkerEvent::Reconnected);
                        backoff = Duration::from_millis(100);
                        con.insert(c)
                    }
                    Err(e) => {
                        report(WorkerEvent::Disconnected {
                            error: e.to_string(),
                            retry_in: backoff,
                        });
                        sleep_unless_stopped(backoff, stop);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                },
            };
            let step = self.next_job(c).and_then(|job| match job {
                Some((entry, reclaimed)) => self.handle(c, &entry, reclaimed, report).map(|()| 1),
                None => Ok(0),
            });
            match step {
                Ok(n) => handled += n,
                Err(e) if e.is_connection() => {
                    report(WorkerEvent::Disconnected {
                        error: e.to_string(),
                        retry_in: backoff,
                    });
                    con = None;
                    sleep_unless_stopped(backoff, stop);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => report(WorkerEvent::Skipped {
                    error: e.to_string(),
                }),
            }
        }
        Ok(handled)
    }

    /// A job pending past the visibility timeout, else a new one (waiting up to `block`).
    fn next_job(
        &self,
        con: &mut redis::Connection,
    ) -> Result<Option<(StreamId, bool)>, RedisJobError> {
        let keys = &self.keys;
        let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(keys.stream())
            .arg(keys.group())
            .arg(&self.consumer)
            .arg(self.reclaim_after.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query(con)?;
        if let Some(entry) = claimed.claimed.into_iter().next() {
            return Ok(Some((entry, true)));
        }
        let read: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(keys.group())
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(self.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(keys.stream())
            .arg(">")
            .query(con)?;
        Ok(read
            .and_then(|r| r.keys.into_iter().next())
            .and_then(|k| k.ids.into_iter().next())
            .map(|entry| (entry, false)))
    }

    /// Proves one job and acknowledges it; a job that cannot be proven fails its run (the
    /// failure is stored, the job acknowledged: proving it again would fail again).
    fn handle(
        &self,
        con: &mut redis::Connection,
        entry: &StreamId,
        reclaimed: bool,
        report: &dyn Fn(WorkerEvent),
    ) -> Result<(), RedisJobError> {
        let keys = &self.keys;
        // Acknowledged and deleted: the stream holds only jobs not done yet.
        let ack = |con: &mut redis::Connection| -> Result<(), RedisJobError> {
            redis::pipe()
                .cmd("XACK")
                .arg(keys.stream())
                .arg(keys.group())
                .arg(&entry.id)
                .ignore()
                .cmd("XDEL")
                .arg(keys.stream())
                .arg(&entry.id)
                .ignore()
                .exec(con)?;
            Ok(())
        };
        let job = match Job::parse(entry) {
            Ok(job) => job,
            // Not a job this code can read: acknowledged so that it is not delivered forever.
            Err(e) => {
                ack(con)?;
                return Err(e);
            }
        };
        let target = job.target();
        // Where its result goes, and which counters count it.
        let (result_key, claims, stored_counts, counts_field) = match &job.kind {
            JobKind::Shard(s) => (
                keys.proof(&job.run, s.shard),
                keys.run("claims", &job.run),
                keys.run("stored", &job.run),
                s.shard.to_string(),
            ),
            JobKind::Node(n) => (
                keys.node(&job.run, n.at),
                keys.run("node_claims", &job.run),
                keys.run("node_stored", &job.run),
                format!("{}:{}", n.at.layer, n.at.index),
            ),
        };
        let _: i64 = redis::cmd("HINCRBY")
            .arg(&claims)
            .arg(&counts_field)
            .arg(1)
            .query(con)?;
        report(WorkerEvent::Claimed {
            run: job.run.clone(),
            target,
            reclaimed,
        });
        let (cancelled, proven): (bool, bool) = redis::pipe()
            .cmd("EXISTS")
            .arg(keys.run("closed", &job.run))
            .cmd("EXISTS")
            .arg(&result_key)
            .query(con)?;
        if cancelled || proven {
            report(WorkerEvent::Dropped {
                run: job.run.clone(),
                target,
            });
            return ack(con);
        }
        let t = Instant::now();
        match self.prove_with_heartbeat(con, &job) {
            Ok(result) => {
                let mut store = redis::cmd("EVAL");
                store
                    .arg(STORE_SCRIPT)
                    .arg(if result.leaf.is_some() { 6 } else { 5 })
                    .arg(keys.run("closed", &job.run))
                    .arg(&result_key)
                    .arg(&stored_counts)
                    .arg(keys.run("workers", &job.run))
                    .arg(keys.run("results", &job.run));
                if let JobKind::Shard(s) = &job.kind
                    && result.leaf.is_some()
                {
                    store.arg(keys.node(&job.run, NodeAt::leaf(s.shard)));
                }
                let value = result_value(t.elapsed().as_millis(), result.leaf.as_ref());
                store
                    .arg(result.bytes)
                    .arg(KEY_TTL_SECS)
                    .arg(&counts_field)
                    .arg(&self.consumer)
                    .arg(target.to_string())
                    .arg(value);
                if let Some(leaf) = result.leaf {
                    store.arg(leaf.bytes);
                }
                let stored: i64 = store.query(con)?;
                report(WorkerEvent::Proven {
                    run: job.run.clone(),
                    target,
                    stored: stored == 1,
                    time: t.elapsed(),
                });
            }
            // The run ended while this job was proven (its plan may be gone): nothing to report.
            Err(_) if self.closed(con, &job.run)? => {
                report(WorkerEvent::Dropped {
                    run: job.run.clone(),
                    target,
                });
                return ack(con);
            }
            Err(e) => {
                let error = format!("{target} of run {}: {e}", job.run);
                let _: Option<String> = redis::cmd("SET")
                    .arg(keys.run("error", &job.run))
                    .arg(&error)
                    .arg("NX")
                    .arg("EX")
                    .arg(KEY_TTL_SECS)
                    .query(con)?;
                report(WorkerEvent::Failed {
                    run: job.run.clone(),
                    target,
                    error,
                });
            }
        }
        let _: i64 = redis::cmd("RPUSH")
            .arg(keys.run("notify", &job.run))
            .arg(target.to_string())
            .query(con)?;
        let _: i64 = redis::cmd("EXPIRE")
            .arg(keys.run("notify", &job.run))
            .arg(KEY_TTL_SECS)
            .query(con)?;
        ack(con)
    }

    fn closed(&self, con: &mut redis::Connection, run: &str) -> Result<bool, RedisJobError> {
        Ok(redis::cmd("EXISTS")
            .arg(self.keys.run("closed", run))
            .query(con)?)
    }

    /// [`Self::prove`], with the job's heartbeat running beside it on a connection of its own
    /// (a heartbeat that cannot reach Redis is skipped: the job may then be taken over, which
    /// costs a second proof, never a wrong one).
    fn prove_with_heartbeat(
        &self,
        con: &mut redis::Connection,
        job: &Job,
    ) -> Result<JobResult, RedisJobError> {
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut beat = None;
                while !done.load(Ordering::SeqCst) {
                    sleep_unless_stopped(self.heartbeat(), &done);
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    if beat.is_none() {
                        beat = self.client.get_connection().ok();
                    }
                    let Some(c) = beat.as_mut() else { continue };
                    let alive: redis::RedisResult<i64> = redis::cmd("EVAL")
                        .arg(HEARTBEAT_SCRIPT)
                        .arg(1)
                        .arg(self.keys.stream())
                        .arg(self.keys.group())
                        .arg(&job.id)
                        .arg(&self.consumer)
                        .query(c);
                    match alive {
                        // Another worker has it now: no more heartbeats.
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(_) => beat = None,
                    }
                }
            });
            let result = match &job.kind {
                JobKind::Shard(shard) => self.prove_shard(con, job, shard),
                JobKind::Node(node) => self.prove_node(con, job, node),
            };
            done.store(true, Ordering::SeqCst);
            result
        })
    }

    /// Re-executes the job's block from its stored witness and proves its shard (and its
    /// leaf): the postcard bytes of the shard proof.
    fn prove_shard(
        &self,
        con: &mut redis::Connection,
        job: &Job,
        shard: &ShardJob,
    ) -> Result<JobResult, RedisJobError> {
        let keys = &self.keys;
        let (json, plan): (Option<String>, Option<Vec<u8>>) = redis::pipe()
            .cmd("GET")
            .arg(keys.input(shard.block))
            .cmd("GET")
            .arg(keys.run("plan", &job.run))
            .query(con)?;
        let json = json.ok_or_else(|| malformed(format!("block {}", shard.block), "no witness"))?;
        let plan = plan.ok_or_else(|| malformed(format!("run {}", job.run), "no plan"))?;
        let plan: ShardPlan = postcard::from_bytes(&plan)
            .map_err(|e| malformed(format!("run {}'s plan", job.run), e))?;
        if plan.shard_count() != shard.shards {
            return Err(malformed(
                format!("job {}", job.id),
                format!(
                    "{} shards, the plan has {}",
                    shard.shards,
                    plan.shard_count()
                ),
            ));
        }
        let input = BlockInput::from_json_str(&json)
            .map_err(|e| malformed(format!("block {}'s witness", shard.block), e))?;
        let hash = input.header.hash_slow();
        if hash != shard.block {
            return Err(malformed(
                format!("block {}'s witness", shard.block),
                format!("it holds block {hash}"),
            ));
        }
        let proven = (self.setup)(shard.settings.builder())
            .build()
            .prove_shard_subset(&input, &[shard.shard], &CancelToken::new())?;
        plan.check_same(&proven.plan)?;
        let (_, proof) = proven
            .shards
            .into_iter()
            .next()
            .ok_or_else(|| malformed(format!("job {}", job.id), "no proof came back"))?;
        let leaf = if shard.leaf {
            Some(self.tree.leaf(shard.shard, &proof)?)
        } else {
            None
        };
        Ok(JobResult {
            bytes: postcard::to_allocvec(&proof).map_err(|e| malformed("shard proof", e))?,
            leaf,
        })
    }

    /// The internal node over its two stored children: the node's bytes.
    fn prove_node(
        &self,
        con: &mut redis::Connection,
        job: &Job,
        node: &NodeJob,
    ) -> Result<JobResult, RedisJobError> {
        let keys = &self.keys;
        let (left, right): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::pipe()
            .cmd("GET")
            .arg(keys.node(&job.run, node.left))
            .cmd("GET")
            .arg(keys.node(&job.run, node.right))
            .query(con)?;
        let gone = |at: NodeAt| {
            malformed(
                format!("run {}", job.run),
                format!("no node {}:{}", at.layer, at.index),
            )
        };
        let left = left.ok_or_else(|| gone(node.left))?;
        let right = right.ok_or_else(|| gone(node.right))?;
        Ok(JobResult {
            bytes: self.tree.internal(&left, &right)?,
            leaf: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf() -> ProvenLeaf {
        ProvenLeaf {
            bytes: Vec::new(),
            key: core::array::from_fn(|i| Val::from_u32(i as u32 * 7 + 1)),
            time: Duration::from_millis(42),
            degree_bits: vec![16, 14, 8, 4],
        }
    }

    /// A leaf's result value reads back with its key and degree bits; a value written before
    /// the degree bits were stored reads back without them (the coordinator then fails with a
    /// typed error), and damaged values are typed errors, never a panic.
    #[test]
    fn result_values_read_back_and_old_ones_lack_degree_bits() {
        let l = leaf();
        let value = result_value(9, Some(&l));
        let (ms, stored) = parse_result_value("shard 0", &value).unwrap();
        assert_eq!(ms, 9);
        let stored = stored.unwrap();
        assert_eq!((stored.ms, stored.key), (42, l.key));
        assert_eq!(stored.degree_bits, Some(l.degree_bits.clone()));
        assert_eq!(parse_result_value("node", "5").unwrap(), (5, None));

        let old: String = value
            .split(' ')
            .take(2 + KEY_LEN)
            .collect::<Vec<_>>()
            .join(" ");
        let (_, stored) = parse_result_value("shard 0", &old).unwrap();
        assert_eq!(stored.unwrap().degree_bits, None);

        let cut = &value[..value.rfind(' ').unwrap()];
        let huge = format!("{old} 1 64");
        for bad in [cut, &huge, "1 x", ""] {
            assert!(
                matches!(
                    parse_result_value("shard 0", bad),
                    Err(RedisJobError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }
}
