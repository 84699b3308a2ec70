use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

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
}

impl<F> BaseAir<F> for RangeAir {
    fn width(&self) -> usize {
        NUM_RANGE_COLS
    }
}

impl RangeAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let local: &RangeCols<AB::Var> = main.current_slice().borrow();
        let next: &RangeCols<AB::Var> = main.next_slice().borrow();
        builder.when_first_row().assert_zero(local.value);
        builder
            .when_transition()
            .assert_eq(next.value, local.value.into() + AB::Expr::ONE);
        builder
            .when_last_row()
            .assert_eq(local.value, AB::Expr::from_u32((1u32 << self.bits) - 1));
        let bus = if self.bits == 8 {
            buses::BYTE
        } else {
            buses::U16
        };
        bus.table_entry(builder, [local.value], local.mult);
    }
}
