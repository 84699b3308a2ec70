//! Typed errors of the executor. Every variant names the field, address, slot or value that failed.

use alloy_primitives::{Address, B256, U256};
use thiserror::Error;

/// Everything that can go wrong between reading a fixture and a checked block execution.
#[derive(Debug, Error)]
pub enum ExecError {
    #[error("cannot read fixture {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed fixture JSON ({format}): {source}")]
    Json {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("malformed fixture: `{field}`: {reason}")]
    Malformed { field: String, reason: String },
    #[error("unsupported fork for block {number} (timestamp {timestamp}): {reason}")]
    UnsupportedFork {
        number: u64,
        timestamp: u64,
        reason: String,
    },
    #[error(transparent)]
    Witness(#[from] WitnessError),
    #[error("transaction {index} ({hash}): cannot recover signer: {reason}")]
    Signature {
        index: usize,
        hash: B256,
        reason: String,
    },
    #[error("block execution failed: {0}")]
    Execution(String),
    /// The block holds a transaction that is invalid where it stands (nonce, balance, gas
    /// allowance, fork rules): a consensus rejection of the block, not an executor failure.
    #[error("transaction {index} is invalid: {reason}")]
    InvalidTransaction { index: usize, reason: String },
    #[error("header check `{check}` failed: header has {expected}, execution gives {computed}")]
    HeaderMismatch {
        check: &'static str,
        expected: String,
        computed: String,
    },
    #[error("invalid options: {0}")]
    Options(String),
    #[error("fixture generator: {0}")]
    Generator(String),
}

/// A pre-state witness that does not answer, or does not match, what execution needs.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum WitnessError {
    #[error(
        "witness cannot answer the read of account {address}: trie node {node} under state root {root} is missing"
    )]
    MissingAccountNode {
        address: Address,
        node: B256,
        root: B256,
    },
    #[error(
        "witness cannot answer the read of storage slot {slot} of account {address}: trie node {node} under storage root {storage_root} is missing"
    )]
    MissingStorageNode {
        address: Address,
        slot: U256,
        node: B256,
        storage_root: B256,
    },
    #[error("witness trie node for {what} is malformed: {reason}")]
    MalformedNode { what: String, reason: String },
    #[error("witness has no code for hash {code_hash}")]
    MissingCode { code_hash: B256 },
    #[error("witness has no ancestor header for BLOCKHASH({number})")]
    MissingBlockHash { number: u64 },
    #[error(
        "ancestor headers do not chain: header {number} has hash {actual}, but its child names parent {expected}"
    )]
    BrokenAncestorChain {
        number: u64,
        expected: B256,
        actual: B256,
    },
    #[error("witness has no ancestor headers; the parent header is required")]
    NoParentHeader,
    #[error("post-state root cannot be computed from the witness: trie node {node} is missing")]
    MissingNodeForPostState { node: B256 },
    #[error("witness trie error: {0}")]
    Trie(String),
}

impl revm::database::DBErrorMarker for WitnessError {}
