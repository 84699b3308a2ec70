//! The byte AND table: rows `(x, y, x AND y)` for all byte pairs, each row given by the bits of
//! x and y (so any row the prover writes is a correct AND), with a lookup multiplicity.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::BitwiseAir;
