//! The extension-field ALU table: each row is `out = a·b + c` in `F[X]/(X⁴ − W)`, every operand
//! as its four base coordinates. Addition (`a·1 + c`), multiplication (`a·b + 0`), subtraction
//! and inverse checks (`a·a⁻¹ + 0 = 1`) are this one row shape with some operands fixed; which
//! operand is fixed, and the memory addresses, are the preprocessed program (not yet here).

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::extension::BinomiallyExtendable;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;

use crate::config::{Challenge, Val};

/// Extension degree.
const D: usize = 4;
/// Columns: a, b, c, out.
pub const EXT_ALU_WIDTH: usize = 4 * D;

/// The ExtAlu table.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExtAluAir;

impl BaseAir<Val> for ExtAluAir {
    fn width(&self) -> usize {
        EXT_ALU_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for ExtAluAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let row = main.current_slice();
        let (a, b, c, out) = (&row[..D], &row[D..2 * D], &row[2 * D..3 * D], &row[3 * D..]);
        assert_mul_add(builder, a, b, c, out);
    }
}

/// Constrain `out = a·b + c` in `F[X]/(X⁴ − W)`, each operand as its four coordinates:
/// `(a·b)_k = Σ_{i+j=k} a_i b_j + W · Σ_{i+j=k+4} a_i b_j`.
pub fn assert_mul_add<AB: AirBuilder<F = Val>>(
    builder: &mut AB,
    a: &[AB::Var],
    b: &[AB::Var],
    c: &[AB::Var],
    out: &[AB::Var],
) {
    let w: AB::Expr = <Val as BinomiallyExtendable<D>>::W.into();
    for k in 0..D {
        let mut low = AB::Expr::ZERO;
        let mut high = AB::Expr::ZERO;
        for (i, &ai) in a.iter().enumerate() {
            for (j, &bj) in b.iter().enumerate() {
                let term = ai.into() * bj.into();
                if i + j == k {
                    low += term;
                } else if i + j == k + D {
                    high += term;
                }
            }
        }
        builder.assert_eq(out[k], low + w.clone() * high + c[k].into());
    }
}

impl ExtAluAir {
    /// The trace of these `(a, b, c)` operations, `out` computed, padded with zero rows (which
    /// satisfy `0 = 0·0 + 0`) to a power of two of at least 4 rows.
    pub fn trace(ops: &[(Challenge, Challenge, Challenge)]) -> RowMajorMatrix<Val> {
        let rows = ops.len().next_power_of_two().max(super::MIN_TABLE_ROWS);
        let mut values = Vec::with_capacity(rows * EXT_ALU_WIDTH);
        for &(a, b, c) in ops {
            for x in [a, b, c, a * b + c] {
                values.extend_from_slice(x.as_basis_coefficients_slice());
            }
        }
        values.resize(rows * EXT_ALU_WIDTH, Val::ZERO);
        RowMajorMatrix::new(values, EXT_ALU_WIDTH)
    }
}
