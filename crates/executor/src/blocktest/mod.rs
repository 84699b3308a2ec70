//! EEST (execution-spec-tests) blockchain tests, the format the EF's zkEVM benchmark suite and
//! zkevm-benchmark-workload use.
//!
//! A test's `pre` is the complete genesis state, so every block runs through the executor's
//! witness path: the state is turned into its full MPT (every read proven against the parent's
//! state root) and each block's post-state root is recomputed and checked against its header.
//! The fork comes from the test's `network`, the chain id from its `config`.

mod consensus;
pub mod error;
pub mod exception;
pub mod fixture;
pub mod network;
mod runner;
pub mod ssz;
pub mod state;
pub mod stateless;

pub use error::{BlockRef, BlockTestError};
pub use exception::RejectionKind;
pub use fixture::{
    BlockchainTest, ExpectedPost, ParsedTests, TestBlock, decode_block, is_blockchain_test_json,
    parse_file, read_file,
};
pub use runner::{BlockTestReport, ChainBlock, block_input, run_chain};

use crate::block::ExecuteOptions;
use std::path::Path;

/// Outcome of running blockchain tests.
#[derive(Debug, Default, Clone)]
pub struct BlockTestSummary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Blocks marked invalid that were reached, and of those, the ones rejected as expected.
    pub invalid_blocks: usize,
    pub invalid_rejected_as_expected: usize,
    /// Valid blocks whose stateless inputs were executed too, and passed.
    pub stateless_inputs: usize,
    /// `file::test: reason` of each failure.
    pub failures: Vec<String>,
    /// `file::test: reason` of each skipped test.
    pub skips: Vec<String>,
}

impl BlockTestSummary {
    pub fn merge(&mut self, other: BlockTestSummary) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.invalid_blocks += other.invalid_blocks;
        self.invalid_rejected_as_expected += other.invalid_rejected_as_expected;
        self.stateless_inputs += other.stateless_inputs;
        self.failures.extend(other.failures);
        self.skips.extend(other.skips);
    }
}

/// Runs every test of one blockchain-test file (without trace recording).
pub fn run_blocktest_file(path: &Path) -> BlockTestSummary {
    let mut summary = BlockTestSummary::default();
    let file = path.display();
    let tests = match read_file(path) {
        Ok(t) => t,
        Err(e) => {
            summary.failed += 1;
            summary.failures.push(e.to_string());
            return summary;
        }
    };
    let opts = ExecuteOptions {
        record_trace: false,
        ..ExecuteOptions::default()
    };
    for (name, test) in tests {
        let report = match test {
            Ok(test) => run_chain(&test, &opts, |_| {}),
            Err(e) => BlockTestReport {
                name: name.clone(),
                result: Err(e),
                valid_blocks: 0,
                invalid_blocks: 0,
                invalid_rejected_as_expected: 0,
                gas_used: 0,
                stateless_inputs: 0,
            },
        };
        summary.invalid_blocks += report.invalid_blocks;
        summary.invalid_rejected_as_expected += report.invalid_rejected_as_expected;
        summary.stateless_inputs += report.stateless_inputs;
        match report.result {
            Ok(()) => summary.passed += 1,
            Err(e) if e.is_unsupported() => {
                summary.skipped += 1;
                summary.skips.push(format!("{file}::{name}: {e}"));
            }
            Err(e) => {
                summary.failed += 1;
                summary.failures.push(format!("{file}::{name}: {e}"));
            }
        }
    }
    summary
}
