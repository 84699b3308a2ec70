use core::borrow::Borrow;

use p3_air::{BaseAir, WindowAccess};
use p3_field::Field;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use super::columns::{NUM_RANGE_COLS, RangeCols};
use crate::buses;

/// The range table of `0..2^bits` (8: the byte bus, 16: the u16 bus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeAir {
    pub bits: u32,
}

impl RangeAir {
    pub const BYTE: Self = Self { bits: 8 };
    pub const U16: Self = Self { bits: 16 };

    pub fn rows(&self) -> usize {
        1 << self.bits
    }

    /// The fixed column: row `v` holds `v`.
    pub fn values<F: Field>(&self) -> RowMajorMatrix<F> {
        RowMajorMatrix::new_col((0..self.rows()).map(F::from_usize).collect())
    }
}

impl<F: Field> BaseAir<F> for RangeAir {
    fn width(&self) -> usize {
        NUM_RANGE_COLS
    }
    /// The values are a preprocessed column: committed once in the verifying key, so the
    /// prover cannot change them and no constraint has to pin them.
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        Some(self.values())
    }
    fn preprocessed_width(&self) -> usize {
        1
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl RangeAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let value = builder.preprocessed().current_slice()[0];
        let main = builder.main();
        let local: &RangeCols<AB::Var> = main.current_slice().borrow();
        let bus = if self.bits == 8 {
            buses::BYTE
        } else {
            buses::U16
        };
        bus.table_entry(builder, [value], local.mult);
    }
}
