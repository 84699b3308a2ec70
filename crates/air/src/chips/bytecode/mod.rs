//! The bytecode chip: one row per byte of every code the shard executes (each code followed by
//! 33 zero bytes, the implicit STOP and the zero padding of a PUSH that runs past the end).
//!
//! Jumpdest analysis is constrained: a state machine counts the immediate bytes still to come
//! (`rem`), so a byte is an opcode exactly when it is not PUSH data; only opcode bytes are
//! provided to the CPU on [`crate::buses::BYTECODE`] (so executing PUSH data or jumping into it
//! cannot be looked up), and `is_jumpdest` holds exactly on opcode bytes equal to JUMPDEST.
//! Each PUSH's immediate is accumulated byte by byte (`acc`, little-endian) and provided, on the
//! PUSH's last data byte, as sixteen 16-bit limbs keyed by `(code id, pc of the PUSH)`.
//!
//! Trusted: the code bytes themselves (nothing yet binds them to the code hash; that needs a
//! Keccak chip) and which code a context runs.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::BytecodeAir;
