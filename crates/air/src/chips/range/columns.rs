use crate::word::impl_columns;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeCols<T> {
    /// The value provided on this row (the row index).
    pub value: T,
    /// How many lookups of `value` the other chips make.
    pub mult: T,
}

impl_columns!(RangeCols, NUM_RANGE_COLS);

/// The u16 table's byte-pair columns, after [`RangeCols`]: row `v` also provides the pair
/// `(v mod 256, v / 256)` on the byte-pair bus.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BytePairCols<T> {
    /// `v / 256` (the low byte is `v - 256 hi`).
    pub hi: T,
    /// The low byte is 255 (so the next row's hi is one more).
    pub is_end: T,
    /// How many lookups of the pair the other chips make.
    pub pair_mult: T,
}

impl_columns!(BytePairCols, NUM_BYTE_PAIR_COLS);
