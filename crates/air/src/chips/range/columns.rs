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
