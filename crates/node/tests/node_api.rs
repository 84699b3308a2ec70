//! The proof node on loopback: a real node, real proofs of the repository's generated blocks,
//! requested over the EIP-8025 HTTP API and JSON-RPC.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::B256;
use futures_util::StreamExt;
use serde_json::{Value, json};
use slotproof::executor::BlockInput;
use slotproof_node::{FixtureDir, NewPayloadRequest, NodeConfig, PROOF_TYPE, ProofNode};

fn repo_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("slotproof-node-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fixture directory with copies of the named repository fixtures and one file that is not
/// a fixture (which the node must skip).
fn fixture_dir(name: &str, fixtures: &[&str]) -> PathBuf {
    let dir = temp_dir(&format!("{name}-fixtures"));
    for f in fixtures {
        std::fs::copy(repo_fixture(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("notes.json"), "{\"not\": \"a block\"}").unwrap();
    dir
}

struct TestNode {
    node: ProofNode,
    base: String,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(fixtures: &Path, config: NodeConfig) -> TestNode {
    let source = FixtureDir::open(fixtures).unwrap();
    assert_eq!(source.skipped().len(), 1, "notes.json is skipped");
    let node = ProofNode::start(config, Arc::new(source)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(slotproof_node::serve(listener, node.clone()));
    TestNode { node, base, server }
}

impl TestNode {
    async fn stop(self) {
        self.node.shutdown(Duration::ZERO).await;
        self.server.await.unwrap().unwrap();
    }
}

fn config(store: &Path) -> NodeConfig {
    NodeConfig {
        store_dir: store.to_path_buf(),
        // Debug test builds prove slowly; the deadline test sets its own.
        deadline: Duration::from_secs(1800),
        ..NodeConfig::default()
    }
}

fn request_of(fixture: &str) -> NewPayloadRequest {
    NewPayloadRequest::from_block(&BlockInput::from_path(repo_fixture(fixture)).unwrap()).unwrap()
}

async fn post_request(
    client: &reqwest::Client,
    base: &str,
    request: &NewPayloadRequest,
) -> (u16, Value) {
    let r = client
        .post(format!(
            "{base}/v1/execution_proof_requests?proof_types={PROOF_TYPE}"
        ))
        .body(request.to_ssz_bytes())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Reads server-sent events until one named `name` arrives; its data.
async fn next_event(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    buffer: &mut String,
    name: &str,
) -> Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let field = |key: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(key).map(str::trim).map(String::from))
            };
            if field("event:").as_deref() == Some(name) {
                return serde_json::from_str(&field("data:").unwrap()).unwrap();
            }
        }
        let chunk = stream
            .next()
            .await
            .expect("the event stream ended")
            .unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn rpc(client: &reqwest::Client, base: &str, body: Value) -> Value {
    client
        .post(format!("{base}/"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_requested_proven_served_verified_and_kept_across_a_restart() {
    let fixtures = fixture_dir("e2e", &["transfers.json"]);
    let store = temp_dir("e2e-store");
    let node = start(&fixtures, config(&store)).await;
    let client = reqwest::Client::new();
    let request = request_of("transfers.json");
    let root = request.root();
    let block_hash = request.payload().block_hash;

    // Subscribe first, filtered on the request.
    let events = client
        .get(format!(
            "{}/v1/execution_proof_requests?new_payload_request_root={root}",
            node.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut events = events.bytes_stream();
    let mut buffer = String::new();

    let (status, body) = post_request(&client, &node.base, &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["new_payload_request_root"], root.to_string());
    // The same request again joins the same job.
    let (status, _) = post_request(&client, &node.base, &request).await;
    assert_eq!(status, 200);
    assert!(node.node.jobs_in_flight() <= 1);

    let done = next_event(&mut events, &mut buffer, "proof_complete").await;
    assert_eq!(done["new_payload_request_root"], root.to_string());
    assert_eq!(done["proof_type"], PROOF_TYPE);

    let proof_url = format!("{}/v1/execution_proofs/{root}/{PROOF_TYPE}", node.base);
    let proof = client.get(&proof_url).send().await.unwrap();
    assert_eq!(proof.status(), 200);
    let proof = proof.bytes().await.unwrap().to_vec();
    let claims = slotproof::verify_block_proof(&proof).expect("the served proof verifies");
    assert_eq!(claims.block_hash, block_hash.0);
    assert_eq!(
        slotproof::aggregated::proof_version(&proof).unwrap(),
        slotproof::aggregated::AGGREGATED_PROOF_VERSION,
        "one aggregated proof"
    );

    let verify = |root: B256, bytes: Vec<u8>| {
        let client = client.clone();
        let url = format!(
            "{}/v1/execution_proof_verifications?new_payload_request_root={root}&proof_type={PROOF_TYPE}",
            node.base
        );
        async move {
            let r = client.post(url).body(bytes).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = verify(root, proof.clone()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("VALID")),
        "{body}"
    );
    let mut tampered = proof.clone();
    let at = tampered.len() - 100;
    tampered[at] ^= 1;
    let (status, body) = verify(root, tampered).await;
    assert!(
        body["status"] == "INVALID" || status == 400,
        "a tampered proof is rejected: {status} {body}"
    );

    // A request for a block the witness source lacks fails with a reason; the node keeps
    // serving, and the first block's proof is not valid for it.
    let mut unknown = request.clone();
    if let NewPayloadRequest::Electra(r) = &mut unknown {
        r.execution_payload.block_hash = B256::repeat_byte(0x11);
    } else if let NewPayloadRequest::Deneb(r) = &mut unknown {
        r.execution_payload.block_hash = B256::repeat_byte(0x11);
    }
    let mut all_events = client
        .get(format!("{}/v1/execution_proof_requests", node.base))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let (status, _) = post_request(&client, &node.base, &unknown).await;
    assert_eq!(status, 200);
    let failure = next_event(&mut all_events, &mut String::new(), "proof_failure").await;
    assert_eq!(
        failure["new_payload_request_root"],
        unknown.root().to_string()
    );
    assert_eq!(failure["reason"], "witness_error");
    let (status, body) = verify(unknown.root(), proof.clone()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("INVALID")),
        "{body}"
    );

    // JSON-RPC: by number (one block of number 1 here), served from the store.
    let got = rpc(
        &client,
        &node.base,
        json!({"jsonrpc": "2.0", "id": 7, "method": "zk_getExecutionProof", "params": ["0x1"]}),
    )
    .await;
    assert_eq!(got["id"], 7);
    assert_eq!(got["result"]["blockHash"], block_hash.to_string());
    let hex = got["result"]["proof"].as_str().unwrap();
    assert_eq!(hex, format!("0x{}", alloy_primitives::hex::encode(&proof)));
    let valid = rpc(
        &client,
        &node.base,
        json!({"jsonrpc": "2.0", "id": 8, "method": "eth_verifyProof", "params": [hex, block_hash.to_string()]}),
    )
    .await;
    assert_eq!(valid["result"]["status"], "VALID", "{valid}");
    let other = rpc(
        &client,
        &node.base,
        json!({"jsonrpc": "2.0", "id": 9, "method": "eth_verifyProof", "params": [hex, B256::repeat_byte(2).to_string()]}),
    )
    .await;
    assert_eq!(other["result"]["status"], "INVALID", "{other}");

    let metrics = client
        .get(format!("{}/metrics", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("slotproof_node_proofs_total{outcome=\"complete\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("slotproof_node_proofs_total{outcome=\"witness_error\"} 1"));
    node.stop().await;

    // A restarted node over the same store serves the proof and replays its completion.
    let node = start(&fixtures, config(&store)).await;
    let proof_url = format!("{}/v1/execution_proofs/{root}/{PROOF_TYPE}", node.base);
    let again = client.get(&proof_url).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.bytes().await.unwrap().to_vec(), proof);
    let mut replay = client
        .get(format!(
            "{}/v1/execution_proof_requests?new_payload_request_root={root}",
            node.base
        ))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let done = next_event(&mut replay, &mut String::new(), "proof_complete").await;
    assert_eq!(done["new_payload_request_root"], root.to_string());
    node.stop().await;
    let _ = std::fs::remove_dir_all(&fixtures);
    let _ = std::fs::remove_dir_all(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_a_json_error_with_its_status() {
    let fixtures = fixture_dir("bad", &["transfers.json"]);
    let store = temp_dir("bad-store");
    let node = start(
        &fixtures,
        NodeConfig {
            max_body_bytes: 64 << 10,
            ..config(&store)
        },
    )
    .await;
    let client = reqwest::Client::new();
    let base = &node.base;
    // A request for a block the source lacks: accepted, failed at once (no proving), and a
    // root the verification endpoint knows.
    let mut unknown = request_of("transfers.json");
    if let NewPayloadRequest::Electra(r) = &mut unknown {
        r.execution_payload.block_hash = B256::repeat_byte(0x22);
    } else if let NewPayloadRequest::Deneb(r) = &mut unknown {
        r.execution_payload.block_hash = B256::repeat_byte(0x22);
    }
    let (status, _) = post_request(&client, base, &unknown).await;
    assert_eq!(status, 200);
    let known_root = unknown.root();
    let zero_root = B256::ZERO;
    let requests = format!("{base}/v1/execution_proof_requests");
    let verifications = format!("{base}/v1/execution_proof_verifications");
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> =
        vec![
        (
            "garbage SSZ",
            client
                .post(format!("{requests}?proof_types={PROOF_TYPE}"))
                .body(vec![1u8; 100]),
            400,
        ),
        (
            "empty body",
            client.post(format!("{requests}?proof_types={PROOF_TYPE}")),
            400,
        ),
        (
            "unknown proof type",
            client
                .post(format!("{requests}?proof_types=reth-sp1"))
                .body(unknown.to_ssz_bytes()),
            400,
        ),
        (
            "no proof types",
            client.post(&requests).body(unknown.to_ssz_bytes()),
            400,
        ),
        (
            "body over the limit",
            client
                .post(format!("{requests}?proof_types={PROOF_TYPE}"))
                .body(vec![0u8; 128 << 10]),
            413,
        ),
        (
            "event filter not a root",
            client.get(format!("{requests}?new_payload_request_root=0x12")),
            400,
        ),
        (
            "proof root not hex",
            client.get(format!("{base}/v1/execution_proofs/0xzz/{PROOF_TYPE}")),
            400,
        ),
        (
            "proof of an unknown request",
            client.get(format!("{base}/v1/execution_proofs/{zero_root}/{PROOF_TYPE}")),
            404,
        ),
        (
            "proof of a failed request",
            client.get(format!("{base}/v1/execution_proofs/{known_root}/{PROOF_TYPE}")),
            404,
        ),
        (
            "proof of an unknown type",
            client.get(format!("{base}/v1/execution_proofs/{known_root}/reth-sp1")),
            404,
        ),
        (
            "verification without a query",
            client.post(&verifications).body(vec![1, 2, 3]),
            400,
        ),
        (
            "verification of an unknown request",
            client
                .post(format!(
                    "{verifications}?new_payload_request_root={zero_root}&proof_type={PROOF_TYPE}"
                ))
                .body(vec![1, 2, 3]),
            404,
        ),
        (
            "verification of garbage proof bytes",
            client
                .post(format!(
                    "{verifications}?new_payload_request_root={known_root}&proof_type={PROOF_TYPE}"
                ))
                .body(vec![0xff; 64]),
            400,
        ),
        (
            "verification of an unknown proof type",
            client
                .post(format!(
                    "{verifications}?new_payload_request_root={known_root}&proof_type=reth-sp1"
                ))
                .body(vec![1]),
            404,
        ),
        ("no such endpoint", client.get(format!("{base}/v2/nothing")), 404),
    ];
    for (what, request, expected) in cases {
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{what}: {body}");
        assert_eq!(body["code"], expected, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }

    let rpc_cases: Vec<(&str, Vec<u8>, i64)> = vec![
        ("not JSON", b"{nope".to_vec(), -32700),
        ("a batch", b"[]".to_vec(), -32600),
        ("no version", br#"{"id":1,"method":"eth_verifyProof","params":[]}"#.to_vec(), -32600),
        ("unknown method", br#"{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[]}"#.to_vec(), -32601),
        ("bad block id", br#"{"jsonrpc":"2.0","id":1,"method":"zk_getExecutionProof","params":["latest"]}"#.to_vec(), -32602),
        ("unknown proof type", br#"{"jsonrpc":"2.0","id":1,"method":"zk_getExecutionProof","params":["0x1","reth-sp1"]}"#.to_vec(), -32602),
        ("unknown block", format!(r#"{{"jsonrpc":"2.0","id":1,"method":"zk_getExecutionProof","params":["{}"]}}"#, B256::repeat_byte(3)).into_bytes(), -32001),
        ("proof not hex", br#"{"jsonrpc":"2.0","id":1,"method":"eth_verifyProof","params":["0xzz","0x00"]}"#.to_vec(), -32602),
        ("garbage proof", format!(r#"{{"jsonrpc":"2.0","id":1,"method":"eth_verifyProof","params":["0xffff","{}"]}}"#, B256::ZERO).into_bytes(), -32602),
    ];
    for (what, body, code) in rpc_cases {
        let r = client
            .post(format!("{base}/"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
    }
    node.stop().await;
    let _ = std::fs::remove_dir_all(&fixtures);
    let _ = std::fs::remove_dir_all(&store);
}

/// A request for a block the fixture directory lacks, told apart by `tag`.
fn unknown_block_request(tag: u8) -> NewPayloadRequest {
    let mut request = request_of("transfers.json");
    match &mut request {
        NewPayloadRequest::Electra(r) => r.execution_payload.block_hash = B256::repeat_byte(tag),
        NewPayloadRequest::Deneb(r) => r.execution_payload.block_hash = B256::repeat_byte(tag),
    }
    request
}

/// Load: one lane busy with a real proof, then 50 concurrent requests against a queue of 8.
/// Every request gets 200 or 429 at once; every accepted one ends with exactly one event (its
/// deadline, or the shutdown); nothing hangs and the queue never holds more than its size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_a_full_queue_refuses_deadlines_fail_and_shutdown_fails_queued_jobs() {
    let fixtures = fixture_dir("queue", &["keccak.json"]);
    let store = temp_dir("queue-store");
    let queue_size = 8;
    let node = start(
        &fixtures,
        NodeConfig {
            lanes: 1,
            queue_size,
            // Long enough for the lane to take the first job, far shorter than its proof.
            deadline: Duration::from_secs(2),
            ..config(&store)
        },
    )
    .await;
    let client = reqwest::Client::new();
    let mut events = client
        .get(format!("{}/v1/execution_proof_requests", node.base))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut buffer = String::new();
    let first = request_of("keccak.json");
    let (status, _) = post_request(&client, &node.base, &first).await;
    assert_eq!(status, 200);
    // The lane takes it (the queue is empty again) and is then busy with its proof.
    while node.node.metrics().queue_depth.get() != 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let sends = (0..50u8).map(|i| {
        let (client, base) = (client.clone(), node.base.clone());
        tokio::spawn(async move {
            let request = unknown_block_request(0x40 + i);
            let (status, body) = post_request(&client, &base, &request).await;
            (request.root(), status, body)
        })
    });
    let mut accepted = std::collections::HashSet::new();
    let mut refused = 0;
    for send in sends.collect::<Vec<_>>() {
        let (root, status, body) = tokio::time::timeout(Duration::from_secs(30), send)
            .await
            .expect("no request hangs")
            .unwrap();
        match status {
            200 => assert!(accepted.insert(root.to_string())),
            429 => {
                assert_eq!(body["code"], 429);
                refused += 1;
            }
            other => panic!("status {other}: {body}"),
        }
    }
    assert_eq!(
        accepted.len(),
        queue_size,
        "the queue fills, and no further"
    );
    assert_eq!(refused, 50 - queue_size);
    assert!(node.node.jobs_in_flight() <= queue_size + 1);

    let timeout = next_event(&mut events, &mut buffer, "proof_failure").await;
    assert_eq!(
        timeout["new_payload_request_root"],
        first.root().to_string()
    );
    assert_eq!(timeout["reason"], "proving_timeout", "{timeout}");
    // The queued jobs' deadlines pass behind the first proof (cancelled at its deadline once
    // its running shards finish); they fail then, or at the shutdown.
    node.node.shutdown(Duration::ZERO).await;
    let mut ended = std::collections::HashSet::new();
    while ended.len() < accepted.len() {
        let failure = next_event(&mut events, &mut buffer, "proof_failure").await;
        let root = failure["new_payload_request_root"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(accepted.contains(&root), "{failure}");
        assert!(ended.insert(root), "one event per request");
        assert!(
            ["shutting_down", "proving_timeout"].contains(&failure["reason"].as_str().unwrap()),
            "{failure}"
        );
    }
    // No new job once shutting down (the server stops listening; the engine refuses too).
    let refused = node.node.request_proofs(
        &request_of("keccak.json").to_ssz_bytes(),
        &[PROOF_TYPE.into()],
    );
    assert!(
        matches!(refused, Err(slotproof_node::NodeError::ShuttingDown)),
        "{refused:?}"
    );
    node.server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&fixtures);
    let _ = std::fs::remove_dir_all(&store);
}
