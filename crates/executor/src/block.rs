//! Executes a block over its pre-state: witness checks, revm execution of system calls,
//! transactions and withdrawals, the subblock split with per-subblock traces and boundaries, and
//! the checks of the result against the header.

use crate::block_context::{self, BlockContext};
use crate::boundary::{BoundaryDb, StateBoundary};
use crate::error::{ExecError, WitnessError};
use crate::evm::TracedEvm;
use crate::fixture::{BlockInput, ExpectedDiff, FixtureFormat};
use crate::post_state::post_state_root;
use crate::trace::{SegmentKind, SubblockOutline, SubblockTrace, TraceRecorder};
use crate::witness::{PreStateDb, check_ancestors};
use alloy_consensus::proofs::{
    calculate_receipt_root, calculate_transaction_root, calculate_withdrawals_root,
};
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, TxReceipt};
use alloy_evm::block::{BlockExecutor, BlockValidationError};
use alloy_evm::eth::receipt_builder::AlloyReceiptBuilder;
use alloy_evm::eth::{EthBlockExecutionCtx, EthBlockExecutor};
use alloy_evm::{Evm, EvmEnv};
use alloy_primitives::{B256, Bloom, U256};
use revm::database::{BundleState, State, states::bundle_state::BundleRetention};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default gas budget of a subblock.
pub const DEFAULT_SUBBLOCK_GAS: u64 = 4_000_000;

/// How to execute a block.
#[derive(Clone, Debug)]
pub struct ExecuteOptions {
    /// A subblock closes after the transaction that brings its gas to at least this budget.
    pub subblock_gas: u64,
    /// Record execution traces (off: plain execution, for measuring the recorder's cost).
    pub record_trace: bool,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            subblock_gas: DEFAULT_SUBBLOCK_GAS,
            record_trace: true,
        }
    }
}

/// One check of the execution result against the header (or the fixture's expectations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub expected: String,
    pub computed: String,
    pub passed: bool,
}

impl Check {
    fn new(
        name: &'static str,
        expected: impl std::fmt::Display,
        computed: impl std::fmt::Display,
    ) -> Self {
        let (expected, computed) = (expected.to_string(), computed.to_string());
        Self {
            name,
            passed: expected == computed,
            expected,
            computed,
        }
    }
}

/// A group of consecutive transactions, with its execution trace and state boundary. The first
/// subblock also holds the pre-block system calls; the last holds the post-block system calls and
/// withdrawals.
#[derive(Clone, Debug)]
pub struct Subblock {
    pub index: usize,
    pub transactions: Range<usize>,
    /// Gas used by its transactions.
    pub gas_used: u64,
    pub trace: SubblockTrace,
    pub boundary: StateBoundary,
    /// Its outline, from an untraced run ([`outline_block`]; `None` from [`execute_block`]).
    pub outline: Option<SubblockOutline>,
}

/// Wall time per phase.
#[derive(Clone, Debug, Default)]
pub struct PhaseTimes {
    /// Header/ancestor checks, signer recovery, witness indexing.
    pub prepare: Duration,
    /// EVM execution (with trace recording when enabled).
    pub execute: Duration,
    /// Receipts, bloom, requests, post-state root and diff checks.
    pub verify: Duration,
}

/// A checked block execution.
#[derive(Clone, Debug)]
pub struct BlockExecution {
    pub number: u64,
    pub block_hash: B256,
    pub fork: &'static str,
    pub format: FixtureFormat,
    pub parent_state_root: B256,
    pub state_root: B256,
    pub gas_used: u64,
    pub transactions: usize,
    pub subblocks: Vec<Subblock>,
    pub checks: Vec<Check>,
    /// One receipt per transaction, in order.
    pub receipts: Vec<alloy_consensus::ReceiptEnvelope>,
    /// Checks that this fixture format cannot support, with the reason.
    pub unavailable_checks: Vec<(&'static str, &'static str)>,
    pub times: PhaseTimes,
    /// Every account and slot the block changed (what a chain of blocks carries forward).
    pub state_changes: BundleState,
    /// What the block-context opcodes pushed (also in every subblock's trace).
    pub context: Arc<BlockContext>,
    /// The claims a verifier checks the context against: the header's RLP (it hashes to
    /// `block_hash`), the chain id and blob base-fee update fraction (chain configuration, not
    /// in the header), and the ancestor headers' RLP the BLOCKHASH reads need (parent first).
    pub header_rlp: Vec<u8>,
    pub chain_id: u64,
    pub blob_update_fraction: u64,
    pub ancestors_rlp: Vec<Vec<u8>>,
}

impl BlockExecution {
    /// This recorded run as [`outline_block`] would have given it: every subblock's outline read
    /// from its trace ([`SubblockOutline::of_trace`], which agrees with the untraced run's), the
    /// traces dropped. A recorded run found too long to hold is streamed from here.
    pub fn into_outlined(mut self) -> Self {
        for sb in &mut self.subblocks {
            if sb.outline.is_none() {
                sb.outline = Some(SubblockOutline::of_trace(&sb.trace));
                sb.trace = SubblockTrace {
                    block_context: sb.trace.block_context.clone(),
                    ..SubblockTrace::default()
                };
            }
        }
        self
    }

    /// Steps run (an untraced or streamed run's, whose traces are empty, from its outlines).
    pub fn steps(&self) -> usize {
        self.subblocks
            .iter()
            .map(|s| s.outline.as_ref().map_or(s.trace.steps.len(), |o| o.steps))
            .sum()
    }

    pub fn all_checks_pass(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The first failed check as a typed error.
    pub fn ensure_checks_pass(&self) -> Result<(), ExecError> {
        match self.checks.iter().find(|c| !c.passed) {
            None => Ok(()),
            Some(c) => Err(ExecError::HeaderMismatch {
                check: c.name,
                expected: c.expected.clone(),
                computed: c.computed.clone(),
            }),
        }
    }
}

/// Executes `input` and checks the result. Header mismatches are reported in
/// [`BlockExecution::checks`]; a witness that cannot answer a read, a bad signature or an invalid
/// transaction are errors.
pub fn execute_block(
    input: &BlockInput,
    opts: &ExecuteOptions,
) -> Result<BlockExecution, ExecError> {
    run_block(input, opts, TraceRecorder::new(opts.record_trace))
}

/// Executes `input` without recording a trace, gathering each subblock's [`SubblockOutline`]
/// instead (its steps, contexts' ends and call results: what shard generation needs to know of
/// a whole subblock before its trace is recorded), with the same checks, subblocks and
/// boundaries as [`execute_block`] with these options. Costs about what plain execution does.
pub fn outline_block(
    input: &BlockInput,
    opts: &ExecuteOptions,
) -> Result<BlockExecution, ExecError> {
    let opts = ExecuteOptions {
        record_trace: false,
        ..opts.clone()
    };
    run_block(input, &opts, TraceRecorder::outline())
}

/// Executes `input` recording its trace, and hands each subblock's trace to `sink` in chunks of
/// `chunk_steps` steps as they are recorded ([`TraceRecorder::streaming`]) instead of keeping
/// it: the subblocks' traces are empty. `outlines` are the subblocks' outlines from
/// [`outline_block`] with the same options (each subblock gets its own back). A run that does
/// not follow its outlines (they are of another block or options) is an error.
pub fn stream_block(
    input: &BlockInput,
    opts: &ExecuteOptions,
    outlines: Vec<SubblockOutline>,
    chunk_steps: usize,
    sink: crate::trace::ChunkSink,
) -> Result<BlockExecution, ExecError> {
    let opts = ExecuteOptions {
        record_trace: true,
        ..opts.clone()
    };
    let recorder = TraceRecorder::streaming(outlines, chunk_steps, sink);
    run_block(input, &opts, recorder)
}

/// Executes `input` with `recorder` (recording, outlining, or neither) and checks the result.
fn run_block(
    input: &BlockInput,
    opts: &ExecuteOptions,
    recorder: TraceRecorder,
) -> Result<BlockExecution, ExecError> {
    if opts.subblock_gas == 0 {
        return Err(ExecError::Options(
            "subblock gas budget must be positive".into(),
        ));
    }
    let t0 = Instant::now();
    let header = &input.header;
    let mut checks = Vec::new();
    let block_hash = header.hash_slow();
    if let Some(stated) = input.stated_hash {
        checks.push(Check::new("block_hash", stated, block_hash));
    }
    let block_hashes = check_ancestors(header, &input.ancestors)?;
    let parent = input.parent().ok_or(WitnessError::NoParentHeader)?;
    let parent_state_root = parent.state_root;
    checks.push(Check::new(
        "transactions_root",
        header.transactions_root,
        calculate_transaction_root(&input.transactions),
    ));
    if let Some(root) = header.withdrawals_root {
        checks.push(Check::new(
            "withdrawals_root",
            root,
            calculate_withdrawals_root(&input.withdrawals),
        ));
    }
    checks.push(Check::new(
        "ommers_hash",
        header.ommers_hash,
        EMPTY_OMMER_ROOT_HASH,
    ));

    let fork = input.chain.fork_name(header.number, header.timestamp);
    if fork == "pre-Merge" || fork == "Paris" {
        return Err(ExecError::UnsupportedFork {
            number: header.number,
            timestamp: header.timestamp,
            reason: format!("{fork} blocks are not supported; Shanghai or later is"),
        });
    }

    // Signer recovery is the costliest part of preparing a block: spread it over the cores.
    let recovered = {
        use rayon::prelude::*;
        input
            .transactions
            .par_iter()
            .enumerate()
            .map(|(index, tx)| {
                let signer = tx.recover_signer().map_err(|e| ExecError::Signature {
                    index,
                    hash: *tx.tx_hash(),
                    reason: e.to_string(),
                })?;
                Ok(alloy_consensus::transaction::Recovered::new_unchecked(
                    tx, signer,
                ))
            })
            .collect::<Result<Vec<_>, ExecError>>()?
    };

    let pre_db = PreStateDb::new(&input.pre_state, parent_state_root, block_hashes);
    let mut state = State::builder()
        .with_database_ref(&pre_db)
        .with_bundle_update()
        .build();
    let first_error = Arc::new(Mutex::new(None));
    let blob_params = input.chain.blob_params(header.timestamp);
    let env = EvmEnv::for_eth_block(header, &input.chain, input.chain.chain_id(), blob_params);
    let prepare = t0.elapsed();

    let t1 = Instant::now();
    let witness_err = |e: ExecError, first: &Arc<Mutex<Option<WitnessError>>>| match first
        .lock()
        .expect("lock")
        .take()
    {
        Some(w) => ExecError::Witness(w),
        None => e,
    };
    let db = BoundaryDb::new(&mut state, first_error.clone());
    let inspect = recorder.records_frames();
    let evm = TracedEvm::new(db, env, recorder, inspect);
    let ctx = EthBlockExecutionCtx {
        parent_hash: header.parent_hash,
        parent_beacon_block_root: header.parent_beacon_block_root,
        ommers: &[],
        withdrawals: Some(Cow::Borrowed(&input.withdrawals)),
        extra_data: header.extra_data.clone(),
        tx_count_hint: Some(input.transactions.len()),
        slot_number: None,
    };
    let mut executor =
        EthBlockExecutor::new(evm, ctx, &input.chain, AlloyReceiptBuilder::default());
    if opts.record_trace {
        // Mainnet blocks run about one EVM step per 25-30 gas.
        let expected_gas = opts.subblock_gas.min(header.gas_used.max(1_000_000));
        executor
            .evm_mut()
            .inspector_mut()
            .reserve_steps((expected_gas / 24) as usize);
    }
    let exec_err = |e: alloy_evm::block::BlockExecutionError| ExecError::Execution(e.to_string());

    executor
        .evm_mut()
        .inspector_mut()
        .begin_segment(SegmentKind::PreBlockSystem, 0);
    executor
        .apply_pre_execution_changes()
        .map_err(|e| witness_err(exec_err(e), &first_error))?;
    executor.evm_mut().inspector_mut().end_segment(0);

    let mut subblocks = Vec::new();
    let mut sub_start = 0usize;
    let mut sub_gas = 0u64;
    let n = recovered.len();
    for (i, tx) in recovered.iter().enumerate() {
        executor
            .evm_mut()
            .inspector_mut()
            .begin_segment(SegmentKind::Transaction, i as u32);
        let gas = executor.execute_transaction(*tx).map_err(|e| {
            let invalid_tx = matches!(
                e.as_validation(),
                Some(
                    BlockValidationError::InvalidTx { .. }
                        | BlockValidationError::TransactionGasLimitMoreThanAvailableBlockGas { .. }
                )
            );
            if invalid_tx {
                ExecError::InvalidTransaction {
                    index: i,
                    reason: e.to_string(),
                }
            } else {
                witness_err(exec_err(e), &first_error)
            }
        })?;
        let gas = gas.tx_gas_used();
        executor.evm_mut().inspector_mut().end_segment(gas);
        sub_gas += gas;
        // The last transaction's subblock stays open for the post-block phase.
        if sub_gas >= opts.subblock_gas && i + 1 < n {
            let outline = executor.evm_mut().inspector_mut().take_outline();
            let trace = executor.evm_mut().inspector_mut().take_trace();
            let boundary = executor.evm_mut().db_mut().take_boundary();
            subblocks.push(Subblock {
                index: subblocks.len(),
                transactions: sub_start..i + 1,
                gas_used: sub_gas,
                trace,
                boundary,
                outline,
            });
            sub_start = i + 1;
            sub_gas = 0;
        }
    }
    executor
        .evm_mut()
        .inspector_mut()
        .begin_segment(SegmentKind::PostBlockSystem, 0);
    let (mut evm, result) = executor
        .finish()
        .map_err(|e| witness_err(exec_err(e), &first_error))?;
    evm.inspector_mut().end_segment(0);
    let outline = evm.inspector_mut().take_outline();
    let trace = evm.inspector_mut().take_trace();
    let boundary = evm.db_mut().take_boundary();
    if let Some(m) = evm.inspector().stream_mismatch() {
        return Err(ExecError::Execution(format!(
            "the recording run does not follow its outline: {m}"
        )));
    }
    subblocks.push(Subblock {
        index: subblocks.len(),
        transactions: sub_start..n,
        gas_used: sub_gas,
        trace,
        boundary,
        outline,
    });
    drop(evm);
    if let Some(w) = first_error.lock().expect("lock").take() {
        // revm may swallow a database error inside a frame; never accept a result built on one.
        return Err(ExecError::Witness(w));
    }
    let execute = t1.elapsed();

    let t2 = Instant::now();
    state.merge_transitions(BundleRetention::Reverts);
    let bundle = state.take_bundle();
    drop(state);

    checks.push(Check::new("gas_used", header.gas_used, result.gas_used));
    checks.push(Check::new(
        "receipts_root",
        header.receipts_root,
        calculate_receipt_root(&result.receipts),
    ));
    let bloom = result
        .receipts
        .iter()
        .fold(Bloom::ZERO, |acc, r| acc | r.bloom());
    checks.push(Check::new("logs_bloom", header.logs_bloom, bloom));
    if let Some(expected) = header.requests_hash {
        checks.push(Check::new(
            "requests_hash",
            expected,
            result.requests.requests_hash(),
        ));
    }
    if let Some(expected) = header.blob_gas_used {
        checks.push(Check::new("blob_gas_used", expected, result.blob_gas_used));
    }

    let mut unavailable_checks = Vec::new();
    let state_root = match &pre_db {
        PreStateDb::Witness(w) => {
            let root = post_state_root(w, parent_state_root, &bundle)?;
            checks.push(Check::new("state_root", header.state_root, root));
            root
        }
        PreStateDb::Flat(flat) => {
            // Every account and slot execution read must be listed: an unlisted one was
            // answered as empty, which the flat format cannot justify.
            let (accounts, slots) = flat.unlisted_reads();
            checks.push(Check::new(
                "flat_prestate_complete",
                "0 unlisted reads",
                format!("{} unlisted reads", accounts.len() + slots.len()),
            ));
            unavailable_checks.push((
                "state_root",
                "flat pre-state has no trie nodes: the post-state root cannot be recomputed",
            ));
            unavailable_checks.push((
                "pre_state_proof",
                "flat pre-state has no trie nodes: reads are not proven against the parent state root",
            ));
            header.state_root
        }
    };
    if let Some(diffs) = &input.expected_diffs {
        let (ok, total, first_bad) = check_diffs(diffs, &bundle);
        let mut c = Check::new(
            "state_diffs",
            format!("{total}/{total}"),
            format!("{ok}/{total}"),
        );
        if let Some(bad) = first_bad {
            c.computed = format!("{ok}/{total} (first mismatch: {bad})");
        }
        checks.push(c);
    }
    let verify = t2.elapsed();

    let chain_id = input.chain.chain_id();
    let blob_update_fraction = blob_params.map_or(0, |p| p.update_fraction as u64);
    let mut reads = block_context::block_hash_reads(subblocks.iter().map(|s| &s.trace));
    // An outlined block's reads are in its outlines (its traces are empty).
    let outlined = subblocks.iter().filter_map(|s| s.outline.as_ref());
    reads.extend(outlined.flat_map(|o| o.block_hash_reads.iter().copied()));
    reads.sort_unstable_by_key(|&(n, _)| n);
    reads.dedup_by_key(|&mut (n, _)| n);
    let ancestors_rlp = block_context::needed_ancestors(header.number, &reads, &input.ancestors);
    let context = Arc::new(BlockContext {
        header: block_context::header_values(header, chain_id, blob_update_fraction),
        block_hashes: reads,
    });
    for sb in &mut subblocks {
        sb.trace.block_context = context.clone();
    }

    Ok(BlockExecution {
        number: header.number,
        block_hash,
        fork,
        format: input.format,
        parent_state_root,
        state_root,
        gas_used: result.gas_used,
        transactions: n,
        subblocks,
        checks,
        receipts: result.receipts,
        unavailable_checks,
        context,
        header_rlp: block_context::header_rlp(header),
        chain_id,
        blob_update_fraction,
        ancestors_rlp,
        times: PhaseTimes {
            prepare,
            execute,
            verify,
        },
        state_changes: bundle,
    })
}

/// Compares the fixture's expected post-values with the bundle: (matching, total, first mismatch).
fn check_diffs(diffs: &[ExpectedDiff], bundle: &BundleState) -> (usize, usize, Option<String>) {
    let mut ok = 0;
    let mut first_bad = None;
    for d in diffs {
        let acc = bundle.state.get(&d.address);
        let info = acc.and_then(|a| a.info.as_ref());
        let mut good = true;
        match (d.post_balance, info) {
            (Some(b), Some(i)) => good &= i.balance == b,
            (None, None) => {}
            (Some(b), None) => good &= b.is_zero() && acc.is_none(),
            (None, Some(_)) => good = false,
        }
        if let (Some(n), Some(i)) = (d.post_nonce, info) {
            good &= i.nonce == n;
        }
        if let (Some(h), Some(i)) = (d.post_code_hash, info) {
            good &= i.code_hash == h;
        }
        for (slot, value) in &d.storage {
            let got = acc
                .and_then(|a| a.storage.get(slot))
                .map(|s| s.present_value)
                .unwrap_or(U256::ZERO);
            // An untouched slot in the bundle keeps its expected value only if unchanged.
            if acc.and_then(|a| a.storage.get(slot)).is_some() || !value.is_zero() {
                good &= got == *value;
            }
        }
        if good {
            ok += 1;
        } else if first_bad.is_none() {
            first_bad = Some(d.address.to_string());
        }
    }
    (ok, diffs.len(), first_bad)
}
