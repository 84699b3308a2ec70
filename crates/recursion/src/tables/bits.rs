//! The bit-decomposition table: each row decomposes a base-field value into its 31 bits, and
//! **only the canonical decomposition is accepted**. For KoalaBear (`p = 2^31 − 2^24 + 1`)
//! every value below `2^31 − p` also has a second 31-bit decomposition, `v + p`, which sets
//! bits 24..30; a query index read from it would be the prover's choice. The table rules it
//! out: if bits 24..30 are all one, bits 0..23 must all be zero (that is, the decomposition is
//! at most `p − 1`).
//!
//! Columns: `value`, bits `b0..b30`, and the running products `h24..h30` of bits 24..30
//! (`h24 = b24`, `h_i = h_{i−1}·b_i`), which keep every constraint at degree 2.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{PrimeCharacteristicRing, PrimeField64};
use p3_matrix::dense::RowMajorMatrix;

use crate::config::Val;

/// Bits of a KoalaBear element.
pub const NUM_BITS: usize = 31;
/// The first bit of the run that, all ones, forces the low bits to zero.
const HIGH_START: usize = 24;
const NUM_HIGH: usize = NUM_BITS - HIGH_START;
/// Columns: value, bits, running products of the high bits.
pub const BITS_WIDTH: usize = 1 + NUM_BITS + NUM_HIGH;

/// The bit-decomposition table.
#[derive(Clone, Copy, Debug, Default)]
pub struct BitsAir;

impl BaseAir<Val> for BitsAir {
    fn width(&self) -> usize {
        BITS_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for BitsAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let row = main.current_slice();
        let value = row[0];
        let bits = &row[1..1 + NUM_BITS];
        let high = &row[1 + NUM_BITS..];

        let mut recomposed = AB::Expr::ZERO;
        for (i, &b) in bits.iter().enumerate() {
            builder.assert_bool(b);
            recomposed += b.into() * AB::Expr::from(Val::from_u64(1 << i));
        }
        builder.assert_eq(value, recomposed);

        builder.assert_eq(high[0], bits[HIGH_START]);
        for i in 1..NUM_HIGH {
            builder.assert_eq(high[i], high[i - 1].into() * bits[HIGH_START + i].into());
        }
        let low_sum = bits[..HIGH_START]
            .iter()
            .fold(AB::Expr::ZERO, |acc, &b| acc + b.into());
        // All high bits one ⇒ no low bit set (the sum of 24 bits cannot wrap mod p).
        builder.assert_zero(high[NUM_HIGH - 1].into() * low_sum);
    }
}

impl BitsAir {
    /// One row: `value`, the given 31 bits, and their high-bit running products. The bits
    /// need not be `value`'s canonical ones (for tests of the canonicity constraint).
    pub fn row(value: Val, bits: [bool; NUM_BITS]) -> [Val; BITS_WIDTH] {
        let mut row = [Val::ZERO; BITS_WIDTH];
        row[0] = value;
        for (i, &b) in bits.iter().enumerate() {
            row[1 + i] = Val::from_bool(b);
        }
        let mut h = true;
        for i in 0..NUM_HIGH {
            h &= bits[HIGH_START + i];
            row[1 + NUM_BITS + i] = Val::from_bool(h);
        }
        row
    }

    /// The canonical bits of `value`.
    pub fn canonical_bits(value: Val) -> [bool; NUM_BITS] {
        let v = value.as_canonical_u64();
        core::array::from_fn(|i| (v >> i) & 1 == 1)
    }

    /// The trace decomposing `values` canonically, padded with zero rows to a power of two of
    /// at least 4 rows.
    pub fn trace(values: &[Val]) -> RowMajorMatrix<Val> {
        let rows = values.len().next_power_of_two().max(super::MIN_TABLE_ROWS);
        let mut out = Vec::with_capacity(rows * BITS_WIDTH);
        for &v in values {
            out.extend(Self::row(v, Self::canonical_bits(v)));
        }
        out.resize(rows * BITS_WIDTH, Val::ZERO);
        RowMajorMatrix::new(out, BITS_WIDTH)
    }
}
