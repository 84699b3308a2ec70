//! The Horner table (design §1): one row folds one packed word of four opened base values into
//! an α-reduction accumulator, `acc' = acc·α⁴ + α³·p₀ + α²·p₁ + α·p₂ + p₃` in the degree-4
//! extension. The row carries α, α², α³, α⁴ (each checked against the previous) so every
//! constraint has degree 2. The program (one preprocessed column) marks the rows that continue
//! the previous row's reduction: there `acc` must be the previous row's `acc'`.

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::extension::BinomiallyExtendable;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;
use std::sync::Arc;

use crate::config::{Challenge, Val};

const D: usize = 4;
/// Columns: acc, α, α², α³, α⁴ (4 each), the four base values, acc'.
pub const HORNER_WIDTH: usize = 5 * D + D + D;

/// The Horner table, with its chaining program.
#[derive(Clone, Debug)]
pub struct HornerAir {
    /// Preprocessed `[continues]` per row.
    chain: Arc<RowMajorMatrix<Val>>,
}

/// `x·y` in `F[X]/(X⁴ − W)`, as expressions.
pub(crate) fn ext_mul<E: PrimeCharacteristicRing + Clone>(x: &[E], y: &[E], w: &E) -> [E; D] {
    core::array::from_fn(|k| {
        let mut low = E::ZERO;
        let mut high = E::ZERO;
        for (i, xi) in x.iter().enumerate() {
            for (j, yj) in y.iter().enumerate() {
                if i + j == k {
                    low += xi.clone() * yj.clone();
                } else if i + j == k + D {
                    high += xi.clone() * yj.clone();
                }
            }
        }
        low + w.clone() * high
    })
}

impl BaseAir<Val> for HornerAir {
    fn width(&self) -> usize {
        HORNER_WIDTH
    }

    fn preprocessed_width(&self) -> usize {
        1
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some((*self.chain).clone())
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        // The next row's accumulator.
        (0..D).collect()
    }

    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        vec![0]
    }
}

/// The constraints of one Horner row laid out as `[acc, α, α², α³, α⁴, p₀..p₃, acc']` (a word
/// each, the values base): the powers follow from α, and
/// `acc' = acc·α⁴ + α³·p₀ + α²·p₁ + α·p₂ + p₃`. Shared by this table and the bus one.
pub(crate) fn assert_horner_step<AB: AirBuilder<F = Val>>(builder: &mut AB, row: &[AB::Expr]) {
    let word = |i: usize| &row[i * D..(i + 1) * D];
    let (acc, alpha, alpha2, alpha3, alpha4) = (word(0), word(1), word(2), word(3), word(4));
    let values = word(5);
    let out = word(6);
    let w: AB::Expr = <Val as BinomiallyExtendable<D>>::W.into();
    for (power, prev) in [(alpha2, alpha), (alpha3, alpha2), (alpha4, alpha3)] {
        let expected = ext_mul(prev, alpha, &w);
        for k in 0..D {
            builder.assert_eq(power[k].clone(), expected[k].clone());
        }
    }
    let mut expected = ext_mul(acc, alpha4, &w);
    // α³·p₀ + α²·p₁ + α·p₂ + p₃, each p a base value scaling every coordinate.
    for (power, p) in [alpha3, alpha2, alpha].into_iter().zip(values) {
        for k in 0..D {
            expected[k] += power[k].clone() * p.clone();
        }
    }
    expected[0] += values[3].clone();
    for k in 0..D {
        builder.assert_eq(out[k].clone(), expected[k].clone());
    }
}

impl<AB: AirBuilder<F = Val>> Air<AB> for HornerAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let row: Vec<AB::Expr> = main.current_slice().iter().map(|&v| v.into()).collect();
        assert_horner_step(builder, &row);
        let out = &row[6 * D..7 * D];

        // A continuing next row starts from this row's result.
        let next_acc: Vec<AB::Expr> = main.next_slice()[..D].iter().map(|&v| v.into()).collect();
        let continues: AB::Expr = builder.preprocessed().next_slice()[0].into();
        let mut transition = builder.when_transition();
        for k in 0..D {
            transition.assert_zero(continues.clone() * (next_acc[k].clone() - out[k].clone()));
        }
    }
}

impl HornerAir {
    /// The table for one reduction of `values` (a word, four values, per row): every row after
    /// the first continues it; padding rows do not.
    pub fn for_reduction(num_values: usize) -> Self {
        let rows = num_values.div_ceil(D);
        let total = rows.next_power_of_two().max(super::MIN_TABLE_ROWS);
        let chain = (0..total)
            .map(|r| Val::from_bool(r > 0 && r < rows))
            .collect();
        Self {
            chain: Arc::new(RowMajorMatrix::new_col(chain)),
        }
    }

    /// The rows reducing `values` (a multiple of four) with `alpha`, starting from `acc`, and
    /// the final accumulator; padded with rows that fold zeros into a zero accumulator.
    pub fn trace(
        alpha: Challenge,
        acc: Challenge,
        values: &[Val],
    ) -> (RowMajorMatrix<Val>, Challenge) {
        let powers = [
            alpha,
            alpha * alpha,
            alpha * alpha * alpha,
            alpha.exp_u64(4),
        ];
        let mut rows = Vec::new();
        let mut acc = acc;
        for chunk in values.chunks(D) {
            let p: [Val; D] = core::array::from_fn(|k| chunk.get(k).copied().unwrap_or(Val::ZERO));
            let out = acc * powers[3]
                + powers[2] * p[0]
                + powers[1] * p[1]
                + powers[0] * p[2]
                + Challenge::from(p[3]);
            for x in [acc, powers[0], powers[1], powers[2], powers[3]] {
                rows.extend_from_slice(x.as_basis_coefficients_slice());
            }
            rows.extend_from_slice(&p);
            rows.extend_from_slice(out.as_basis_coefficients_slice());
            acc = out;
        }
        let n = (values.len().div_ceil(D))
            .next_power_of_two()
            .max(super::MIN_TABLE_ROWS);
        while rows.len() < n * HORNER_WIDTH {
            // acc = 0, α = 0 (so all powers 0), values 0, out 0.
            rows.extend(core::iter::repeat_n(Val::ZERO, HORNER_WIDTH));
        }
        (RowMajorMatrix::new(rows, HORNER_WIDTH), acc)
    }
}
