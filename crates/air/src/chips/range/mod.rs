//! Range tables: every value of `0..2^bits` once, with how often it is looked up.
//!
//! The values are a preprocessed column, fixed by the verifying key (committed once, not in
//! each shard proof); the main trace holds only the multiplicities. So no value outside the
//! range can be provided: a proof made with another table does not verify against the key.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::RangeAir;
