//! Running a blockchain test: the blocks in order over the chain's complete state, each valid
//! block executed through the witness path (every read proven against the parent's state root,
//! the post-state root recomputed and checked against the header), each invalid block rejected
//! for its expected kind of reason, then the final state and head hash checked.

use super::consensus::header_violation;
use super::error::{BlockRef, BlockTestError};
use super::exception::RejectionKind;
use super::fixture::{BlockchainTest, ExpectedPost, decode_block};
use super::state::{FullState, apply_changes, first_difference, full_witness, state_root};
use super::stateless;
use crate::block::{BlockExecution, ExecuteOptions, execute_block};
use crate::fixture::{BlockInput, FixtureFormat, PreState};
use alloy_consensus::Header;
use alloy_primitives::Bytes;

/// BLOCKHASH reaches back this many blocks.
const BLOCKHASH_WINDOW: usize = 256;
/// EIP-7934 (Osaka): the largest RLP-encoded block.
const MAX_RLP_BLOCK_SIZE: usize = 8_388_608;

/// How a test went, with what it counted on the way (also when it failed part-way).
#[derive(Debug)]
pub struct BlockTestReport {
    pub name: String,
    pub result: Result<(), BlockTestError>,
    /// Valid blocks executed with every check passing.
    pub valid_blocks: usize,
    /// Blocks the fixture marks invalid that were reached.
    pub invalid_blocks: usize,
    /// Of those, the ones rejected with an error of the expected kind.
    pub invalid_rejected_as_expected: usize,
    /// Gas used by the valid blocks.
    pub gas_used: u64,
    /// Valid blocks whose `statelessInputBytes` were also executed (witness path) and passed.
    pub stateless_inputs: usize,
}

/// A rejection of a block: its kind and the error it is when the block was meant to be valid.
struct Rejection {
    kind: RejectionKind,
    reason: String,
    error: BlockTestError,
}

/// One valid block of a chain, as executed.
pub struct ChainBlock<'a> {
    /// Its position in the test's `blocks`.
    pub index: usize,
    pub input: &'a BlockInput,
    pub execution: &'a BlockExecution,
}

/// The chain's state between blocks, with the MPT witness of it (built once per state).
struct ChainState {
    state: FullState,
    nodes: Vec<Bytes>,
    codes: Vec<Bytes>,
}

impl ChainState {
    fn new(state: FullState) -> (Self, alloy_primitives::B256) {
        let (root, nodes, codes) = full_witness(&state);
        (
            Self {
                state,
                nodes,
                codes,
            },
            root,
        )
    }
}

/// Decodes, checks against its parent and executes block `index`; a block that fails any of
/// it is a [`Rejection`].
fn try_block(
    test: &BlockchainTest,
    index: usize,
    chain: &ChainState,
    headers: &[Header],
    opts: &ExecuteOptions,
) -> Result<(BlockInput, BlockExecution), Box<Rejection>> {
    let block = &test.blocks[index];
    let name = test.name.clone();
    let decoded = decode_block(&block.rlp).map_err(|e| -> Box<Rejection> {
        // A body that fails while the header decodes alone is a broken transaction (or list).
        let mut buf = block.rlp.as_ref();
        let header_decodes = alloy_rlp::Header::decode(&mut buf).is_ok_and(|h| h.list)
            && <Header as alloy_rlp::Decodable>::decode(&mut buf).is_ok();
        Box::new(Rejection {
            kind: if header_decodes {
                RejectionKind::TransactionRlp
            } else {
                RejectionKind::BlockRlp
            },
            reason: e.to_string(),
            error: BlockTestError::BlockRlp {
                test: name.clone(),
                block: BlockRef::at(index, None),
                reason: e.to_string(),
            },
        })
    })?;
    let header = decoded.header;
    let at = BlockRef::at(index, Some(header.number));
    let parent = headers
        .last()
        .expect("the chain holds at least the genesis header");
    let header_rejection = |reason: String| {
        Box::new(Rejection {
            kind: RejectionKind::Header,
            reason: reason.clone(),
            error: BlockTestError::InvalidHeader {
                test: name.clone(),
                block: at,
                reason,
            },
        })
    };
    if header.parent_hash != parent.hash_slow() {
        return Err(header_rejection(format!(
            "parent hash {} is not the chain head's {}",
            header.parent_hash,
            parent.hash_slow()
        )));
    }
    if let Some(reason) = header_violation(&header, parent, &test.chain) {
        return Err(header_rejection(reason));
    }
    if !decoded.body.ommers.is_empty() {
        return Err(header_rejection(format!(
            "{} uncle headers (none after the merge)",
            decoded.body.ommers.len()
        )));
    }
    if test.chain.fork_name(header.number, header.timestamp) == "Osaka"
        && block.rlp.len() > MAX_RLP_BLOCK_SIZE
    {
        return Err(Box::new(Rejection {
            kind: RejectionKind::BlockRlp,
            reason: format!("block RLP is {} bytes", block.rlp.len()),
            error: BlockTestError::InvalidHeader {
                test: name.clone(),
                block: at,
                reason: format!(
                    "block RLP is {} bytes (at most {MAX_RLP_BLOCK_SIZE})",
                    block.rlp.len()
                ),
            },
        }));
    }
    let withdrawals = match (decoded.body.withdrawals, header.withdrawals_root) {
        (Some(w), Some(_)) => w.into_inner(),
        (None, None) => Vec::new(),
        _ => {
            return Err(header_rejection(
                "withdrawals and withdrawals root disagree on being present".into(),
            ));
        }
    };
    let first = headers.len().saturating_sub(BLOCKHASH_WINDOW);
    let input = BlockInput {
        format: FixtureFormat::EestBlockchainTest,
        header,
        stated_hash: block.stated_hash,
        transactions: decoded.body.transactions,
        withdrawals,
        chain: test.chain.clone(),
        ancestors: headers[first..].to_vec(),
        pre_state: PreState::Witness {
            nodes: chain.nodes.clone(),
            codes: chain.codes.clone(),
        },
        expected_diffs: None,
    };
    let exec = execute_block(&input, opts).map_err(|e| {
        Box::new(Rejection {
            kind: RejectionKind::of_exec_error(&e).unwrap_or(RejectionKind::ExecutionResult),
            reason: e.to_string(),
            error: BlockTestError::Execution {
                test: name.clone(),
                block: at,
                source: Box::new(e),
            },
        })
    })?;
    if let Some(c) = exec.checks.iter().find(|c| !c.passed) {
        return Err(Box::new(Rejection {
            kind: RejectionKind::ExecutionResult,
            reason: format!(
                "{}: header {} != computed {}",
                c.name, c.expected, c.computed
            ),
            error: BlockTestError::CheckFailed {
                test: name.clone(),
                block: at,
                check: c.name,
                expected: c.expected.clone(),
                computed: c.computed.clone(),
            },
        }));
    }
    Ok((input, exec))
}

/// Runs `test`, calling `visit` with each valid block as it is executed.
pub fn run_chain(
    test: &BlockchainTest,
    opts: &ExecuteOptions,
    mut visit: impl FnMut(ChainBlock<'_>),
) -> BlockTestReport {
    let mut report = BlockTestReport {
        name: test.name.clone(),
        result: Ok(()),
        valid_blocks: 0,
        invalid_blocks: 0,
        invalid_rejected_as_expected: 0,
        gas_used: 0,
        stateless_inputs: 0,
    };
    report.result = run_blocks(test, opts, &mut visit, &mut report);
    report
}

fn run_blocks(
    test: &BlockchainTest,
    opts: &ExecuteOptions,
    visit: &mut impl FnMut(ChainBlock<'_>),
    report: &mut BlockTestReport,
) -> Result<(), BlockTestError> {
    let name = &test.name;
    let genesis_hash = test.genesis.hash_slow();
    if let Some(stated) = test.genesis_stated_hash
        && stated != genesis_hash
    {
        return Err(BlockTestError::Genesis {
            test: name.clone(),
            check: "block hash",
            expected: stated,
            computed: genesis_hash,
        });
    }
    let (mut chain, pre_root) = ChainState::new(test.pre.clone());
    if pre_root != test.genesis.state_root {
        // `pre` is the whole state: it must hash to the genesis state root.
        return Err(BlockTestError::Genesis {
            test: name.clone(),
            check: "state root of `pre`",
            expected: test.genesis.state_root,
            computed: pre_root,
        });
    }
    let mut headers = vec![test.genesis.clone()];
    let mut head = BlockRef::genesis();
    for (index, block) in test.blocks.iter().enumerate() {
        let outcome = try_block(test, index, &chain, &headers, opts);
        match (&block.expect_exception, outcome) {
            (None, Ok((input, exec))) => {
                let at = BlockRef::at(index, Some(exec.number));
                let mut state = std::mem::take(&mut chain.state);
                apply_changes(&mut state, &exec.state_changes, name, at)?;
                let (next, root) = ChainState::new(state);
                // The executor checked its trie update against the header; the state carried
                // forward must hash to the same root.
                if root != exec.state_root {
                    return Err(BlockTestError::CheckFailed {
                        test: name.clone(),
                        block: at,
                        check: "state_root of the carried state",
                        expected: exec.state_root.to_string(),
                        computed: root.to_string(),
                    });
                }
                if let Some(bytes) = &block.stateless_input {
                    check_stateless_input(test, at, bytes, &exec, opts)?;
                    report.stateless_inputs += 1;
                }
                chain = next;
                report.valid_blocks += 1;
                report.gas_used += exec.gas_used;
                visit(ChainBlock {
                    index,
                    input: &input,
                    execution: &exec,
                });
                head = at;
                headers.push(input.header);
            }
            (None, Err(rejection)) => return Err(rejection.error),
            (Some(expected), Ok((input, _))) => {
                report.invalid_blocks += 1;
                return Err(BlockTestError::InvalidBlockAccepted {
                    test: name.clone(),
                    block: BlockRef::at(index, Some(input.header.number)),
                    expected: expected.clone(),
                });
            }
            (Some(expected), Err(rejection)) => {
                report.invalid_blocks += 1;
                if rejection.error.is_unsupported() {
                    return Err(rejection.error);
                }
                if !rejection.kind.matches(expected) {
                    return Err(BlockTestError::WrongRejection {
                        test: name.clone(),
                        block: BlockRef::at(index, None),
                        expected: expected.clone(),
                        got: rejection.kind.name(),
                        reason: rejection.reason,
                    });
                }
                report.invalid_rejected_as_expected += 1;
            }
        }
    }

    match &test.post {
        ExpectedPost::Hash(expected) => {
            let computed = state_root(&chain.state);
            if computed != *expected {
                return Err(BlockTestError::PostStateHash {
                    test: name.clone(),
                    block: head,
                    expected: *expected,
                    computed,
                });
            }
        }
        ExpectedPost::State(expected) => {
            if let Some((address, reason)) = first_difference(&chain.state, expected) {
                return Err(BlockTestError::PostState {
                    test: name.clone(),
                    block: head,
                    address,
                    reason,
                });
            }
        }
    }
    let head_hash = headers.last().expect("genesis at least").hash_slow();
    if head_hash != test.last_block_hash {
        return Err(BlockTestError::LastBlockHash {
            test: name.clone(),
            block: head,
            expected: test.last_block_hash,
            computed: head_hash,
        });
    }
    Ok(())
}

/// Executes a block's stateless input through the witness path: it must be the same block
/// (hash), name the test's chain, and pass every check on its own witness.
fn check_stateless_input(
    test: &BlockchainTest,
    at: BlockRef,
    bytes: &[u8],
    exec: &BlockExecution,
    opts: &ExecuteOptions,
) -> Result<(), BlockTestError> {
    let fail = |reason: String| BlockTestError::StatelessInput {
        test: test.name.clone(),
        block: at,
        reason,
    };
    let decoded = stateless::decode(bytes).map_err(|e| fail(e.to_string()))?;
    if decoded.chain_id != test.chain.chain_id() {
        return Err(fail(format!(
            "chain id {} is not the test's {}",
            decoded.chain_id,
            test.chain.chain_id()
        )));
    }
    let hash = decoded.header.hash_slow();
    if hash != exec.block_hash {
        return Err(fail(format!(
            "block hash {hash} is not the block's {}",
            exec.block_hash
        )));
    }
    let input = decoded.into_block_input(test.chain.clone());
    let stateless_exec = execute_block(&input, opts).map_err(|e| fail(e.to_string()))?;
    match stateless_exec.checks.iter().find(|c| !c.passed) {
        Some(c) => Err(fail(format!(
            "check `{}` failed: header has {}, execution gives {}",
            c.name, c.expected, c.computed
        ))),
        None => Ok(()),
    }
}

/// The input of block `index` (default: the last valid block) with the chain's state before it
/// as a complete witness, after running the test's earlier blocks (without traces). The test's
/// checks up to that block must pass.
pub fn block_input(
    test: &BlockchainTest,
    index: Option<usize>,
) -> Result<(usize, BlockInput), BlockTestError> {
    if let Some(i) = index {
        if i >= test.blocks.len() {
            return Err(BlockTestError::Selection {
                test: test.name.clone(),
                reason: format!("block {i} asked for; the test has {}", test.blocks.len()),
            });
        }
        if let Some(x) = &test.blocks[i].expect_exception {
            return Err(BlockTestError::Selection {
                test: test.name.clone(),
                reason: format!("blocks[{i}] is an invalid block ({x}): nothing to prove"),
            });
        }
    }
    let opts = ExecuteOptions {
        record_trace: false,
        ..ExecuteOptions::default()
    };
    let mut chosen = None;
    let report = run_chain(test, &opts, |b| {
        if index.is_none_or(|i| i == b.index) {
            chosen = Some((b.index, b.input.clone()));
        }
    });
    report.result?;
    chosen.ok_or_else(|| BlockTestError::Selection {
        test: test.name.clone(),
        reason: "the test has no valid block".into(),
    })
}
