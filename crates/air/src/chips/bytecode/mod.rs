//! The bytecode chip: one row per byte of every code the shard executes (each code followed by
//! 33 zero bytes, the implicit STOP and the zero padding of a PUSH that runs past the end).
//!
//! Jumpdest analysis is constrained: a state machine counts the immediate bytes still to come
//! (`rem`), so a byte is an opcode exactly when it is not PUSH data; only opcode bytes are
//! provided to the CPU on [`crate::buses::BYTECODE`] (so executing PUSH data or jumping into it
//! cannot be looked up), and `is_jumpdest` holds exactly on opcode bytes equal to JUMPDEST.
//! Every byte, with the next byte of its code, can be read by address on
//! [`crate::buses::CODE_BYTE`]: the push-immediate table (`crate::chips::push_immediate`) reads
//! PUSH immediates there (they used to be accumulated here, 32 columns on every byte).
//!
//! Trusted: the code bytes themselves (nothing yet binds them to the code hash; that needs a
//! Keccak chip) and which code a context runs.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::BytecodeAir;
