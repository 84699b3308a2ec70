//! The call-context table: one row per (context, opcode, seq) that the shard's successful
//! ADDRESS, CALLER, CALLVALUE, ORIGIN, GASPRICE, CALLDATASIZE, CODESIZE, RETURNDATASIZE or
//! BLOBHASH steps read, with the value and a lookup multiplicity (`seq`: RETURNDATASIZE's call
//! count, BLOBHASH's index below 2^16, else 0; a BLOBHASH index of 2^16 or more reads no row,
//! the CPU checks it pushes zero). The CPU looks up `(context, opcode, pushed value)` on
//! [`crate::buses::CALL_CONTEXT`], so every such step of a context in the shard pushes the
//! value of its one row: the keys `256 context + opcode` strictly increase down the real rows
//! (both parts range-checked, gaps below 2^24), so no key has two rows.
//!
//! The values themselves are the prover's (trusted) until calls and transactions are
//! constrained (the blob hashes, as ORIGIN and GASPRICE, are the transaction's).

pub mod air;
pub mod columns;
pub mod trace;

pub use air::CallContextAir;
