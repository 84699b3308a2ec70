//! GeneralStateTests (ethereum/tests) through slotproof's traced EVM: every test transaction runs
//! with the [`TraceRecorder`] on, so the conformance suite also exercises trace recording.

use crate::trace::TraceRecorder;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::Encodable;
use alloy_trie::{HashBuilder, Nibbles, TrieAccount, root::storage_root_unhashed};
use revm::context::CfgEnv;
use revm::database::{State, states::PlainAccount};
use revm::inspector::InspectCommitEvm;
use revm::primitives::hardfork::SpecId;
use revm::{Context, MainBuilder, MainContext};
use revm_statetest_types::{SpecName, TestSuite};
use std::path::{Path, PathBuf};

/// Files that are malformed (ValueOverflow) or very slow; each counts as one skipped test.
const SKIPPED_FILES: &[&str] = &[
    "ValueOverflow.json",
    "ValueOverflowParis.json",
    "Call50000_sha256.json",
    "static_Call50000_sha256.json",
    "loopMul.json",
    "CALLBlake2f_MaxRounds.json",
];

/// Outcome of running state tests.
#[derive(Debug, Default, Clone)]
pub struct StateTestSummary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// `file::test[spec, index]: reason` of each failure.
    pub failures: Vec<String>,
}

impl StateTestSummary {
    pub fn merge(&mut self, other: StateTestSummary) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.failures.extend(other.failures);
    }
}

/// All `.json` files under the given files or directories, sorted.
pub fn collect_test_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(&e.path(), out);
                }
            }
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p.to_path_buf());
        }
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out);
    }
    out.sort();
    out
}

fn state_root(state: &State<revm::database::EmptyDB>) -> B256 {
    let mut leaves: Vec<(B256, Vec<u8>)> = state
        .cache
        .trie_account()
        .into_iter()
        .map(|(address, acc): (Address, &PlainAccount)| {
            let storage_root = storage_root_unhashed(
                acc.storage
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(k, v)| (B256::from(*k), *v)),
            );
            let leaf = TrieAccount {
                nonce: acc.info.nonce,
                balance: acc.info.balance,
                storage_root,
                code_hash: acc.info.code_hash,
            };
            let mut rlp = Vec::new();
            leaf.encode(&mut rlp);
            (keccak256(address), rlp)
        })
        .collect();
    leaves.sort_by_key(|(k, _)| *k);
    let mut hb = HashBuilder::default();
    for (k, v) in leaves {
        hb.add_leaf(Nibbles::unpack(k), &v);
    }
    hb.root()
}

fn logs_hash(logs: &[alloy_primitives::Log]) -> B256 {
    let mut out = Vec::new();
    alloy_rlp::encode_list(logs, &mut out);
    keccak256(out)
}

/// Runs every test case of one state-test file.
pub fn run_statetest_file(path: &Path) -> StateTestSummary {
    let mut summary = StateTestSummary::default();
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if SKIPPED_FILES.contains(&file) {
        summary.skipped += 1;
        return summary;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            summary.failed += 1;
            summary
                .failures
                .push(format!("{}: cannot read: {e}", path.display()));
            return summary;
        }
    };
    let suite: TestSuite = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            summary.failed += 1;
            summary
                .failures
                .push(format!("{}: malformed test JSON: {e}", path.display()));
            return summary;
        }
    };
    for (name, unit) in &suite.0 {
        let cache = unit.state();
        let mut cfg = CfgEnv::default();
        cfg.chain_id = unit
            .env
            .current_chain_id
            .unwrap_or(U256::ONE)
            .try_into()
            .unwrap_or(1);
        for (spec_name, tests) in &unit.post {
            if matches!(spec_name, SpecName::Constantinople | SpecName::Unknown) {
                summary.skipped += tests.len();
                continue;
            }
            cfg.set_spec_and_mainnet_gas_params(spec_name.to_spec_id());
            cfg.set_max_blobs_per_tx(
                if cfg.spec().is_enabled_in(SpecId::PRAGUE)
                    && !cfg.spec().is_enabled_in(SpecId::OSAKA)
                {
                    9
                } else {
                    6
                },
            );
            let block = unit.block_env(&mut cfg);
            for (index, test) in tests.iter().enumerate() {
                let id = format!("{file}::{name}[{spec_name:?}, {index}]");
                let tx = match test.tx_env(unit) {
                    Ok(tx) => tx,
                    Err(_) if test.expect_exception.is_some() => {
                        summary.passed += 1;
                        continue;
                    }
                    Err(e) => {
                        summary.failed += 1;
                        summary
                            .failures
                            .push(format!("{id}: cannot build transaction: {e}"));
                        continue;
                    }
                };
                let mut state = State::builder()
                    .with_cached_prestate(cache.clone())
                    .with_bundle_update()
                    .build();
                let mut evm = Context::mainnet()
                    .with_block(&block)
                    .with_tx(&tx)
                    .with_cfg(cfg.clone())
                    .with_db(&mut state)
                    .build_mainnet_with_inspector(TraceRecorder::new(true));
                let result = evm.inspect_tx_commit(&tx);
                drop(evm);
                let verdict = match (&test.expect_exception, &result) {
                    (Some(_), Err(_)) => Ok(()),
                    (None, Err(e)) => Err(format!("unexpected exception: {e}")),
                    (Some(x), Ok(_)) => Err(format!("expected exception {x}, execution succeeded")),
                    (None, Ok(r)) => {
                        let logs = logs_hash(r.logs());
                        let root = state_root(&state);
                        if logs != test.logs {
                            Err(format!("logs hash {logs} != expected {}", test.logs))
                        } else if root != test.hash {
                            Err(format!("state root {root} != expected {}", test.hash))
                        } else {
                            Ok(())
                        }
                    }
                };
                match verdict {
                    Ok(()) => summary.passed += 1,
                    Err(reason) => {
                        summary.failed += 1;
                        summary.failures.push(format!("{id}: {reason}"));
                    }
                }
            }
        }
    }
    summary
}
