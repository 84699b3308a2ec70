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
pub mod kinds;

pub use block::{Assembled, BlockPlan, TxSpec, TxType, transaction_outcomes};
pub use genesis::{CHAIN_ID, Genesis};

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

/// The exact file contents of a fixture: pretty JSON with a final newline.
pub fn fixture_text(fixture: &Value) -> Result<String, ExecError> {
    let mut text = serde_json::to_string_pretty(fixture).map_err(|source| ExecError::Json {
        format: "generated fixture",
        source,
    })?;
    text.push('\n');
    Ok(text)
}
