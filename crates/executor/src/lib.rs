//! # slotproof-executor
//!
//! Stateless execution of Ethereum blocks with revm over a pre-state witness, checked against the
//! block header, split into subblocks with an execution trace per subblock for the prover.
//!
//! ```no_run
//! use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};
//! let input = BlockInput::from_path("fixtures/transfers.json")?;
//! let exec = execute_block(&input, &ExecuteOptions::default())?;
//! exec.ensure_checks_pass()?;
//! println!("{} steps in {} subblocks", exec.steps(), exec.subblocks.len());
//! # Ok::<(), slotproof_executor::ExecError>(())
//! ```

pub mod block;
pub mod block_context;
pub mod blocktest;
pub mod boundary;
pub mod error;
pub mod evm;
pub mod fixture;
pub mod generate;
pub mod post_state;
pub mod statetest;
pub mod trace;
pub mod witness;

pub use block::{
    BlockExecution, Check, DEFAULT_SUBBLOCK_GAS, ExecuteOptions, Subblock, execute_block,
    outline_block, stream_block,
};
pub use error::{ExecError, WitnessError};
pub use fixture::{BlockInput, FixtureFormat};
