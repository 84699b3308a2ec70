//! Calldata as a per-context table of 32-byte words, and CALLDATALOAD answered from it.
//!
//! **Word rows** `(context, word, 32 bytes, length)` come first, sorted strictly by
//! `(context, word)` (context below 2^16, word below 2^16 + 2^24, key gaps range-checked), so
//! a shard has at most one row per word of a context's calldata. Each row's bytes at or past
//! the context's length are zero (a prefix of `valid` flags, its count tied to
//! `len - 32 word` clamped to `[0, 32]`), and its length is the context's CALLDATASIZE value
//! in the call-context table (looked up on [`CALL_CONTEXT`](crate::buses::CALL_CONTEXT), one
//! row per context), so CALLDATASIZE steps and the table agree. Rows provide the word on
//! [`CALLDATA_WORD`](crate::buses::CALLDATA_WORD).
//!
//! **Load rows** are received from the CPU's CALLDATALOAD steps on
//! [`CALLDATA_LOAD`](crate::buses::CALLDATA_LOAD) `(context, offset, pushed value)`, offset and
//! value as 16-bit limbs. An offset below 2^29 (limbs 2..16 zero, limb 1 below 2^13) is `32
//! word + k`; the row looks up word A (`word`) and, for `k > 0`, word B (`word + 1`) of its
//! context, and the value is the 32 bytes from byte `k` of A on (a one-hot shift, as the
//! memory chip's unaligned MLOAD). Words past the length exist as rows like any other (all
//! zero), so a load at or past the end pushes zeros. An offset of 2^29 or more (a non-zero
//! high limb, shown by the inverse of their sum, or limb 1 at least 2^13) is past any
//! calldata (lengths are below 2^29) and pushes zero, without the offset entering the field
//! as one number.
//!
//! **What is trusted.** The contents: bytes and length per context are the prover's (the
//! length is the call-context table's CALLDATASIZE value, itself trusted); an inner call's
//! calldata is not yet bound to the caller's memory at the call, nor a transaction's to its
//! input. Bytes of a word that no load of the shard reads are not part of any result; trace
//! generation fills them with zero. CALLDATACOPY's bytes are still trusted memory writes
//! (inside their area, see the memory chip).

pub mod air;
pub mod columns;
pub mod trace;

pub use air::CalldataAir;
