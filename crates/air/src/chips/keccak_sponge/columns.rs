use crate::word::impl_columns;

/// Bytes a block absorbs (the rate of Keccak-256).
pub const RATE: usize = 136;
/// Lanes (8 bytes) a block absorbs.
pub const RATE_LANES: usize = RATE / 8;
/// 16-bit limbs of the rate part of the state.
pub const RATE_LIMBS: usize = RATE / 2;
/// 16-bit limbs of the capacity part of the state.
pub const CAPACITY_LIMBS: usize = 100 - RATE_LIMBS;
/// Bytes of the digest.
pub const DIGEST_BYTES: usize = 32;

/// One absorbed block of one hash. Padding rows are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SpongeCols<T> {
    pub is_real: T,
    /// The hash's first block (its state before is zero).
    pub is_first: T,
    /// The hash's last block (it holds the padding and sends the digest).
    pub is_last: T,
    /// The hash: its consumer's context and timestamp, the hashed bytes' offset and length.
    pub ctx: T,
    pub ts: T,
    pub offset: T,
    pub len: T,
    /// Index of the block in its hash; the message bytes still to absorb are `len - 136 block`.
    pub block: T,
    /// Not the last block: `len - 136 block - 136 = lo + 2^16 hi` (`hi < 2^14`).
    pub rem_lo: T,
    pub rem_hi: T,
    /// The state before the block: the rate part as bytes (byte `j` of the state), the capacity
    /// part as 16-bit limbs (limbs 68..100).
    pub state_bytes: [T; RATE],
    pub capacity: [T; CAPACITY_LIMBS],
    /// Message bytes of the block (as received; only those before the length count).
    pub msg: [T; RATE],
    /// Last block: one-hot at the first byte past the message (the `0x01` of the padding).
    pub pad_at: [T; RATE],
    /// The padded block's bytes: message bytes before the length, then `0x01`, zeros, and `0x80`
    /// added to the last byte.
    pub padded: [T; RATE],
    /// `state_bytes AND padded`, byte by byte (so the XOR is `x + y - 2 (x AND y)`).
    pub and: [T; RATE],
    /// The state after the permutation, 16-bit limbs.
    pub state_out: [T; 100],
    /// Last block: the bytes of the first 32 bytes of `state_out` (the digest).
    pub digest: [T; DIGEST_BYTES],
    /// Last block: the gas of the hash's step and its memory (see [`GasCols`]).
    pub gas: GasCols<T>,
}

/// The KECCAK256 step's gas `30 + 6 words + 3 (w' - w) + floor(w'^2 / 512) - floor(w^2 / 512)`
/// and memory size, on a hash's last block (zero elsewhere).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GasCols<T> {
    /// The context's memory size in words before and after the step, and the step's gas.
    pub mw: T,
    pub mw_next: T,
    pub cost: T,
    /// The length is not zero (only then does memory grow), with the inverse of the length.
    pub has_len: T,
    pub len_inv: T,
    /// `words = ceil(len / 32)`: `32 words - len < 32`.
    pub words: T,
    pub word_pad: T,
    /// The area `[offset, offset + len)` ends past `32 mw`.
    pub expand: T,
    /// `32 mw_next - end` (expanding: below 32) or `32 mw - end` (not), `lo + 2^16 hi`.
    pub gap_lo: T,
    pub gap_hi: T,
    /// Expanding: `end - 32 mw - 1 = lo + 2^16 hi`.
    pub grow_lo: T,
    pub grow_hi: T,
    /// `[mw, mw_next]` as `lo + 2^10 hi` and `lo^2 = 512 s + r` (as in the memory chip).
    pub sq_lo: [T; 2],
    pub sq_hi: [T; 2],
    pub sq_s: [T; 2],
    pub sq_r: [T; 2],
}

impl_columns!(SpongeCols, NUM_SPONGE_COLS);
