use crate::word::impl_columns;

/// Bytes of a memory word.
pub const WORD_BYTES: usize = 32;

/// One row of the memory table: an access (a CPU memory op or a chunk of a trusted write) or a
/// word's init/final row. Column groups a row kind does not use are zero on it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MemoryCols<T> {
    /// Row kinds (at most one is set; padding rows have none).
    pub is_load: T,
    pub is_store: T,
    pub is_store8: T,
    /// A trusted write's bytes in one word (its step's area is looked up).
    pub is_chunk: T,
    /// A word's init and final tokens (these rows come first, sorted by (context, word)).
    pub is_bound: T,
    pub ctx: T,
    /// Index of the aligned word A (byte address / 32); word B is `word + 1`.
    pub word: T,
    /// `word = word_lo + 2^16 word_hi`, `word_hi < 2^8`.
    pub word_lo: T,
    pub word_hi: T,
    /// Timestamp of the access: its step + 1 (0 on bound rows: the init token's).
    pub ts: T,
    /// One-hot: the access's first byte is byte `k` of word A.
    pub shift: [T; WORD_BYTES],
    /// Word A before and after the access. Bound rows: `new_a` is the initial content (sent with
    /// timestamp 0) and `old_a` the final one (received with timestamp `ts_a`).
    pub old_a: [T; WORD_BYTES],
    pub new_a: [T; WORD_BYTES],
    /// Timestamp of word A's previous token.
    pub ts_a: T,
    /// `ts - ts_a - 1` (accesses), or the key difference to the next bound row; `hi < 2^14`.
    pub da_lo: T,
    pub da_hi: T,
    /// Word B (loads and stores with `k > 0`).
    pub old_b: [T; WORD_BYTES],
    pub new_b: [T; WORD_BYTES],
    pub ts_b: T,
    /// `ts - ts_b - 1` (word B touched), or `32 word - start` (chunks with `start_before`).
    pub db_lo: T,
    pub db_hi: T,
    /// Op rows: the stack value, big-endian bytes. Chunk rows: one-hot of the last byte of word A
    /// inside the written area.
    pub value: [T; WORD_BYTES],
    /// Op rows: the offset's high 16-bit limb (`< 2^13`).
    pub off_hi: T,
    /// Chunk rows: the step's written area `[start, end)`, whether it starts before word A, whether
    /// it ends after it, and `end - 32 word - 32` when it does.
    pub start: T,
    pub end: T,
    pub start_before: T,
    pub end_after: T,
    pub de_lo: T,
    pub de_hi: T,
    /// Bound rows: the initial content is carried in (non-zero; needs `allow_init`).
    pub carried: T,
    /// Bound rows: the next row is a bound row too (its key is larger), and has the same context.
    pub more: T,
    pub same_ctx: T,
    /// Op rows: the context's memory size in words before and after the step (from the CPU),
    /// the step's gas, and whether the access expands memory.
    pub mw: T,
    pub mw_next: T,
    pub cost: T,
    pub expand: T,
    /// `[mw, mw_next]` as `lo + 2^10 hi` (both below 2^10) and `lo^2 = 512 s + r` (`r < 512`),
    /// so `floor(x^2 / 512) = 2^11 hi^2 + 4 lo hi + s`.
    pub sq_lo: [T; 2],
    pub sq_hi: [T; 2],
    pub sq_s: [T; 2],
    pub sq_r: [T; 2],
    /// `32 mw_next - end` (expanding: below 32) or `32 mw - end` (not expanding), `lo + 2^16 hi`.
    pub gap_lo: T,
    pub gap_hi: T,
    /// Expanding: `end - 32 mw - 1 = lo + 2^16 hi`.
    pub grow_lo: T,
    pub grow_hi: T,
    /// Bound rows: the final content is carried out to the next shard (a word of a context alive
    /// at the shard's end), or the word's context ended in the shard (looked up on the CPU's
    /// `context-end` bus); a row with neither ends with zero content.
    pub out: T,
    pub dead: T,
    /// Positions on the `carry` bus of the carried-in token (`carried`) and the carried-out one
    /// (`out`).
    pub pos_in: T,
    pub pos_out: T,
}

impl_columns!(MemoryCols, NUM_MEMORY_COLS);
