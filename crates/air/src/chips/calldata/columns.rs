use crate::word::{LIMBS, impl_columns};

/// Bytes of a calldata word.
pub const WORD_BYTES: usize = 32;

/// One row of the calldata table: a word of a context's calldata (these rows come first,
/// sorted strictly by (context, word)), or a CALLDATALOAD. Column groups a row kind does not
/// use are zero on it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CalldataCols<T> {
    /// Row kinds (at most one is set; padding rows have none).
    pub is_word: T,
    /// A CALLDATALOAD whose offset is below 2^29 (it reads words `word` and `word + 1`).
    pub is_in: T,
    /// A CALLDATALOAD whose offset is 2^29 or more (past any calldata: it pushes zero).
    pub is_big: T,
    pub ctx: T,
    /// Word index (byte offset / 32), `word = word_lo + 2^16 word_hi`, bounded by the lookups
    /// of `word_lo` and `256 word_hi` (so below 2^16 + 2^24).
    pub word: T,
    pub word_lo: T,
    pub word_hi: T,
    /// Word rows: the word's bytes. Loads: word A's.
    pub a: [T; WORD_BYTES],
    /// Word rows: the context's calldata length, `len_lo + 2^16 len_hi` (`len_hi < 2^13`).
    pub len_lo: T,
    pub len_hi: T,
    /// Word rows: byte `i` lies before the length (a prefix of ones).
    pub valid: [T; WORD_BYTES],
    /// Word rows: the length reaches past the word (`valid` all ones) / does not reach into it
    /// (`valid` all zeros); `d_lo + 2^16 d_hi` is `len - 32 word - 32` / `32 word - len`.
    pub full: T,
    pub past: T,
    pub d_lo: T,
    pub d_hi: T,
    /// Word rows: the next row is a word row too (its key is larger), of the same context; the
    /// key gap minus one (`word` or `ctx` difference) as `g_lo + 2^16 g_hi`.
    pub more: T,
    pub same_ctx: T,
    pub g_lo: T,
    pub g_hi: T,
    /// Word rows: lookups of the word by loads.
    pub mult: T,
    /// Loads: the offset item (16-bit limbs, from the CPU), the pushed bytes (big-endian), the
    /// one-hot shift `k` (the offset is `32 word + k`) and word B (`word + 1`).
    pub off: [T; LIMBS],
    pub value: [T; WORD_BYTES],
    pub shift: [T; WORD_BYTES],
    pub b: [T; WORD_BYTES],
    /// Big loads: the offset's limbs 2..16 are not all zero, and the inverse of their sum.
    pub hi_nz: T,
    pub hi_inv: T,
}

impl_columns!(CalldataCols, NUM_CALLDATA_COLS);
