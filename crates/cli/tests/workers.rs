//! Distributed proving on loopback: a real `redis-server`, `slotproof worker` processes, and
//! a proof node (or a bare coordinator) proving `transfers.json` cut into several 64-step shards
//! over two subblocks. The block proof must be the single-process proof's bytes. Each test
//! starts its own `redis-server` on a free port (no persistence, a temporary directory) and is
//! skipped, saying so, where the binary is absent (`.ci/run` installs it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use alloy_primitives::B256;
use slotproof::executor::BlockInput;
use slotproof::{BlockProver, CancelToken, verify_block_proof};
use slotproof_node::redis_jobs::{Coordinator, JobSettings};

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

/// The end-to-end test aggregates, so it cuts the block into fewer shards (2: two leaves, one
/// internal node, the root) to keep its time down.
const E2E_SETTINGS: JobSettings = JobSettings {
    max_shard_rows: 1024,
    subblock_gas: 100_000,
};

/// The single-process aggregated proof's bytes (v3) under `settings`.
fn single_process_aggregated_proof(settings: JobSettings) -> Vec<u8> {
    let input = BlockInput::from_path(fixture_path()).unwrap();
    let proved = BlockProver::builder()
        .max_shard_rows(settings.max_shard_rows)
        .subblock_gas(settings.subblock_gas)
        .aggregate(true)
        .build()
        .prove(&input)
        .unwrap();
    let aggregated = proved.aggregated.as_ref().expect("aggregated");
    slotproof::aggregated::AggregatedProof::new(&proved.proof, aggregated)
        .unwrap()
        .to_bytes()
        .unwrap()
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
    port: u16,
    dir: PathBuf,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_redis(label: &str) -> Option<Redis> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    start_redis_on(label, port)
}

fn start_redis_on(label: &str, port: u16) -> Option<Redis> {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("SKIPPED: no redis-server on PATH (install it: apt-get install redis-server)");
        return None;
    }
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
        port,
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

/// A body read whole (proofs of several MB; hex in JSON doubles them).
fn read_body(response: ureq::http::Response<ureq::Body>) -> Vec<u8> {
    response
        .into_body()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap()
}

fn post_json(base: &str, body: serde_json::Value) -> serde_json::Value {
    let response = ureq::post(&format!("{base}/")).send_json(body).unwrap();
    serde_json::from_slice(&read_body(response)).unwrap()
}

/// `slotproof node` with Redis, one worker of its own (`--local-workers 1`) and two
/// `slotproof worker` processes, aggregating: the workers prove the shards, their leaves and
/// the tree's internal nodes, the node the root. The block is asked for over JSON-RPC
/// (`zk_getExecutionProof`, which waits for it) and, while it is proven, over the EIP-8025 API
/// (joining the same job); the `proof_complete` event arrives, the proof downloads, is the
/// single-process aggregated proof's bytes, verifies through the API, over JSON-RPC and with
/// `slotproof verify`, and local and remote workers both took part.
#[test]
fn a_node_with_local_and_remote_workers_serves_over_http_and_json_rpc() {
    let Some(redis) = start_redis("e2e") else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_slotproof");
    let fixtures = temp_dir("e2e-fixtures");
    std::fs::copy(fixture_path(), fixtures.join("transfers.json")).unwrap();
    let input = BlockInput::from_path(fixture_path()).unwrap();
    let block_hash: B256 = input.header.hash_slow();
    let work = temp_dir("e2e-work");
    let request = work.join("request.ssz");
    let made = Command::new(bin)
        .args(["payload-request", fixture_path().to_str().unwrap(), "-o"])
        .arg(&request)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let root = String::from_utf8(made.stdout)
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();

    let mut node = Command::new(bin)
        .args(["node", "--listen", "127.0.0.1:0", "--fixtures"])
        .arg(&fixtures)
        .arg("--store-dir")
        .arg(work.join("store"))
        .args(["--redis", &redis.url, "--local-workers", "1"])
        .args(["--reclaim-after-secs", "2", "--deadline-secs", "600"])
        .args(["--max-rows", &E2E_SETTINGS.max_shard_rows.to_string()])
        .args(["--subblock-gas", &E2E_SETTINGS.subblock_gas.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = node.id();
    let (tx, node_lines) = mpsc::channel();
    let stderr = node.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[node] {line}");
            let _ = tx.send(line);
        }
    });
    let node = Killed(node);
    let base = loop {
        let line = node_lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the node reports its address");
        if let Some(rest) = line.strip_prefix("proof node on http://") {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
    };
    let workers = [
        start_worker(&redis.url, "remote-1", 2.0),
        start_worker(&redis.url, "remote-2", 2.0),
    ];

    // Subscribed first, so the event cannot be missed.
    let (event_tx, events) = mpsc::channel();
    let url = format!("{base}/v1/execution_proof_requests?new_payload_request_root={root}");
    std::thread::spawn(move || {
        let response = ureq::get(&url).call().unwrap();
        let reader = BufReader::new(response.into_body().into_reader());
        for line in reader.lines().map_while(Result::ok) {
            if line.starts_with("event:") && event_tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));

    let t = Instant::now();
    let by_rpc = {
        let base = base.clone();
        let number = format!("{:#x}", input.number());
        std::thread::spawn(move || {
            post_json(
                &base,
                serde_json::json!({"jsonrpc": "2.0", "id": 1,
                    "method": "zk_getExecutionProof", "params": [number]}),
            )
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let posted = ureq::post(&format!(
        "{base}/v1/execution_proof_requests?proof_types=slotproof-koalabear"
    ))
    .header("content-type", "application/octet-stream")
    .send(&std::fs::read(&request).unwrap()[..])
    .unwrap();
    let posted: serde_json::Value = serde_json::from_slice(&read_body(posted)).unwrap();
    assert_eq!(posted["new_payload_request_root"], root.as_str());
    let event = events
        .recv_timeout(Duration::from_secs(600))
        .expect("an event");
    assert_eq!(event, "event: proof_complete");
    eprintln!(
        "node + local worker + 2 remote workers: {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let bytes = read_body(
        ureq::get(&format!(
            "{base}/v1/execution_proofs/{root}/slotproof-koalabear"
        ))
        .call()
        .unwrap(),
    );
    assert_eq!(bytes, single_process_aggregated_proof(E2E_SETTINGS));
    let verdict = ureq::post(&format!(
        "{base}/v1/execution_proof_verifications?new_payload_request_root={root}&proof_type=slotproof-koalabear"
    ))
    .send(&bytes[..])
    .unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&read_body(verdict)).unwrap();
    assert_eq!(verdict["status"], "VALID");

    let by_rpc = by_rpc.join().unwrap();
    let hex = by_rpc["result"]["proof"]
        .as_str()
        .expect("a proof")
        .to_string();
    assert_eq!(hex, format!("0x{}", alloy_primitives::hex::encode(&bytes)));
    let valid = post_json(
        &base,
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "eth_verifyProof",
            "params": [hex, block_hash.to_string()]}),
    );
    assert_eq!(valid["result"]["status"], "VALID", "{valid}");

    let file = work.join("proof.bin");
    std::fs::write(&file, &bytes).unwrap();
    let verified = Command::new(bin).arg("verify").arg(&file).output().unwrap();
    assert!(verified.status.success(), "{verified:?}");

    // Both kinds of worker took part; every shard has one stored proof; nothing is pending.
    let lines: Vec<String> = workers
        .iter()
        .flat_map(|w| w.lines.try_iter().collect::<Vec<_>>())
        .chain(node_lines.try_iter())
        .collect();
    let run = lines
        .iter()
        .find_map(|l| {
            let rest = l.split("proven run ").nth(1)?;
            rest.split_whitespace().next().map(str::to_string)
        })
        .expect("a proven shard");
    let coordinator = Coordinator::new(&redis.url, SETTINGS).unwrap();
    let stats = coordinator.run_stats(&run).unwrap();
    verify_block_proof(&bytes).unwrap();
    let shards = slotproof::aggregated::AggregatedProof::from_bytes(&bytes)
        .unwrap()
        .shards
        .len();
    assert_eq!(stats.stored, (0..shards).map(|k| (k, 1)).collect());
    // Each internal node of the tree (shards - 1 of them) was a job, stored once.
    assert_eq!(stats.node_stored.len(), shards - 1, "{stats:?}");
    assert!(stats.node_stored.values().all(|&n| n == 1), "{stats:?}");
    assert!(stats.node_claims.values().all(|&n| n == 1), "{stats:?}");
    // Shards take longer than the 2 s visibility timeout here (seconds each in a test build):
    // only the workers' heartbeats keep them from being taken over and proven twice.
    assert_eq!(
        stats.claims,
        (0..shards).map(|k| (k, 1)).collect(),
        "no job was delivered twice"
    );
    assert!(
        stats.by_worker.keys().any(|w| w.contains("-local-"))
            && stats.by_worker.keys().any(|w| w.starts_with("remote-")),
        "local and remote workers proved shards: {stats:?}"
    );
    assert_eq!(
        stats.by_worker.values().sum::<u64>(),
        (shards + shards - 1) as u64
    );
    assert_eq!(coordinator.pending_jobs().unwrap(), 0);

    let stopped = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut node = node;
    let status = node.0.wait().unwrap();
    assert!(status.success(), "the node stops cleanly: {status}");
    drop(workers);
    let _ = std::fs::remove_dir_all(fixtures);
    let _ = std::fs::remove_dir_all(work);
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
        let proving =
            s.spawn(|| coordinator.prove(block_hash, &input, &json, false, &CancelToken::new()));
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
        let proving =
            s.spawn(|| coordinator.prove(block_hash, &input, &json, false, &CancelToken::new()));
        let stalled = start_worker(&redis.url, "stalled", 1.0);
        let claimed = stalled
            .lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the worker claims a job");
        assert!(claimed.starts_with("claimed run"), "{claimed}");
        // Stopped holding its claim, inside the proof: the claim's checks take about a
        // millisecond, the shard's proof ~0.4 s on a CI core (a wait of 500 ms let it finish).
        std::thread::sleep(Duration::from_millis(50));
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
        // Stopped inside its proof, it finishes it and is refused; stopped before its claim's
        // checks (a slow machine), it finds the shard proven and drops it. Either way nothing
        // of its is stored.
        assert!(
            (late.starts_with("proven run") && late.ends_with("the run is over)"))
                || late.starts_with("dropped run"),
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
            s.spawn(|| coordinator.prove(input.header.hash_slow(), &input, &json, false, &cancel));
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

/// Redis restarts under a running worker: the worker reports the lost connection, reconnects
/// and takes jobs again (it does not exit).
#[test]
fn a_worker_reconnects_when_redis_comes_back() {
    let Some(redis) = start_redis("restart") else {
        return;
    };
    let worker = start_worker(&redis.url, "steady", 60.0);
    // Connected: the consumer group exists once the worker has reached Redis.
    let coordinator = Coordinator::new(&redis.url, SETTINGS).unwrap();
    let t = Instant::now();
    while coordinator.pending_jobs().is_err() || t.elapsed() < Duration::from_millis(500) {
        assert!(t.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
    }
    let (port, url) = (redis.port, redis.url.clone());
    drop(redis);
    let wait_for = |prefix: &str| loop {
        let line = worker
            .lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the worker says `{prefix}...`"));
        if line.starts_with(prefix) {
            break line;
        }
    };
    wait_for("lost redis");
    let _redis = start_redis_on("restart-again", port).unwrap();
    wait_for("reconnected to redis");
    // A job published now is taken by the same worker process.
    let input = BlockInput::from_path(fixture_path()).unwrap();
    let json = std::fs::read_to_string(fixture_path()).unwrap();
    let coordinator = Coordinator::new(&url, SETTINGS).unwrap();
    let cancel = CancelToken::new();
    std::thread::scope(|s| {
        let proving =
            s.spawn(|| coordinator.prove(input.header.hash_slow(), &input, &json, false, &cancel));
        wait_for("claimed run");
        cancel.cancel();
        assert!(proving.join().unwrap().is_err());
    });
}

/// A worker that cannot work stops at once with a clear error, not a silent wait: an unknown
/// backend (checked before Redis is asked), and a Redis that does not answer at start.
#[test]
fn a_worker_that_cannot_work_says_why_and_exits() {
    let bin = env!("CARGO_BIN_EXE_slotproof");
    let nobody = "redis://127.0.0.1:1/";
    for (args, expected) in [
        (vec!["--backend", "tpu"], "unknown backend `tpu`"),
        (vec![], "worker"),
    ] {
        let out = Command::new(bin)
            .args(["worker", "--redis", nobody])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// A worker proving its shards with the CUDA backend (`--backend cuda`; without a GPU on the
/// stand-in driver, the unchanged CUDA backend) gives the CPU's shard proofs: the block proof is
/// the single-process bytes.
#[test]
fn a_cuda_worker_gives_the_cpu_bytes() {
    let standin = match slotproof::cuda::probe_driver() {
        Ok(info) => info.is_standin(),
        Err(slotproof::cuda::Error::DriverNotFound { .. }) => true,
        Err(e) => {
            eprintln!("SKIPPED a_cuda_worker_gives_the_cpu_bytes: {e}");
            return;
        }
    };
    let Some(redis) = start_redis("cuda") else {
        return;
    };
    let input = BlockInput::from_path(fixture_path()).unwrap();
    let json = std::fs::read_to_string(fixture_path()).unwrap();
    // Two shards (each padded to the smallest shape, as 64-row ones are): the stand-in's time.
    let coordinator = Coordinator::new(&redis.url, E2E_SETTINGS).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slotproof"));
    cmd.args([
        "worker",
        "--redis",
        &redis.url,
        "--name",
        "gpu",
        "--backend",
        "cuda",
    ])
    .stdout(Stdio::null());
    if standin && std::env::var_os("SLOTPROOF_CUDA_DRIVER").is_none() {
        cmd.env(
            "SLOTPROOF_CUDA_DRIVER",
            slotproof_cuda_standin::LIBRARY_PATH,
        );
    }
    let _worker = Killed(cmd.spawn().unwrap());
    let t = Instant::now();
    let remote = coordinator
        .prove(
            input.header.hash_slow(),
            &input,
            &json,
            false,
            &CancelToken::new(),
        )
        .expect("the CUDA worker proves every shard");
    eprintln!(
        "a CUDA worker{}: {:.2} s",
        if standin { " (stand-in)" } else { "" },
        t.elapsed().as_secs_f64()
    );
    let expected = BlockProver::builder()
        .max_shard_rows(E2E_SETTINGS.max_shard_rows)
        .subblock_gas(E2E_SETTINGS.subblock_gas)
        .build()
        .prove(&input)
        .unwrap()
        .proof
        .to_bytes()
        .unwrap();
    assert_eq!(remote.proof.to_bytes().unwrap(), expected);
    let stats = coordinator.run_stats(&remote.run).unwrap();
    assert_eq!(
        stats.by_worker.get("gpu"),
        Some(&(remote.proof.shards.len() as u64))
    );
}
