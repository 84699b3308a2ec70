//! The byte AND table: rows `(x, y, x AND y)`, each row given by the bits of x and y (so any row
//! the prover writes is a correct AND), with a lookup multiplicity. Since every row is checked on
//! its own, the table holds only the pairs its shard looks up (its height follows the shard).

pub mod air;
pub mod columns;
pub mod trace;

pub use air::BitwiseAir;
