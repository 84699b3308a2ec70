use crate::word::impl_columns;

/// The main trace of a range table; its values are the preprocessed column (row `v` holds `v`,
/// see [`super::RangeAir::values`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RangeCols<T> {
    /// How many lookups of the row's value the other chips make.
    pub mult: T,
}

impl_columns!(RangeCols, NUM_RANGE_COLS);
