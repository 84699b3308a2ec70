//! zk-boost's JSON-RPC methods (JSON-RPC 2.0 on `POST /`):
//!
//! - `zk_getExecutionProof(blockHashOrNumber[, proofType])`: the block's proof (0x hex), waiting
//!   for it up to the node's deadline;
//! - `eth_verifyProof(proof, blockHash)`: `{"status": "VALID" | "INVALID"}`.
//!
//! Errors use the JSON-RPC codes (-32700 parse error, -32600 invalid request, -32601 unknown
//! method, -32602 invalid params) and these: -32001 unknown block, -32002 timeout, -32003
//! proving failed, -32004 queue full, -32005 shutting down.

use std::time::Duration;

use alloy_primitives::B256;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use crate::node::{NodeError, Outcome, PROOF_TYPE, ProofNode, Verdict};
use crate::witness::BlockId;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const UNKNOWN_BLOCK: i64 = -32001;
pub const TIMEOUT: i64 = -32002;
pub const PROVING_FAILED: i64 = -32003;
pub const QUEUE_FULL: i64 = -32004;
pub const SHUTTING_DOWN: i64 = -32005;

struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

fn rpc_error(code: i64, message: impl Into<String>) -> RpcError {
    RpcError {
        code,
        message: message.into(),
        data: None,
    }
}

impl From<NodeError> for RpcError {
    fn from(e: NodeError) -> Self {
        let code = match &e {
            NodeError::QueueFull(_) => QUEUE_FULL,
            NodeError::ShuttingDown => SHUTTING_DOWN,
            NodeError::Store(_) | NodeError::Redis(_) | NodeError::LocalWorker(_) => PROVING_FAILED,
            _ => INVALID_PARAMS,
        };
        rpc_error(code, e.to_string())
    }
}

/// One JSON-RPC call (batches are refused with -32600).
pub async fn handle(State(node): State<ProofNode>, body: Bytes) -> Json<Value> {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Json(response(
                Value::Null,
                Err(rpc_error(PARSE_ERROR, e.to_string())),
            ));
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let result = call(&node, &request).await;
    Json(response(id, result))
}

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(e) => {
            let mut error = json!({ "code": e.code, "message": e.message });
            if let Some(data) = e.data {
                error["data"] = data;
            }
            json!({ "jsonrpc": "2.0", "id": id, "error": error })
        }
    }
}

async fn call(node: &ProofNode, request: &Value) -> Result<Value, RpcError> {
    let Some(obj) = request.as_object() else {
        return Err(rpc_error(
            INVALID_REQUEST,
            "a request is one JSON object (batches are not supported)",
        ));
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(rpc_error(INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\""));
    }
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| rpc_error(INVALID_REQUEST, "\"method\" must be a string"))?;
    let params = match obj.get("params") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(rpc_error(INVALID_PARAMS, "params must be an array")),
    };
    match method {
        "zk_getExecutionProof" => get_execution_proof(node, &params).await,
        "eth_verifyProof" => verify_proof(node, &params).await,
        _ => Err(rpc_error(
            METHOD_NOT_FOUND,
            format!("no method {method:?} (zk_getExecutionProof, eth_verifyProof)"),
        )),
    }
}

/// A block hash (0x + 64 hex digits) or number (a hex quantity or a JSON integer).
fn parse_block_id(v: &Value) -> Result<BlockId, RpcError> {
    let bad = || rpc_error(INVALID_PARAMS, format!("{v} is not a block hash or number"));
    match v {
        Value::Number(n) => n.as_u64().map(BlockId::Number).ok_or_else(bad),
        Value::String(s) => {
            let hex = s.strip_prefix("0x").ok_or_else(bad)?;
            if hex.len() == 64 {
                hex.parse::<B256>().map(BlockId::Hash).map_err(|_| bad())
            } else if !hex.is_empty() && hex.len() <= 16 {
                u64::from_str_radix(hex, 16)
                    .map(BlockId::Number)
                    .map_err(|_| bad())
            } else {
                Err(bad())
            }
        }
        _ => Err(bad()),
    }
}

fn parse_hex_bytes(what: &str, v: &Value) -> Result<Vec<u8>, RpcError> {
    let s = v
        .as_str()
        .ok_or_else(|| rpc_error(INVALID_PARAMS, format!("{what} must be a 0x hex string")))?;
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| rpc_error(INVALID_PARAMS, format!("{what} must start with 0x")))?;
    alloy_primitives::hex::decode(hex)
        .map_err(|e| rpc_error(INVALID_PARAMS, format!("{what} is not hex: {e}")))
}

async fn get_execution_proof(node: &ProofNode, params: &[Value]) -> Result<Value, RpcError> {
    let id = parse_block_id(params.first().unwrap_or(&Value::Null))?;
    if let Some(t) = params.get(1).filter(|t| !t.is_null())
        && t.as_str() != Some(PROOF_TYPE)
    {
        return Err(rpc_error(
            INVALID_PARAMS,
            format!("unknown proof type {t} (this node serves {PROOF_TYPE:?})"),
        ));
    }
    // A source may ask an execution client: off the async workers.
    let source = node.source_handle();
    let resolved = tokio::task::spawn_blocking(move || source.resolve(id))
        .await
        .map_err(|e| rpc_error(PROVING_FAILED, format!("resolving the block: {e}")))?;
    let block_hash = resolved.map_err(|e| match e {
        crate::witness::WitnessError::Unknown(_) => rpc_error(UNKNOWN_BLOCK, e.to_string()),
        e => rpc_error(INVALID_PARAMS, e.to_string()),
    })?;
    node.metrics().requests.inc();
    let mut rx = node.submit(block_hash, None)?;
    // The job's own deadline ends it; the slack covers the lane's report.
    let wait = node.config().deadline + Duration::from_secs(1);
    let outcome = match tokio::time::timeout(wait, rx.wait_for(|o| o.is_some())).await {
        Ok(Ok(o)) => o.clone(),
        Ok(Err(_)) => None,
        Err(_) => None,
    };
    match outcome {
        Some(Outcome::Proof(bytes)) => Ok(json!({
            "blockHash": block_hash.to_string(),
            "proofType": PROOF_TYPE,
            "proof": format!("0x{}", alloy_primitives::hex::encode(&*bytes)),
        })),
        Some(Outcome::Failed { reason, error }) => Err(RpcError {
            code: if reason == crate::node::FailureReason::ProvingTimeout {
                TIMEOUT
            } else {
                PROVING_FAILED
            },
            message: error,
            data: Some(json!({ "reason": reason })),
        }),
        None => Err(rpc_error(
            TIMEOUT,
            format!("no proof of block {block_hash} within the deadline"),
        )),
    }
}

async fn verify_proof(node: &ProofNode, params: &[Value]) -> Result<Value, RpcError> {
    if params.len() != 2 {
        return Err(rpc_error(
            INVALID_PARAMS,
            "eth_verifyProof takes (proof, blockHash)",
        ));
    }
    let proof = parse_hex_bytes("proof", &params[0])?;
    let block_hash = match parse_block_id(&params[1])? {
        BlockId::Hash(h) => h,
        BlockId::Number(_) => {
            return Err(rpc_error(
                INVALID_PARAMS,
                "blockHash must be a 32-byte hash",
            ));
        }
    };
    Ok(match node.verify_for_block(block_hash, proof).await? {
        Verdict::Valid => json!({ "status": "VALID" }),
        Verdict::Invalid(reason) => json!({ "status": "INVALID", "reason": reason }),
    })
}
