//! The Horner table on the memory bus (design §1): α-reductions of opened base values, four
//! values a row, `acc' = acc·α⁴ + α³·p₀ + α²·p₁ + α·p₂ + p₃` in the degree-4 extension.
//!
//! One reduction ([`HornerOp`]) is a chain of consecutive rows: the first starts from a zero
//! accumulator, each next row continues from the previous row's `acc'`, and the last writes its
//! `acc'` to the op's output address. Every row reads α and its four values from memory; the
//! values are read as base words `(v, 0, 0, 0)`. The program (addresses and the chain flags) is
//! preprocessed. Each row carries α², α³, α⁴, checked against α, so every constraint has degree
//! 2.
//!
//! Rows per reduction: `⌈n / 4⌉` for `n` values, against `n` `Alu` rows for the same sum done
//! with `mul_add`.

use super::padded_rows;
use std::sync::Arc;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::horner::assert_horner_step;
use super::program::MEMORY_BUS;
use crate::config::{Challenge, Val};

const D: usize = 4;
/// Values per row.
pub const HORNER_LANES: usize = 4;

/// Main columns: acc, α, α², α³, α⁴ (a word each), the four values, acc', and the output's
/// multiplicity.
pub const HORNER_BUS_WIDTH: usize = 5 * D + HORNER_LANES + D + 1;
/// Preprocessed columns: is_real, starts, ends, addr_α, addr_p₀..addr_p₃, addr_out.
pub const HORNER_BUS_PREPROCESSED_WIDTH: usize = 4 + HORNER_LANES + 1;

const IS_REAL: usize = 0;
const STARTS: usize = 1;
const ENDS: usize = 2;
const ADDR_ALPHA: usize = 3;
const ADDR_VALUES: usize = 4;
const ADDR_OUT: usize = ADDR_VALUES + HORNER_LANES;

/// One α-reduction: `Σ_k α^(n−1−k)·values[k]` (values in the order they are folded in), written
/// to `out`. The value addresses are `Program::horner_values[start..start + len]`; `len` is a
/// positive multiple of four (a builder pads with zeros in front, which leaves the sum
/// unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HornerOp {
    pub alpha: u32,
    pub start: u32,
    pub len: u32,
    pub out: u32,
}

impl HornerOp {
    /// The addresses of its values, in `values` (the program's value list).
    pub fn values<'a>(&self, values: &'a [u32]) -> &'a [u32] {
        &values[self.start as usize..(self.start + self.len) as usize]
    }
}

/// The Horner table, with its program as preprocessed columns.
#[derive(Clone, Debug)]
pub struct HornerBusAir {
    preprocessed: Arc<RowMajorMatrix<Val>>,
}

fn word(v: Challenge) -> [Val; D] {
    let c = v.as_basis_coefficients_slice();
    [c[0], c[1], c[2], c[3]]
}

/// Rows the reductions take.
pub fn horner_rows<'a>(ops: impl IntoIterator<Item = &'a HornerOp>) -> usize {
    ops.into_iter()
        .map(|op| op.len as usize / HORNER_LANES)
        .sum()
}

impl HornerBusAir {
    /// The table for these reductions, in order (`addresses`: the program's value list).
    /// `rows`: the table's height (at least the reductions' rows, a power of two).
    pub fn new(ops: &[HornerOp], addresses: &[u32], rows: usize) -> Self {
        debug_assert!(rows >= padded_rows(horner_rows(ops)));
        let mut values = vec![Val::ZERO; rows * HORNER_BUS_PREPROCESSED_WIDTH];
        let mut r = 0;
        for op in ops {
            let n = op.len as usize / HORNER_LANES;
            for (i, chunk) in op.values(addresses).chunks_exact(HORNER_LANES).enumerate() {
                let row = &mut values[r * HORNER_BUS_PREPROCESSED_WIDTH..]
                    [..HORNER_BUS_PREPROCESSED_WIDTH];
                row[IS_REAL] = Val::ONE;
                row[STARTS] = Val::from_bool(i == 0);
                row[ENDS] = Val::from_bool(i + 1 == n);
                row[ADDR_ALPHA] = Val::from_u32(op.alpha);
                for (slot, &addr) in row[ADDR_VALUES..ADDR_OUT].iter_mut().zip(chunk) {
                    *slot = Val::from_u32(addr);
                }
                // Only the last row writes; the others' output address is never read.
                row[ADDR_OUT] = if i + 1 == n {
                    Val::from_u32(op.out)
                } else {
                    Val::ZERO
                };
                r += 1;
            }
        }
        Self {
            preprocessed: Arc::new(RowMajorMatrix::new(values, HORNER_BUS_PREPROCESSED_WIDTH)),
        }
    }

    /// The main trace: `reductions[i]` is op `i`'s α, its values and the multiplicity of its
    /// output (the number of reads).
    pub fn trace(reductions: &[(Challenge, Vec<Val>, u64)], height: usize) -> RowMajorMatrix<Val> {
        let used: usize = reductions
            .iter()
            .map(|(_, v, _)| v.len() / HORNER_LANES)
            .sum();
        debug_assert!(height >= padded_rows(used));
        let mut rows = vec![Val::ZERO; height * HORNER_BUS_WIDTH];
        let mut r = 0;
        for (alpha, values, reads) in reductions {
            let powers = [
                *alpha,
                *alpha * *alpha,
                *alpha * *alpha * *alpha,
                alpha.exp_u64(4),
            ];
            let n = values.len() / HORNER_LANES;
            let mut acc = Challenge::ZERO;
            for (i, p) in values.chunks_exact(HORNER_LANES).enumerate() {
                let out = acc * powers[3]
                    + powers[2] * p[0]
                    + powers[1] * p[1]
                    + powers[0] * p[2]
                    + Challenge::from(p[3]);
                let row = &mut rows[r * HORNER_BUS_WIDTH..][..HORNER_BUS_WIDTH];
                for (k, x) in [acc, powers[0], powers[1], powers[2], powers[3]]
                    .into_iter()
                    .enumerate()
                {
                    row[k * D..(k + 1) * D].copy_from_slice(&word(x));
                }
                row[5 * D..5 * D + HORNER_LANES].copy_from_slice(p);
                row[5 * D + HORNER_LANES..5 * D + HORNER_LANES + D].copy_from_slice(&word(out));
                row[HORNER_BUS_WIDTH - 1] = if i + 1 == n {
                    Val::from_u64(*reads)
                } else {
                    Val::ZERO
                };
                acc = out;
                r += 1;
            }
        }
        RowMajorMatrix::new(rows, HORNER_BUS_WIDTH)
    }
}

/// `Σ_k α^(n−1−k)·values[k]`, natively (the value a [`HornerOp`] writes).
pub fn horner_value(alpha: Challenge, values: &[Val]) -> Challenge {
    values
        .iter()
        .fold(Challenge::ZERO, |acc, &v| acc * alpha + Challenge::from(v))
}

impl BaseAir<Val> for HornerBusAir {
    fn width(&self) -> usize {
        HORNER_BUS_WIDTH
    }

    fn preprocessed_width(&self) -> usize {
        HORNER_BUS_PREPROCESSED_WIDTH
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some((*self.preprocessed).clone())
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        // The next row's accumulator.
        (0..D).collect()
    }

    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        vec![IS_REAL, STARTS]
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for HornerBusAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let local: Vec<AB::Var> = main.current_slice().to_vec();
        let next_acc: Vec<AB::Expr> = main.next_slice()[..D].iter().map(|&v| v.into()).collect();
        let prep = builder.preprocessed();
        let fixed: Vec<AB::Var> = prep.current_slice().to_vec();
        let fixed_next: Vec<AB::Expr> = prep.next_slice().iter().map(|&v| v.into()).collect();

        let row: Vec<AB::Expr> = local.iter().map(|&v| v.into()).collect();
        let w_at = |i: usize| &row[i * D..(i + 1) * D];
        let (acc, alpha) = (w_at(0), w_at(1));
        let values = &row[5 * D..5 * D + HORNER_LANES];
        let out = &row[5 * D + HORNER_LANES..5 * D + HORNER_LANES + D];
        let out_multiplicity = local[HORNER_BUS_WIDTH - 1];

        // The row's first columns are the plain Horner table's layout.
        assert_horner_step(builder, &row[..5 * D + HORNER_LANES + D]);

        // A chain starts from zero; a row that continues one starts from the previous `acc'`.
        let starts: AB::Expr = fixed[STARTS].into();
        for a in acc {
            builder.assert_zero(starts.clone() * a.clone());
        }
        let next_continues = fixed_next[IS_REAL].clone() - fixed_next[STARTS].clone();
        let mut transition = builder.when_transition();
        for k in 0..D {
            transition.assert_zero(next_continues.clone() * (next_acc[k].clone() - out[k].clone()));
        }
        // Only a chain's last row writes its result.
        let ends: AB::Expr = fixed[ENDS].into();
        builder.assert_zero((AB::Expr::ONE - ends) * out_multiplicity);

        let is_real: AB::Expr = fixed[IS_REAL].into();
        let alpha_key = core::iter::once(fixed[ADDR_ALPHA].into()).chain(alpha.iter().cloned());
        MEMORY_BUS.lookup_key(builder, alpha_key, Count::bounded(is_real.clone(), 1));
        for (k, p) in values.iter().enumerate() {
            let key: [AB::Expr; 1 + D] = [
                fixed[ADDR_VALUES + k].into(),
                p.clone(),
                AB::Expr::ZERO,
                AB::Expr::ZERO,
                AB::Expr::ZERO,
            ];
            MEMORY_BUS.lookup_key(builder, key, Count::bounded(is_real.clone(), 1));
        }
        let out_key = core::iter::once(fixed[ADDR_OUT].into()).chain(out.iter().cloned());
        MEMORY_BUS.table_entry(builder, out_key, out_multiplicity);
    }
}
