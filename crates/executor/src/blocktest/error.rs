//! Typed errors of blockchain tests: each names the test and, where one is at fault, the block.

use crate::error::ExecError;
use alloy_primitives::{Address, B256};
use std::fmt;
use thiserror::Error;

/// A block of a test: `blocks[i]` (0-based, as in the file) with its number once decoded, or
/// the genesis block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub index: Option<usize>,
    pub number: Option<u64>,
}

impl BlockRef {
    pub fn genesis() -> Self {
        Self {
            index: None,
            number: Some(0),
        }
    }

    pub fn at(index: usize, number: Option<u64>) -> Self {
        Self {
            index: Some(index),
            number,
        }
    }
}

impl fmt::Display for BlockRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, self.number) {
            (None, _) => write!(f, "genesis block"),
            (Some(i), Some(n)) => write!(f, "block blocks[{i}] (number {n})"),
            (Some(i), None) => write!(f, "block blocks[{i}]"),
        }
    }
}

#[derive(Debug, Error)]
pub enum BlockTestError {
    #[error("cannot read blockchain test file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed blockchain test file {path}: {reason}")]
    MalformedFile { path: String, reason: String },
    #[error("test {test}: malformed `{field}`: {reason}")]
    Malformed {
        test: String,
        field: String,
        reason: String,
    },
    #[error("test {test}: network `{network}` is not supported: {reason}")]
    UnsupportedNetwork {
        test: String,
        network: String,
        reason: String,
    },
    #[error("test {test}: genesis {check}: fixture states {expected}, computed {computed}")]
    Genesis {
        test: String,
        check: &'static str,
        expected: B256,
        computed: B256,
    },
    #[error("test {test}: {block}: RLP does not decode: {reason}")]
    BlockRlp {
        test: String,
        block: BlockRef,
        reason: String,
    },
    #[error("test {test}: {block}: header is invalid: {reason}")]
    InvalidHeader {
        test: String,
        block: BlockRef,
        reason: String,
    },
    #[error(
        "test {test}: {block}: check `{check}` failed: header has {expected}, execution gives {computed}"
    )]
    CheckFailed {
        test: String,
        block: BlockRef,
        check: &'static str,
        expected: String,
        computed: String,
    },
    #[error("test {test}: {block}: {source}")]
    Execution {
        test: String,
        block: BlockRef,
        #[source]
        source: Box<ExecError>,
    },
    #[error("test {test}: {block} is invalid ({expected}) but was accepted")]
    InvalidBlockAccepted {
        test: String,
        block: BlockRef,
        expected: String,
    },
    #[error(
        "test {test}: {block}: rejected as a {got} error ({reason}), but the fixture expects {expected}"
    )]
    WrongRejection {
        test: String,
        block: BlockRef,
        expected: String,
        got: &'static str,
        reason: String,
    },
    #[error("test {test}: {block}: post-state root {computed} != postStateHash {expected}")]
    PostStateHash {
        test: String,
        block: BlockRef,
        expected: B256,
        computed: B256,
    },
    #[error("test {test}: {block}: post-state account {address}: {reason}")]
    PostState {
        test: String,
        block: BlockRef,
        address: Address,
        reason: String,
    },
    #[error("test {test}: {block}: head block hash {computed} != lastblockhash {expected}")]
    LastBlockHash {
        test: String,
        block: BlockRef,
        expected: B256,
        computed: B256,
    },
    #[error(
        "test {test}: {block}: account {address} has code hash {code_hash}, but no such code was deployed"
    )]
    MissingCode {
        test: String,
        block: BlockRef,
        address: Address,
        code_hash: B256,
    },
    #[error("test {test}: {block}: statelessInputBytes: {reason}")]
    StatelessInput {
        test: String,
        block: BlockRef,
        reason: String,
    },
    #[error("test {test}: {reason}")]
    Selection { test: String, reason: String },
    #[error("{path}: {reason}")]
    TestNotFound { path: String, reason: String },
}

impl BlockTestError {
    /// Whether the test cannot be run here (not a failure of the executor or of the fixture).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, BlockTestError::UnsupportedNetwork { .. })
            || matches!(
                self,
                BlockTestError::Execution { source, .. }
                    if matches!(**source, ExecError::UnsupportedFork { .. })
            )
    }
}
