//! Commitments to the state a shard carries across a cut inside a transaction (issue 18 item
//! 1), a table of every shard (`shard::CARRY`). The boundary chip sends the stack items and
//! resume tokens it takes in and hands on, the memory chip's bound rows the live memory words
//! (after them); the verifiers compare consecutive shards' commitments (`shard::carries_on`,
//! the tree's `chain::merge`; `docs/ARCHITECTURE.md`, "Carried-state commitments").
//!
//! The table hashes two sequences of **chunks**, the tokens a shard takes in (its init rows)
//! and the tokens it hands on (its carried-out final rows), each into an 8-element digest that
//! is a public value, `[digest_in, digest_out]` (all zero for an empty sequence). One row per
//! chunk: a width-16 Poseidon2 permutation (`p3_poseidon2_air`, the round constants of the
//! field's `default_*_poseidon2_16`) of `acc ‖ chunk`, whose first 8 output lanes are the next
//! `acc` (a Merkle–Damgård chain over the truncated permutation, the same compression the
//! project's Merkle trees use; `acc` starts at zero). A chunk is 8 elements: a tag
//! `1 + 4 kind + j` (token kind, chunk index within the token) and 7 data elements, so a
//! chunk's place in its token and the token's kind are hashed too.
//!
//! The rows receive each chunk as `(dir, position, chunk)` on the `carry` bus (`dir` 0 for in,
//! 1 for out; positions 0, 1, 2, … within a direction), and a sender (a boundary or memory
//! row) sends its token's chunks at positions `p, p + 1, …` from one position column
//! ([`send_token`]). Since every position is received once, the absorbed chunks are exactly the
//! sent ones, in the order of their positions: no token dropped, none invented, no two tokens'
//! chunks mixed.
//!
//! Why a hash chain and not a multiset hash: a sum of per-token hashes needs no order, but
//! with free 0/1 choices over a few hundred tokens a zero-sum subset of 8 × 31-bit vectors is
//! a lattice problem a prover can solve; a chain is collision resistant. Cost: 167 columns per
//! chunk row; a stack token is 3 chunks (19 elements), a resume token 2 (8), a memory word 2
//! (13: its 32 bytes as 11 little-endian groups of up to 3 bytes).
//!
//! The permutation is the field's own (`field::CarryField`): KoalaBear's (x^3, 20 partial
//! rounds: 167 columns in all) or BabyBear's (x^7 with one register, 13 partial rounds).

pub mod air;
pub mod field;
pub mod trace;

pub use air::{CarryAir, NUM_CARRY_PUBLIC, carry_width, send_token};
pub use field::CarryField;
pub use trace::{CarryToken, chunks, commitment, generate};

/// Elements per chunk (the chain's rate).
pub const RATE: usize = 8;
/// Data elements per chunk (the first element is the tag).
pub const DATA: usize = RATE - 1;

/// The token kinds, hashed in each chunk's tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Stack = 0,
    Resume = 1,
    Memory = 2,
}

impl TokenKind {
    /// Data elements of a token of this kind.
    pub const fn data_len(self) -> usize {
        match self {
            // ctx, slot, 16 limbs, timestamp
            TokenKind::Stack => 19,
            // ctx, callee, pc, sp, code, ok, ncalls, mw
            TokenKind::Resume => 8,
            // ctx, word, 11 byte groups
            TokenKind::Memory => 13,
        }
    }

    /// Chunks of a token of this kind.
    pub const fn chunks(self) -> usize {
        self.data_len().div_ceil(DATA)
    }

    /// The tag of chunk `j` (never 0, so a chunk is never the zero vector's prefix).
    pub const fn tag(self, j: usize) -> u32 {
        1 + 4 * self as u32 + j as u32
    }
}

/// Direction on the `carry` bus.
pub const DIR_IN: u32 = 0;
pub const DIR_OUT: u32 = 1;

#[cfg(test)]
mod tests;
