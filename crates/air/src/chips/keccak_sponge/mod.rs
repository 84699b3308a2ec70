//! The Keccak-256 sponge: one row per absorbed block of a hash, chained to the permutation
//! table (`chips::keccak`) over [`KECCAK_PERM`](crate::buses::KECCAK_PERM).
//!
//! A hash `(context, timestamp, offset, length)` is a run of consecutive rows, blocks `0, 1,
//! ..`: the first starts from the zero state; each absorbs 136 bytes (the last one the
//! remaining `length - 136 block < 136` message bytes, then pad10*1: `0x01` at the one-hot
//! `pad_at`, zeros, `0x80` added to byte 135; the others have at least 136 left, range-checked);
//! the absorbed state is `state XOR padded block` byte by byte (`x + y - 2 (x AND y)`, the AND
//! from the bitwise table, whose lookup also makes both operands bytes), and the row receives
//! `(absorbed state, state after)` from the permutation table; the next block starts from
//! that state. A block that is not a hash's first must follow a block of the same hash that is
//! not its last, so every run starts at a first block and ends at a last block. The length is
//! the consumer's and must be below 2^29 there (as memory areas are), so the range-checked
//! remainder (below 2^30) cannot be a wrapped negative number.
//!
//! **Message bytes** arrive as lanes `(context, timestamp, offset, length, lane index, 8 bytes)`
//! on [`KECCAK_LANE`](crate::buses::KECCAK_LANE): a block receives each of its lanes that holds
//! at least one message byte; bytes past the length are ignored (replaced by the padding).
//! **The digest** (the last state's first 32 bytes, byte-checked, as an EVM word) goes out with
//! the hash's header, the context's memory size in words before and after the step and the
//! step's gas on [`KECCAK_DIGEST`](crate::buses::KECCAK_DIGEST). The last block checks that gas
//! and size: `words = ceil(len / 32)` (`32 words - len < 32`); where the length is not zero
//! (shown by its inverse) the size after covers `[offset, offset + len)` (unchanged, or grown to
//! the area's last word, range-checked gaps as in the memory chip), else it is unchanged; gas `=
//! 30 + 6 words + 3 (w' - w) + floor(w'^2 / 512) - floor(w^2 / 512)` (sizes below 2^20 words,
//! squares split as the memory chip splits them). The consumer gives offset and length below
//! 2^29 where the length is not zero.
//!
//! **Not yet in a shard.** The lanes come from the word table (`chips::keccak_bytes`), whose
//! memory loads the memory chip's trace does not make yet, and the digest's consumer (the CPU's
//! KECCAK256 row) does not exist yet; until both do, the Keccak tables are not tables of a shard
//! and KECCAK256 stays trusted (`crate::coverage`). `crate::tests_keccak` proves the three tables
//! with a test stand-in for the memory chip's loads and the CPU, against revm's Keccak-256.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::KeccakSpongeAir;
