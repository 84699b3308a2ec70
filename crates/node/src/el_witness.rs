//! Blocks and witnesses from an execution client over JSON-RPC (plain HTTP):
//!
//! - `eth_getBlockByHash(hash, true)` (`eth_getBlockByNumber` to resolve a number): the header,
//!   the transactions and the withdrawals;
//! - `debug_executionWitnessByBlockHash(hash)` (reth), falling back to
//!   `debug_executionWitness(number)` (geth): the pre-state trie nodes, the bytecodes and the
//!   ancestor headers (RLP, or JSON objects);
//! - `debug_chainConfig()`: the fork schedule, asked once and kept.
//!
//! The answers are put together as a ZK-PIG prover input (the format those RPC answers were
//! made into in the first place) and parsed by the executor's fixture reader, so a block from an
//! execution client and the same block from a fixture file are the same [`BlockInput`]. Each
//! call has a timeout; an execution client that does not answer, or answers without the
//! block, fails that one request with a `witness_error` and the node keeps serving.

use std::sync::OnceLock;
use std::time::Duration;

use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes};
use alloy_rlp::Decodable;
use serde_json::{Value, json};
use slotproof::executor::BlockInput;

use crate::witness::{BlockId, WitnessError, WitnessSource};

pub struct ElWitness {
    endpoint: String,
    agent: ureq::Agent,
    chain_config: OnceLock<Value>,
}

fn rpc_error(method: &str, reason: impl ToString) -> WitnessError {
    WitnessError::Rpc {
        method: method.into(),
        reason: reason.to_string(),
    }
}

impl ElWitness {
    /// An execution client at `endpoint` (`http://host:port`), each call bounded by `timeout`.
    pub fn new(endpoint: impl Into<String>, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            endpoint: endpoint.into(),
            agent,
            chain_config: OnceLock::new(),
        }
    }

    /// One JSON-RPC call; its `result` (`null` included).
    fn call(&self, method: &str, params: Value) -> Result<Value, WitnessError> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let mut response = self
            .agent
            .post(&self.endpoint)
            .send_json(&body)
            .map_err(|e| rpc_error(method, format!("{} unreachable: {e}", self.endpoint)))?;
        let status = response.status();
        let answer: Value = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_json()
            .map_err(|e| rpc_error(method, format!("HTTP {status}, not a JSON answer: {e}")))?;
        if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
            return Err(rpc_error(method, error));
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| rpc_error(method, format!("HTTP {status}, no result in {answer}")))
    }

    fn block(&self, id: BlockId, full: bool) -> Result<Value, WitnessError> {
        let (method, params) = match id {
            BlockId::Hash(h) => ("eth_getBlockByHash", json!([h, full])),
            BlockId::Number(n) => ("eth_getBlockByNumber", json!([format!("{n:#x}"), full])),
        };
        match self.call(method, params)? {
            Value::Null => Err(WitnessError::Unknown(id)),
            block => Ok(block),
        }
    }

    fn witness(&self, hash: B256, number: &Value) -> Result<Value, WitnessError> {
        match self.call("debug_executionWitnessByBlockHash", json!([hash])) {
            Ok(Value::Null) => Err(WitnessError::Unknown(BlockId::Hash(hash))),
            Ok(w) => Ok(w),
            // geth names the block by number only.
            Err(by_hash) => match self.call("debug_executionWitness", json!([number])) {
                Ok(Value::Null) => Err(WitnessError::Unknown(BlockId::Hash(hash))),
                Ok(w) => Ok(w),
                Err(by_number) => Err(rpc_error(
                    "debug_executionWitness",
                    format!("by hash: {by_hash}; by number: {by_number}"),
                )),
            },
        }
    }

    fn chain_config(&self) -> Result<Value, WitnessError> {
        if let Some(c) = self.chain_config.get() {
            return Ok(c.clone());
        }
        let config = self.call("debug_chainConfig", json!([]))?;
        Ok(self.chain_config.get_or_init(|| config).clone())
    }
}

/// The witness's ancestor headers as JSON objects (RLP strings are decoded).
fn ancestor_headers(witness: &Value) -> Result<Vec<Value>, WitnessError> {
    let Some(headers) = witness.get("headers") else {
        return Ok(Vec::new());
    };
    let headers = headers
        .as_array()
        .ok_or_else(|| rpc_error("debug_executionWitness", "`headers` is not a list"))?;
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| match h {
            Value::String(_) => {
                let bytes: Bytes = serde_json::from_value(h.clone()).map_err(|e| {
                    rpc_error("debug_executionWitness", format!("headers[{i}]: {e}"))
                })?;
                let header = Header::decode(&mut bytes.as_ref()).map_err(|e| {
                    rpc_error("debug_executionWitness", format!("headers[{i}] RLP: {e}"))
                })?;
                serde_json::to_value(&header).map_err(|e| rpc_error("debug_executionWitness", e))
            }
            object => Ok(object.clone()),
        })
        .collect()
}

impl WitnessSource for ElWitness {
    fn resolve(&self, id: BlockId) -> Result<B256, WitnessError> {
        let block = self.block(id, false)?;
        serde_json::from_value(block.get("hash").cloned().unwrap_or(Value::Null))
            .map_err(|e| rpc_error("eth_getBlockByHash", format!("block hash: {e}")))
    }

    fn block_input(&self, block_hash: B256) -> Result<BlockInput, WitnessError> {
        let input = self.witness_json(block_hash)?;
        let input = BlockInput::from_json_str(&input).map_err(|e| WitnessError::Read {
            block: block_hash,
            path: self.endpoint.clone().into(),
            reason: e.to_string(),
        })?;
        let hash = input.header.hash_slow();
        if hash != block_hash {
            return Err(rpc_error(
                "eth_getBlockByHash",
                format!("asked for block {block_hash}, its header hashes to {hash}"),
            ));
        }
        Ok(input)
    }

    fn witness_json(&self, block_hash: B256) -> Result<String, WitnessError> {
        let block = self.block(BlockId::Hash(block_hash), true)?;
        let number = block.get("number").cloned().unwrap_or(Value::Null);
        let witness = self.witness(block_hash, &number)?;
        let field = |name: &str| witness.get(name).cloned().unwrap_or_else(|| json!([]));
        let input = json!({
            "blocks": [{
                "header": block,
                "transaction": block.get("transactions").cloned().unwrap_or_else(|| json!([])),
                "uncles": [],
                "withdrawals": block.get("withdrawals").cloned().unwrap_or(Value::Null),
            }],
            "witness": {
                "state": field("state"),
                "codes": field("codes"),
                "ancestors": ancestor_headers(&witness)?,
            },
            "chainConfig": self.chain_config()?,
        });
        Ok(input.to_string())
    }

    fn describe(&self) -> String {
        format!("execution client {}", self.endpoint)
    }
}
