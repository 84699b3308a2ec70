//! The opcode table: one row per opcode (256), each row a one-hot selector over the opcodes, so
//! every property on the row is a fixed linear function of the selectors and the prover cannot
//! change any of them. It provides `(opcode, properties...)` to the CPU ([`crate::buses::OPCODE`])
//! and `(opcode, immediate size, is JUMPDEST)` to the bytecode chip
//! ([`crate::buses::CODE_OPCODE`]).

pub mod air;
pub mod columns;
pub mod trace;

pub use air::OpcodeTableAir;
pub use columns::{NUM_PROPS, OpcodeProps, props_of};
