use crate::word::impl_columns;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BitwiseCols<T> {
    pub x_bits: [T; 8],
    pub y_bits: [T; 8],
    pub mult: T,
}

impl_columns!(BitwiseCols, NUM_BITWISE_COLS);
