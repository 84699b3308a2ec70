//! The opcode table: one row per opcode (256), its properties preprocessed columns fixed by the
//! verifying key (committed once, not in each shard proof), so the prover cannot change any of
//! them; the main trace holds only the two lookup multiplicities. It provides `(opcode, properties...)` to the CPU ([`crate::buses::OPCODE`])
//! and `(opcode, immediate size, is JUMPDEST)` to the bytecode chip
//! ([`crate::buses::CODE_OPCODE`]).

pub mod air;
pub mod columns;
pub mod trace;

pub use air::OpcodeTableAir;
pub use columns::{NUM_PROPS, OpcodeProps, props_of};
