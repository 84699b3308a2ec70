//! The call-context table: one row per (context, opcode) that the shard's successful ADDRESS,
//! CALLER, CALLVALUE, ORIGIN, GASPRICE, CALLDATASIZE or CODESIZE steps read, with the value and
//! a lookup multiplicity. The CPU looks up `(context, opcode, pushed value)` on
//! [`crate::buses::CALL_CONTEXT`], so every such step of a context in the shard pushes the
//! value of its one row: the keys `256 context + opcode` strictly increase down the real rows
//! (both parts range-checked, gaps below 2^24), so no key has two rows.
//!
//! The values themselves are the prover's (trusted) until calls and transactions are
//! constrained; RETURNDATASIZE is not here, as it changes within a context after each call.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::CallContextAir;
