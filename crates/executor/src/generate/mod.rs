//! The project's own block fixtures, generated from scratch: a genesis state with funded EOAs,
//! the Prague system contracts and contracts assembled here, its full MPT witness, and block 1
//! with signed transactions whose header is filled from (and then checked by) the executor.
//! The output is ZK-PIG JSON, byte-for-byte deterministic; `fixtures/<kind>.json` in the
//! repository is this output, and a test keeps the two identical.
//!
//! ```no_run
//! use slotproof_executor::generate::{FixtureKind, generate, fixture_text};
//! for kind in FixtureKind::all() {
//!     let json = generate(kind)?;
//!     std::fs::write(format!("fixtures/{}.json", kind.name()), fixture_text(&json)?).unwrap();
//! }
//! # Ok::<(), slotproof_executor::ExecError>(())
//! ```

pub mod asm;
pub mod block;
pub mod contracts;
pub mod genesis;
pub mod giant;
pub mod kinds;

pub use block::{
    Assembled, BlockPlan, TxSpec, TxType, assemble_with_gas_limit, transaction_outcomes,
};
pub use genesis::{CHAIN_ID, GAS_LIMIT, Genesis};
pub use giant::{GIANT_GAS_RANGE, GIANT_SLACK, Giant, GiantKind, generate_giant};

use crate::block::BlockExecution;
use crate::error::ExecError;
use crate::fixture::write_zkpig;
use serde_json::{Value, json};

/// The fixtures the generator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FixtureKind {
    /// About 50 ether transfers (legacy, EIP-2930 and EIP-1559 envelopes).
    Transfers,
    /// About 50 token transfers, one reverting on an insufficient balance.
    Token,
    /// A few KECCAK256/arithmetic-heavy calls.
    Keccak,
    /// A few CALL/STATICCALL/DELEGATECALL-heavy calls.
    Calls,
    /// All of the above, over 4 Mgas: the CLI's default block, two subblocks by default.
    Mixed,
}

impl FixtureKind {
    pub fn all() -> [FixtureKind; 5] {
        use FixtureKind::*;
        [Transfers, Token, Keccak, Calls, Mixed]
    }

    /// The file stem of the fixture (`fixtures/<name>.json`).
    pub fn name(self) -> &'static str {
        match self {
            FixtureKind::Transfers => "transfers",
            FixtureKind::Token => "token",
            FixtureKind::Keccak => "keccak",
            FixtureKind::Calls => "calls",
            FixtureKind::Mixed => "mixed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().into_iter().find(|k| k.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            FixtureKind::Transfers => "50 ether transfers (types 0, 1 and 2), 4 withdrawals",
            FixtureKind::Token => {
                "50 token transfers (one reverts: insufficient balance) and a balanceOf, 4 withdrawals"
            }
            FixtureKind::Keccak => "4 hasher calls (KECCAK256 and arithmetic loops)",
            FixtureKind::Calls => {
                "3 relay calls (STATICCALL/CALL/DELEGATECALL loops), 4 withdrawals"
            }
            FixtureKind::Mixed => {
                "ether and token transfers with hasher and relay calls, over two 4 Mgas subblocks"
            }
        }
    }

    /// The block plan of this kind over `genesis`.
    pub fn plan(self, genesis: &Genesis) -> BlockPlan {
        match self {
            FixtureKind::Transfers => kinds::transfers(genesis),
            FixtureKind::Token => kinds::token(genesis),
            FixtureKind::Keccak => kinds::keccak(genesis),
            FixtureKind::Calls => kinds::calls(genesis),
            FixtureKind::Mixed => kinds::mixed(genesis),
        }
    }
}

/// A generated fixture and the checked execution of its block.
#[derive(Clone, Debug)]
pub struct Generated {
    pub kind: FixtureKind,
    /// The ZK-PIG JSON; `extra.generator` records the kind and which transactions are meant to
    /// fail.
    pub json: Value,
    pub execution: BlockExecution,
}

/// Builds the block of `kind`, executes and checks it, and renders it as a fixture.
pub fn generate_checked(kind: FixtureKind) -> Result<Generated, ExecError> {
    let genesis = Genesis::build()?;
    let plan = kind.plan(&genesis);
    let assembled = block::assemble(&genesis, &plan)?;
    let extra = json!({
        "generator": {
            "kind": kind.name(),
            "description": kind.description(),
            "expectedFailedTransactions": plan.expected_failures,
        }
    });
    Ok(Generated {
        kind,
        json: write_zkpig(&assembled.input, Some(extra))?,
        execution: assembled.execution,
    })
}

/// The fixture of `kind` as ZK-PIG JSON.
pub fn generate(kind: FixtureKind) -> Result<Value, ExecError> {
    Ok(generate_checked(kind)?.json)
}

/// Smallest and largest gas target of [`generate_scaled`]. The upper bound keeps every sender's
/// ether and token balance sufficient for its share of the transfers (it grows with the square
/// of the number of rounds).
pub const SCALED_GAS_RANGE: std::ops::RangeInclusive<u64> = 1_000_000..=250_000_000;

/// A generated block of at least a given amount of gas: the `mixed` pattern repeated.
#[derive(Clone, Debug)]
pub struct Scaled {
    pub gas_target: u64,
    /// Rounds of the plan (`kinds::scaled`): about 3 transactions and 118 kgas each.
    pub rounds: usize,
    /// Gas limit of the genesis header and of the block.
    pub gas_limit: u64,
    pub json: Value,
    pub execution: BlockExecution,
}

/// The gas limit of a scaled block: room for the target, the overshoot of the last round and
/// the largest transaction's gas limit, in whole millions, never below mainnet's 30M.
pub(crate) fn scaled_gas_limit(gas_target: u64) -> u64 {
    let raw = gas_target + gas_target / 4 + 8_000_000;
    raw.div_ceil(1_000_000).max(GAS_LIMIT / 1_000_000) * 1_000_000
}

/// Builds block 1 of a chain whose genesis and block gas limits are raised so that the block
/// uses at least `gas_target` gas (the `mixed` pattern repeated, `kinds::scaled`), executes it
/// and requires every check to pass, like the fixed kinds. The number of rounds is measured, not
/// assumed: a 40-round block gives the gas per round, and the plan grows until the executed
/// block reaches the target (usually at the first full-size try).
pub fn generate_scaled(gas_target: u64) -> Result<Scaled, ExecError> {
    if !SCALED_GAS_RANGE.contains(&gas_target) {
        return Err(ExecError::Generator(format!(
            "gas target {gas_target} outside {}..={}",
            SCALED_GAS_RANGE.start(),
            SCALED_GAS_RANGE.end()
        )));
    }
    let genesis = Genesis::build()?;
    let gas_limit = scaled_gas_limit(gas_target);
    let calibration = 40;
    let probe =
        block::assemble_with_gas_limit(&genesis, &kinds::scaled(&genesis, calibration), gas_limit)?;
    let mut per_round = probe.execution.gas_used as f64 / calibration as f64;
    let mut rounds = calibration;
    let mut assembled = probe;
    for _ in 0..4 {
        let used = assembled.execution.gas_used;
        if used >= gas_target {
            let extra = json!({
                "generator": {
                    "kind": "scaled",
                    "description": "the mixed pattern repeated to reach a gas target",
                    "gasTarget": gas_target,
                    "rounds": rounds,
                    "expectedFailedTransactions": kinds::scaled(&genesis, rounds).expected_failures,
                }
            });
            return Ok(Scaled {
                gas_target,
                rounds,
                gas_limit,
                json: write_zkpig(&assembled.input, Some(extra))?,
                execution: assembled.execution,
            });
        }
        if rounds > calibration {
            per_round = used as f64 / rounds as f64;
        }
        rounds += ((gas_target - used) as f64 / per_round).ceil() as usize + 1;
        assembled =
            block::assemble_with_gas_limit(&genesis, &kinds::scaled(&genesis, rounds), gas_limit)?;
    }
    Err(ExecError::Generator(format!(
        "{rounds} rounds still use {} gas, below the target {gas_target}",
        assembled.execution.gas_used
    )))
}

/// The exact file contents of a fixture: pretty JSON with a final newline.
pub fn fixture_text(fixture: &Value) -> Result<String, ExecError> {
    let mut text = serde_json::to_string_pretty(fixture).map_err(|source| ExecError::Json {
        format: "generated fixture",
        source,
    })?;
    text.push('\n');
    Ok(text)
}
