//! The CPU chip: one row per executed step (in execution order), padded with all-zero rows.
//!
//! See `README.md` for the constraint list; in short, per row: the opcode's properties come from
//! the opcode table, `(code id, pc, opcode)` from the bytecode chip (so the opcode is really the
//! byte at pc, and not PUSH data), PUSH immediates from the bytecode chip, and within a context
//! the next row's pc, gas, stack height, context and code follow from this row. Stack items are
//! tokens on the [`crate::buses::STACK`] bus (offline memory checking), calls and returns are
//! linked by tokens on [`crate::buses::RESUME`].

pub mod air;
pub mod columns;
pub mod trace;

pub use air::{CpuAir, CpuPublic};
