//! The chips. Each has `columns.rs` (the row layout), `air.rs` (constraints and bus
//! interactions) and `trace.rs` (trace generation).

pub mod alu;
pub mod bitwise;
pub mod bytecode;
pub mod call_context;
pub mod calldata;
pub mod carry;
pub mod cpu;
pub mod keccak;
pub mod keccak_bytes;
pub mod keccak_sponge;
pub mod memory;
pub mod muldiv;
pub mod opcode_table;
pub mod push_immediate;
pub mod range;
pub mod stack_boundary;

/// Fewest rows of a table (the prover's smallest trace).
pub const MIN_ROWS: usize = 4;

/// A table's natural height for `rows` used rows: the next power of two, at least
/// [`MIN_ROWS`]. A shard may pad a table further (to its shape's height, `crate::shape`).
pub fn natural_height(rows: usize) -> usize {
    rows.next_power_of_two().max(MIN_ROWS)
}

/// Log2 of [`natural_height`].
pub fn natural_log_height(rows: usize) -> usize {
    natural_height(rows).trailing_zeros() as usize
}

/// A lookup multiplicity that is a boolean column (at most 1 per row).
pub(crate) fn bool1<E: p3_field::PrimeCharacteristicRing>(e: E) -> p3_lookup::Count<E> {
    p3_lookup::Count::bounded(e, 1)
}
