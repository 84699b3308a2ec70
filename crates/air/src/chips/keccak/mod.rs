//! The Keccak-f[1600] permutation, one permutation per 24 rows (Plonky3's `p3-keccak-air`),
//! with its input and output states on the [`KECCAK_PERM`](crate::buses::KECCAK_PERM) bus.
//!
//! The rows and their constraints are `p3_keccak_air::KeccakAir`'s, unchanged: round flags
//! rotate from the first row, so every row with the last round's flag ends a complete
//! permutation of the preimage that all its 24 rows share; the state limbs are 16-bit (each is
//! the sum of its constrained bits). This chip adds one send per row whose `export` flag is set
//! (a boolean that `KeccakAir` allows only on last-round rows): `(input state, output state)`,
//! 100 + 100 16-bit limbs in lane order (lane `x + 5 y`, limbs little-endian), so a receiver
//! gets a pair only if the output is Keccak-f of the input. Padding permutations (zero state)
//! are not exported.
//!
//! **Cost.** 2,633 main columns per row, 24 rows per permutation: about 63,000 main cells per
//! permutation before LogUp and quotient columns. The table is as tall as its shard's shape
//! says, whether or not the shard hashes anything.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::KeccakPermAir;
