//! The execution-client witness source against a loopback execution client that answers
//! `eth_getBlockBy*`, `debug_executionWitness*` and `debug_chainConfig` from fixture data, in
//! those answers' shapes (a block object with its transactions, RLP ancestor headers as reth
//! sends them). Real mainnet blocks are used where `../shared/fixtures` exists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{B256, hex};
use alloy_rlp::Encodable;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use slotproof::executor::BlockInput;
use slotproof::executor::fixture::write_zkpig;
use slotproof_node::{BlockId, ElWitness, NodeConfig, ProofNode, WitnessError, WitnessSource};

/// What the loopback execution client knows.
#[derive(Default)]
struct Chain {
    /// Block hash → (block object with full transactions, execution witness).
    blocks: HashMap<B256, (Value, Value)>,
    numbers: HashMap<u64, B256>,
    chain_config: Value,
    /// Answer witness calls with an error (a client without the debug namespace).
    no_witness: bool,
}

impl Chain {
    /// Adds a ZK-PIG fixture's block, reshaped into the RPC answers.
    fn add(&mut self, fixture: &Path) {
        let raw: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
        let input = BlockInput::from_path(fixture).unwrap();
        let hash = input.header.hash_slow();
        let block = &raw["blocks"][0];
        let mut object = block["header"].as_object().unwrap().clone();
        object.insert("hash".into(), json!(hash));
        object.insert("transactions".into(), block["transaction"].clone());
        object.insert("withdrawals".into(), block["withdrawals"].clone());
        object.insert("uncles".into(), json!([]));
        // reth's ExecutionWitness: trie nodes, codes, keys, RLP headers.
        let headers: Vec<String> = input
            .ancestors
            .iter()
            .map(|h| {
                let mut rlp = Vec::new();
                h.encode(&mut rlp);
                format!("0x{}", hex::encode(rlp))
            })
            .collect();
        let witness = json!({
            "state": raw["witness"]["state"],
            "codes": raw["witness"]["codes"],
            "keys": [],
            "headers": headers,
        });
        self.chain_config = raw["chainConfig"].clone();
        self.numbers.insert(input.number(), hash);
        self.blocks.insert(hash, (Value::Object(object), witness));
    }
}

async fn answer(State(chain): State<Arc<Chain>>, Json(request): Json<Value>) -> Json<Value> {
    let params = request["params"].as_array().cloned().unwrap_or_default();
    let hash_param = |i: usize| params.get(i).and_then(|p| p.as_str()?.parse::<B256>().ok());
    let result = match request["method"].as_str().unwrap_or("") {
        "eth_getBlockByHash" => Ok(hash_param(0)
            .and_then(|h| chain.blocks.get(&h))
            .map_or(Value::Null, |(b, _)| b.clone())),
        "eth_getBlockByNumber" => {
            let number = params[0]
                .as_str()
                .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
            Ok(number
                .and_then(|n| chain.numbers.get(&n))
                .and_then(|h| chain.blocks.get(h))
                .map_or(Value::Null, |(b, _)| b.clone()))
        }
        "debug_executionWitnessByBlockHash" | "debug_executionWitness" if chain.no_witness => {
            Err(json!({"code": -32601, "message": "the method does not exist"}))
        }
        "debug_executionWitnessByBlockHash" => Ok(hash_param(0)
            .and_then(|h| chain.blocks.get(&h))
            .map_or(Value::Null, |(_, w)| w.clone())),
        "debug_chainConfig" => Ok(chain.chain_config.clone()),
        _ => Err(json!({"code": -32601, "message": "the method does not exist"})),
    };
    Json(match result {
        Ok(r) => json!({"jsonrpc": "2.0", "id": request["id"], "result": r}),
        Err(e) => json!({"jsonrpc": "2.0", "id": request["id"], "error": e}),
    })
}

async fn serve_chain(chain: Chain) -> String {
    let app = axum::Router::new()
        .route("/", axum::routing::post(answer))
        .with_state(Arc::new(chain));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn fixtures() -> Vec<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut v = vec![repo.join("transfers.json")];
    let mainnet = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/mainnet");
    for block in ["22615247.json", "21688509.json"] {
        if mainnet.join(block).exists() {
            v.push(mainnet.join(block));
        } else {
            eprintln!("skipping mainnet block {block}: ../shared/fixtures is absent");
        }
    }
    v
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_from_an_execution_client_is_the_fixture_block() {
    for fixture in fixtures() {
        eprintln!("{}", fixture.display());
        let mut chain = Chain::default();
        chain.add(&fixture);
        let url = serve_chain(chain).await;
        let el = Arc::new(ElWitness::new(url, Duration::from_secs(60)));
        let expected = BlockInput::from_path(&fixture).unwrap();
        let hash = expected.header.hash_slow();
        let number = expected.number();
        let (resolved, by_number, input) = {
            let el = el.clone();
            blocking(move || {
                (
                    el.resolve(BlockId::Hash(hash)),
                    el.resolve(BlockId::Number(number)),
                    el.block_input(hash),
                )
            })
            .await
        };
        assert_eq!(resolved.unwrap(), hash);
        assert_eq!(by_number.unwrap(), hash);
        let input = input.unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
        // Same header, transactions, withdrawals, witness, ancestors and chain config.
        assert_eq!(
            write_zkpig(&input, None).unwrap(),
            write_zkpig(&expected, None).unwrap(),
            "{}",
            fixture.display()
        );
        let unknown = blocking(move || el.block_input(B256::repeat_byte(7))).await;
        assert!(
            matches!(unknown, Err(WitnessError::Unknown(_))),
            "{unknown:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_client_that_cannot_answer_fails_the_request_and_the_node_keeps_serving() {
    let transfers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/transfers.json");
    let mut chain = Chain {
        no_witness: true,
        ..Chain::default()
    };
    chain.add(&transfers);
    let url = serve_chain(chain).await;
    let hash = BlockInput::from_path(&transfers)
        .unwrap()
        .header
        .hash_slow();
    let el = ElWitness::new(url, Duration::from_secs(60));
    let no_witness = blocking(move || el.block_input(hash)).await;
    match no_witness {
        Err(WitnessError::Rpc { method, reason }) => {
            assert_eq!(method, "debug_executionWitness");
            assert!(reason.contains("does not exist"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Nothing listens on a port just released.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let el = ElWitness::new(dead, Duration::from_secs(5));
    let unreachable = blocking(move || el.block_input(hash)).await;
    assert!(
        matches!(&unreachable, Err(WitnessError::Rpc { reason, .. }) if reason.contains("unreachable")),
        "{unreachable:?}"
    );

    // Through the node: the request fails with a reason, and the node still answers.
    let mut chain = Chain {
        no_witness: true,
        ..Chain::default()
    };
    chain.add(&transfers);
    let el = Arc::new(ElWitness::new(
        serve_chain(chain).await,
        Duration::from_secs(60),
    ));
    let store = std::env::temp_dir().join(format!("slotproof-node-el-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let node = ProofNode::start(
        NodeConfig {
            store_dir: store.clone(),
            ..NodeConfig::default()
        },
        el,
    )
    .unwrap();
    let mut done = node.submit(hash, None).unwrap();
    let outcome = done.wait_for(|o| o.is_some()).await.unwrap().clone();
    match outcome {
        Some(slotproof_node::Outcome::Failed { reason, error }) => {
            assert_eq!(reason, slotproof_node::FailureReason::WitnessError);
            assert!(error.contains("debug_executionWitness"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        node.submit(hash, None).is_ok(),
        "the node keeps taking jobs"
    );
    node.shutdown(Duration::ZERO).await;
    let _ = std::fs::remove_dir_all(&store);
}
