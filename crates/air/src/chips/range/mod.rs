//! Range tables: every value of `0..2^bits` once, with how often it is looked up.
//!
//! The table's height is pinned by its constraints (first value 0, +1 per row, last value
//! `2^bits - 1`), so no value outside the range can be provided.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::RangeAir;
