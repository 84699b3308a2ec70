use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::columns::{BytePairCols, NUM_BYTE_PAIR_COLS, NUM_RANGE_COLS, RangeCols};
use crate::buses;

/// The range table of `0..2^bits` (8: the byte bus, 16: the u16 bus and the byte-pair bus).
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

    /// Whether this table also provides the byte pairs (the u16 table).
    pub fn has_pairs(&self) -> bool {
        self.bits == 16
    }
}

impl<F> BaseAir<F> for RangeAir {
    fn width(&self) -> usize {
        NUM_RANGE_COLS
            + if self.has_pairs() {
                NUM_BYTE_PAIR_COLS
            } else {
                0
            }
    }
}

impl RangeAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let (cur, nxt) = (main.current_slice(), main.next_slice());
        let local: &RangeCols<AB::Var> = cur[..NUM_RANGE_COLS].borrow();
        let next: &RangeCols<AB::Var> = nxt[..NUM_RANGE_COLS].borrow();
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
        if !self.has_pairs() {
            return;
        }
        // hi starts at 0, ends at 255 and steps by one (is_end) only after a row whose low
        // byte `value - 256 hi` is 255. With one row per value, the 255 steps then fall
        // exactly every 256 rows, so the low byte runs 0..=255 under every hi. (A flag column
        // rather than `(next.hi - hi) (lo - 255)` keeps every constraint of degree 2.)
        let pl: &BytePairCols<AB::Var> = cur[NUM_RANGE_COLS..].borrow();
        let pn: &BytePairCols<AB::Var> = nxt[NUM_RANGE_COLS..].borrow();
        let lo: AB::Expr = local.value.into() - pl.hi.into() * AB::Expr::from_u32(256);
        builder.when_first_row().assert_zero(pl.hi);
        builder
            .when_last_row()
            .assert_eq(pl.hi, AB::Expr::from_u32(255));
        builder.assert_bool(pl.is_end);
        builder.assert_zero(pl.is_end.into() * (lo.clone() - AB::Expr::from_u32(255)));
        builder
            .when_transition()
            .assert_eq(pn.hi, pl.hi.into() + pl.is_end.into());
        buses::BYTE_PAIR.table_entry(builder, [lo, pl.hi.into()], pl.pair_mult);
    }
}
