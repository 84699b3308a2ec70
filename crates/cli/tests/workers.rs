//! Distributed proving on loopback: a real `redis-server`, `slotproof worker` processes, and
//! a proof node (or a bare coordinator) proving `transfers.json` cut into several 64-step shards
//! over two subblocks. The block proof must be the single-process proof's bytes. Each test
//! starts its own `redis-server` on a free port (no persistence, a temporary directory) and is
//! skipped, saying so, where the binary is absent (`.ci/run` installs it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use alloy_primitives::B256;
use slotproof::executor::BlockInput;
use slotproof::{BlockProver, CancelToken, verify_block_proof};
use slotproof_node::redis_jobs::{Coordinator, JobSettings};
use slotproof_node::{FixtureDir, NodeConfig, Outcome, ProofNode};

const SETTINGS: JobSettings = JobSettings {
    max_shard_rows: 64,
    subblock_gas: 100_000,
};

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/transfers.json")
}

/// The single-process proof's bytes (v2), made once.
fn single_process_proof() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let input = BlockInput::from_path(fixture_path()).unwrap();
        BlockProver::builder()
            .max_shard_rows(SETTINGS.max_shard_rows)
            .subblock_gas(SETTINGS.subblock_gas)
            .build()
            .prove(&input)
            .unwrap()
            .proof
            .to_bytes()
            .unwrap()
    })
}

fn temp_dir(label: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("slotproof-workers-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A child process killed (SIGKILL) and reaped when dropped, so no test leaves one behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `redis-server` of this test's own; `None` (the test is skipped) without the binary.
struct Redis {
    _server: Killed,
    url: String,
    dir: PathBuf,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_redis(label: &str) -> Option<Redis> {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("SKIPPED: no redis-server on PATH (install it: apt-get install redis-server)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = temp_dir(label);
    let server = Killed(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts"),
    );
    let addr = format!("127.0.0.1:{port}");
    let t = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "redis-server on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Redis {
        _server: server,
        url: format!("redis://{addr}/"),
        dir,
    })
}

/// A `slotproof worker` process and the lines it prints, as they come.
struct WorkerProcess {
    child: Killed,
    lines: mpsc::Receiver<String>,
}

fn start_worker(url: &str, name: &str, reclaim_after_secs: f64) -> WorkerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slotproof"))
        .args(["worker", "--redis", url, "--name", name])
        .args(["--reclaim-after-secs", &reclaim_after_secs.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("[worker] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    WorkerProcess {
        child: Killed(child),
        lines,
    }
}

/// Node, Redis, two workers: the node serves the workers' proof as it would a local one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_two_workers_serves_the_single_process_proof() {
    let Some(redis) = start_redis("e2e") else {
        return;
    };
    let fixtures = temp_dir("e2e-fixtures");
    std::fs::copy(fixture_path(), fixtures.join("transfers.json")).unwrap();
    let block_hash: B256 = BlockInput::from_path(fixture_path())
        .unwrap()
        .header
        .hash_slow();
    let store = temp_dir("e2e-store");
    let config = NodeConfig {
        deadline: Duration::from_secs(300),
        store_dir: store.clone(),
        aggregate: false,
        max_shard_rows: SETTINGS.max_shard_rows,
        subblock_gas: SETTINGS.subblock_gas,
        redis: Some(redis.url.clone()),
        ..NodeConfig::default()
    };
    let node = ProofNode::start(config, Arc::new(FixtureDir::open(&fixtures).unwrap())).unwrap();
    let workers = [
        start_worker(&redis.url, "w1", 60.0),
        start_worker(&redis.url, "w2", 60.0),
    ];
    let t = Instant::now();
    let mut done = node.submit(block_hash, None).unwrap();
    let outcome = done
        .wait_for(Option::is_some)
        .await
        .unwrap()
        .clone()
        .unwrap();
    let elapsed = t.elapsed();
    let bytes = match outcome {
        Outcome::Proof(bytes) => bytes,
        Outcome::Failed { reason, error } => panic!("{reason:?}: {error}"),
    };
    eprintln!("node + 2 workers: {:.2} s", elapsed.as_secs_f64());
    assert_eq!(bytes.as_slice(), single_process_proof());
    let block = verify_block_proof(&bytes).unwrap();
    assert_eq!(B256::from(block.block_hash), block_hash);
    // Every job was acknowledged; both workers took part (each prints a line per job).
    let coordinator = Coordinator::new(&redis.url, SETTINGS).unwrap();
    assert_eq!(coordinator.pending_jobs().unwrap(), 0);
    for w in &workers {
        let lines: Vec<String> = w.lines.try_iter().collect();
        assert!(
            lines.iter().any(|l| l.starts_with("proven run")),
            "a worker proved nothing: {lines:?}"
        );
    }
    node.shutdown(Duration::ZERO).await;
    drop(workers);
    let _ = std::fs::remove_dir_all(fixtures);
    let _ = std::fs::remove_dir_all(store);
}

/// A worker killed (SIGKILL) in the middle of a shard: its job is reclaimed and proven by the
/// other after the visibility timeout; the block proof is the same bytes, each shard's result
/// stored exactly once.
#[test]
fn a_job_whose_worker_was_killed_is_reclaimed_and_the_proof_is_the_same() {
    let Some(redis) = start_redis("fault") else {
        return;
    };
    let input = BlockInput::from_path(fixture_path()).unwrap();
    let json = std::fs::read_to_string(fixture_path()).unwrap();
    let block_hash = input.header.hash_slow();
    let coordinator = Coordinator::new(&redis.url, SETTINGS).unwrap();
    let expected = single_process_proof();
    std::thread::scope(|s| {
        let proving = s.spawn(|| coordinator.prove(block_hash, &input, &json, &CancelToken::new()));
        // The victim takes the first job, and dies while proving it.
        let mut victim = start_worker(&redis.url, "victim", 1.0);
        let claimed = victim
            .lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the victim claims a job");
        assert!(claimed.starts_with("claimed run"), "{claimed}");
        let victim_shard: usize = claimed
            .split_whitespace()
            .nth(4)
            .and_then(|k| k.parse().ok())
            .unwrap();
        victim.child.0.kill().unwrap();
        victim.child.0.wait().unwrap();
        assert!(
            victim.lines.try_iter().all(|l| !l.starts_with("proven")),
            "killed before its proof was stored"
        );
        let survivor = start_worker(&redis.url, "survivor", 1.0);
        let remote = proving.join().unwrap().expect("the block proof completes");
        let bytes = remote.proof.to_bytes().unwrap();
        assert_eq!(bytes.as_slice(), expected);
        verify_block_proof(&bytes).unwrap();

        let n = remote.proof.shards.len();
        assert!(n >= 3, "{n} shards");
        let stats = coordinator.run_stats(&remote.run).unwrap();
        assert_eq!(
            stats.stored,
            (0..n).map(|k| (k, 1)).collect(),
            "one stored result per shard"
        );
        assert!(
            stats.claims[&victim_shard] >= 2,
            "the killed job was delivered again: {stats:?}"
        );
        let lines: Vec<String> = survivor.lines.try_iter().collect();
        assert!(
            lines.iter().any(|l| *l
                == format!(
                    "claimed run {} shard {victim_shard} (reclaimed)",
                    remote.run
                )),
            "the survivor reclaimed the victim's job: {lines:?}"
        );
        assert_eq!(
            coordinator.pending_jobs().unwrap(),
            0,
            "no job left pending"
        );
        assert_eq!(coordinator.queued_jobs().unwrap(), 0, "every job done");
    });
}

/// A worker stopped (SIGSTOP) mid-shard is overtaken: its job is reclaimed and the block proof
/// completes without it. Resumed after the run ended, it finishes its proof, which is not
/// stored: each shard keeps exactly one result.
#[test]
fn a_stalled_worker_is_overtaken_and_its_late_proof_is_not_stored() {
    let Some(redis) = start_redis("stall") else {
        return;
    };
    let input = BlockInput::from_path(fixture_path()).unwrap();
    let json = std::fs::read_to_string(fixture_path()).unwrap();
    let block_hash = input.header.hash_slow();
    let coordinator = Coordinator::new(&redis.url, SETTINGS).unwrap();
    let signal = |sig: &str, pid: u32| {
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    };
    std::thread::scope(|s| {
        let proving = s.spawn(|| coordinator.prove(block_hash, &input, &json, &CancelToken::new()));
        let stalled = start_worker(&redis.url, "stalled", 1.0);
        let claimed = stalled
            .lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the worker claims a job");
        assert!(claimed.starts_with("claimed run"), "{claimed}");
        // Past reading the job's witness and plan (milliseconds), inside the proof (seconds).
        std::thread::sleep(Duration::from_millis(500));
        let pid = stalled.child.0.id();
        signal("-STOP", pid);
        let survivor = start_worker(&redis.url, "survivor", 1.0);
        let remote = proving.join().unwrap().expect("the block proof completes");
        assert_eq!(remote.proof.to_bytes().unwrap(), single_process_proof());
        drop(survivor);
        signal("-CONT", pid);
        let late = stalled
            .lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the resumed worker finishes its shard");
        assert!(
            late.starts_with("proven run") && late.ends_with("the run is over)"),
            "{late}"
        );
        let n = remote.proof.shards.len();
        let stats = coordinator.run_stats(&remote.run).unwrap();
        assert_eq!(
            stats.stored,
            (0..n).map(|k| (k, 1)).collect(),
            "one stored result per shard"
        );
    });
}

/// A run the coordinator gives up on (the node's deadline cancels it) is closed: a worker that
/// comes later drops its jobs unproven, and none is left pending.
#[test]
fn a_cancelled_run_is_dropped_by_workers() {
    let Some(redis) = start_redis("cancel") else {
        return;
    };
    let input = BlockInput::from_path(fixture_path()).unwrap();
    let json = std::fs::read_to_string(fixture_path()).unwrap();
    let coordinator = Coordinator::new(&redis.url, SETTINGS).unwrap();
    let cancel = CancelToken::new();
    std::thread::scope(|s| {
        let proving =
            s.spawn(|| coordinator.prove(input.header.hash_slow(), &input, &json, &cancel));
        // No worker: the jobs wait until the coordinator is cancelled.
        let t = Instant::now();
        while coordinator.queued_jobs().unwrap() == 0 {
            assert!(t.elapsed() < Duration::from_secs(120), "jobs are published");
            std::thread::sleep(Duration::from_millis(50));
        }
        let jobs = coordinator.queued_jobs().unwrap();
        cancel.cancel();
        assert!(matches!(
            proving.join().unwrap(),
            Err(slotproof_node::redis_jobs::RedisJobError::Cancelled)
        ));
        let worker = start_worker(&redis.url, "late", 60.0);
        // Each job: a "claimed" line, then a "dropped" one.
        let lines: Vec<String> = (0..2 * jobs)
            .map(|_| worker.lines.recv_timeout(Duration::from_secs(60)).unwrap())
            .collect();
        let dropped = lines
            .iter()
            .filter(|l| l.starts_with("dropped run"))
            .count();
        assert_eq!(dropped, jobs, "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("claimed run") || l.starts_with("dropped run")),
            "{lines:?}"
        );
        let t = Instant::now();
        while coordinator.pending_jobs().unwrap() > 0 || coordinator.queued_jobs().unwrap() > 0 {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the dropped jobs are acknowledged"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}
