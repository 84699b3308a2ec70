//! The chips. Each has `columns.rs` (the row layout), `air.rs` (constraints and bus
//! interactions) and `trace.rs` (trace generation).

pub mod alu;
pub mod bitwise;
pub mod bytecode;
pub mod call_context;
pub mod cpu;
pub mod muldiv;
pub mod opcode_table;
pub mod range;
pub mod stack_boundary;
