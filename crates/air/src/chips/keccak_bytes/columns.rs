use crate::chips::memory::columns::WORD_BYTES;
use crate::word::impl_columns;

/// Lanes (8 bytes) a row sends: one word's worth.
pub const ROW_LANES: usize = WORD_BYTES / 8;

/// One aligned memory word a hash reads.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BytesCols<T> {
    pub is_real: T,
    /// The next row reads the same hash's next word.
    pub more: T,
    /// The hash: context, timestamp, offset and length (as the sponge has them).
    pub ctx: T,
    pub ts: T,
    pub offset: T,
    pub len: T,
    /// `offset = 32 base + k`, `base = lo + 2^16 hi` below 2^24, `k` one-hot in `shift`.
    pub base: T,
    pub base_lo: T,
    pub base_hi: T,
    pub shift: [T; WORD_BYTES],
    /// This row reads word `base + i` and sends lanes `4 i .. 4 i + 4`.
    pub i: T,
    /// `32 (base + i) = lo + 2^16 off_hi` (the memory op's offset limbs).
    pub off_hi: T,
    /// The word's bytes (byte `j` is memory byte `32 (base + i) + j`).
    pub word: [T; WORD_BYTES],
    /// Lane `4 i + q` is sent, and the lanes' bytes: byte `t` of lane `q` is memory byte
    /// `offset + 8 (4 i + q) + t` (from this word, or the next row's past its end).
    pub lane_on: [T; ROW_LANES],
    pub lanes: [T; WORD_BYTES],
}

impl_columns!(BytesCols, NUM_BYTES_COLS);
