//! The bytes a Keccak hash absorbs, read from memory: one row per aligned word from the word
//! holding the offset to the word holding its last lane's last byte, each read at the hash's
//! timestamp over [`MEMORY_OP`](crate::buses::MEMORY_OP) as an aligned MLOAD with memory sizes
//! `(w + 1, w + 1)` and gas 3 (what the memory chip's load rows accept without expansion; the
//! CPU's size chain is not involved). The row's word and the next row's (the same hash's next
//! word, `more`) give its four lanes `(context, timestamp, offset, length, 4 i + q, 8 bytes)`
//! on [`KECCAK_LANE`](crate::buses::KECCAK_LANE), the bytes from `offset mod 32` on (one-hot
//! `shift`, `offset = 32 base + k`, `base < 2^24`); a lane reaching past the word is sent only
//! where the next row is the hash's. Lane `L` can only come from word `base + L / 4` at its
//! place (the memory chip's word range and the sponge's lane index leave no other solution), so
//! every lane the sponge receives holds the memory's bytes at that timestamp.
//!
//! **Not yet in a shard** (see `chips::keccak_sponge`): the memory chip's trace does not yet
//! make the load rows these reads need, so the table is proven only in `crate::tests_keccak`,
//! with a test receiver of the loads standing in for the memory chip.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::KeccakBytesAir;
