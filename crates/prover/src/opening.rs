//! CPU reference of the opening argument's two data-parallel passes: evaluating committed LDEs
//! at out-of-domain points, and the α-reduction that batches all claims into one codeword per
//! LDE height for FRI.
//!
//! Both passes are exact field arithmetic, so any correct formula gives Plonky3's bytes; the
//! formulas here are chosen to be simple to port to a kernel.
//!
//! Layout conventions (those of `TwoAdicFriPcs`): a committed matrix of height `H` holds the
//! evaluations of its columns on the coset `g·⟨ω_H⟩` (`g = F::GENERATOR`) in bit-reversed row
//! order. Its first `h = H >> log_blowup` rows are then the evaluations on `g·⟨ω_h⟩`, again
//! bit-reversed, which determine the polynomial.

use p3_commit::OpenedValues;
use p3_field::{
    ExtensionField, PackedFieldExtension, PackedValue, PrimeCharacteristicRing, TwoAdicField,
    batch_multiplicative_inverse, batch_multiplicative_inverse_general, invert_packed_extension,
};
use p3_matrix::Matrix;
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixView};
use p3_maybe_rayon::prelude::*;
use p3_util::{log2_strict_usize, reverse_slice_index_bits};

/// The matrices of one commitment round and the points each is opened at.
pub struct RoundMatrices<'a, F, EF> {
    pub matrices: Vec<&'a RowMajorMatrix<F>>,
    pub points: &'a [Vec<EF>],
}

/// `g·⟨ω_n⟩` in bit-reversed order; its first `m` entries are `g·⟨ω_m⟩`, bit-reversed.
fn bit_reversed_coset<F: TwoAdicField>(log_n: usize) -> Vec<F> {
    let omega = F::two_adic_generator(log_n);
    let mut points: Vec<F> = omega
        .shifted_powers(F::GENERATOR)
        .take(1 << log_n)
        .collect();
    reverse_slice_index_bits(&mut points);
    points
}

fn max_log_height<F: p3_field::Field, EF>(rounds: &[RoundMatrices<'_, F, EF>]) -> usize {
    rounds
        .iter()
        .flat_map(|r| r.matrices.iter().map(|m| m.height()))
        .max()
        .map_or(0, log2_strict_usize)
}

/// Every matrix evaluated at each of its points: `[round][matrix][point][column]`.
///
/// Barycentric form on the coset `g·⟨ω_h⟩` with vanishing polynomial `Z(X) = X^h - g^h`:
/// `p(z) = Z(z) / (h·g^h) · Σ_i x_i / (z - x_i) · p(x_i)`.
pub fn evaluate_at_points<F, EF>(
    rounds: &[RoundMatrices<'_, F, EF>],
    log_blowup: usize,
) -> OpenedValues<EF>
where
    F: TwoAdicField,
    EF: ExtensionField<F>,
{
    let coset = bit_reversed_coset::<F>(max_log_height(rounds));
    // Weights depend only on (point, h); they are shared by every matrix of that size.
    let mut weight_cache: Vec<(EF, usize, Vec<EF>)> = Vec::new();
    rounds
        .iter()
        .map(|round| {
            round
                .matrices
                .iter()
                .zip(round.points)
                .map(|(mat, points)| {
                    let height = mat.height();
                    let h = height >> log_blowup;
                    let low = RowMajorMatrixView::new(&mat.values[..h * mat.width], mat.width);
                    points
                        .iter()
                        .map(|&z| {
                            let cached = weight_cache
                                .iter()
                                .position(|(p, size, _)| *p == z && *size == h);
                            let idx = cached.unwrap_or_else(|| {
                                weight_cache.push((z, h, barycentric_weights(&coset[..h], z)));
                                weight_cache.len() - 1
                            });
                            low.columnwise_dot_product(&weight_cache[idx].2)
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// `L_i(z) = Z(z)·x_i / (h·g^h·(z - x_i))` for the `h` points `xs` of `g·⟨ω_h⟩`.
fn barycentric_weights<F: TwoAdicField, EF: ExtensionField<F>>(xs: &[F], z: EF) -> Vec<EF> {
    let h = xs.len();
    let g_pow_h = F::GENERATOR.exp_power_of_2(log2_strict_usize(h));
    let vanishing_at_z = z.exp_power_of_2(log2_strict_usize(h)) - g_pow_h;
    let scale = vanishing_at_z * (F::from_usize(h) * g_pow_h).inverse();
    let denominators: Vec<EF> = xs.par_iter().map(|&x| z - x).collect();
    let inverses = batch_multiplicative_inverse(&denominators);
    xs.par_iter()
        .zip(inverses.par_iter())
        .map(|(&x, &inv)| scale * inv * x)
        .collect()
}

/// The α-reduced codewords FRI is run on, tallest first: for each LDE height `H` present,
///
/// `R_H(x) = Σ_k α^k · (y_k - f_k(x)) / (z_k - x)`
///
/// over every (column `f_k`, point `z_k`) pair of every matrix of height `H`, with `k` counting
/// columns in round, matrix, point, column order (restarting at 0 for each height).
///
/// The sum is regrouped by point (field arithmetic is exact, so any grouping gives the same
/// codewords): with `c_m(x) = Σ_j α^j f_{m,j}(x)` and `o_{m,z}` the power of α at which matrix
/// `m`'s claims at `z` start, `R_H(x) = Σ_z (C_z - Σ_m α^{o_{m,z}} c_m(x)) / (z - x)` where
/// `C_z = Σ_m α^{o_{m,z}} Σ_j α^j y_{m,z,j}`. Each matrix is then read once whatever its points,
/// each point divides once per row, and rows are processed `F::Packing::WIDTH` at a time.
pub fn reduce_openings<F, EF>(
    rounds: &[RoundMatrices<'_, F, EF>],
    opened: &OpenedValues<EF>,
    alpha: EF,
) -> Vec<Vec<EF>>
where
    F: TwoAdicField,
    EF: ExtensionField<F>,
{
    let log_max = max_log_height(rounds);
    let coset = bit_reversed_coset::<F>(log_max);
    let max_width = rounds
        .iter()
        .flat_map(|r| r.matrices.iter().map(|m| m.width))
        .max()
        .unwrap_or(0);
    let alpha_powers: Vec<EF> = alpha.powers().take(max_width).collect();
    let packed_alpha_powers: Vec<EF::ExtensionPacking> =
        EF::ExtensionPacking::packed_ext_powers_capped(alpha, max_width).collect();

    // Per height: the matrices (with the group and α offset of each of their points) and the
    // groups (one per distinct point: its combined claim `C_z`).
    let mut heights: Vec<HeightTerms<'_, F, EF>> =
        (0..=log_max).map(|_| HeightTerms::default()).collect();
    let mut num_reduced = vec![0usize; log_max + 1];
    // Each point's tallest height: its inverse denominators are made once, at that height.
    let mut point_heights: Vec<(EF, usize)> = Vec::new();
    for (round, round_openings) in rounds.iter().zip(opened) {
        for ((mat, points), mat_openings) in
            round.matrices.iter().zip(round.points).zip(round_openings)
        {
            let height = mat.height();
            let log_height = log2_strict_usize(height);
            let terms = &mut heights[log_height];
            let mut offsets = Vec::with_capacity(points.len());
            for (&z, values) in points.iter().zip(mat_openings) {
                let offset = alpha.exp_u64(num_reduced[log_height] as u64);
                let claim: EF = alpha_powers.iter().zip(values).map(|(&a, &v)| a * v).sum();
                let group = match terms.groups.iter().position(|(p, _)| *p == z) {
                    Some(g) => g,
                    None => {
                        terms.groups.push((z, EF::ZERO));
                        terms.groups.len() - 1
                    }
                };
                terms.groups[group].1 += offset * claim;
                offsets.push((group, offset));
                num_reduced[log_height] += mat.width;
                match point_heights.iter_mut().find(|(p, _)| *p == z) {
                    Some((_, h)) => *h = (*h).max(height),
                    None => point_heights.push((z, height)),
                }
            }
            terms.matrices.push((*mat, offsets));
        }
    }

    let width = F::Packing::WIDTH;
    // 1 / (z - x) over the tallest coset each point is opened on (packed rows); shorter
    // heights use a prefix (the bit-reversed coset's prefixes are the smaller cosets).
    let inverses: Vec<(EF, Vec<EF::ExtensionPacking>)> = point_heights
        .iter()
        .filter(|(_, h)| h % width == 0)
        .map(|&(z, h)| (z, packed_inverse_denominators::<F, EF>(&coset[..h], z)))
        .collect();

    let mut reduced = Vec::new();
    for (log_height, terms) in heights.iter().enumerate().rev() {
        if terms.matrices.is_empty() {
            continue;
        }
        let height = 1 << log_height;
        let mut out = EF::zero_vec(height);
        if height % width == 0 {
            reduce_height_packed::<F, EF>(
                terms,
                &inverses,
                &alpha_powers,
                &packed_alpha_powers,
                &mut out,
            );
        } else {
            reduce_height_scalar::<F, EF>(terms, &coset[..height], &alpha_powers, &mut out);
        }
        reduced.push(out);
    }
    reduced
}

/// A matrix with, per point it is opened at, its group and its α offset.
type MatrixTerms<'a, F, EF> = (&'a RowMajorMatrix<F>, Vec<(usize, EF)>);

/// The terms of the α-reduction at one LDE height.
struct HeightTerms<'a, F, EF> {
    matrices: Vec<MatrixTerms<'a, F, EF>>,
    /// Each distinct point with its combined claim `C_z`.
    groups: Vec<(EF, EF)>,
}

impl<F, EF> Default for HeightTerms<'_, F, EF> {
    fn default() -> Self {
        Self {
            matrices: Vec::new(),
            groups: Vec::new(),
        }
    }
}

/// `1 / (z - x)` for the points `xs` (a multiple of the packing width), packed by rows:
/// Montgomery's trick on packed values, one packed inversion per chunk.
fn packed_inverse_denominators<F: TwoAdicField, EF: ExtensionField<F>>(
    xs: &[F],
    z: EF,
) -> Vec<EF::ExtensionPacking> {
    const CHUNK: usize = 256;
    let z_packed = EF::ExtensionPacking::from(z);
    let denominators: Vec<EF::ExtensionPacking> = xs
        .par_chunks_exact(F::Packing::WIDTH)
        .map(|x| z_packed - EF::ExtensionPacking::from(*F::Packing::from_slice(x)))
        .collect();
    let mut inverses = vec![EF::ExtensionPacking::ZERO; denominators.len()];
    denominators
        .par_chunks(CHUNK)
        .zip(inverses.par_chunks_mut(CHUNK))
        .for_each(|(d, out)| {
            batch_multiplicative_inverse_general(d, out, invert_packed_extension::<F, EF>)
        });
    inverses
}

/// Rows this many packed rows at a time per parallel task.
const PACKED_ROWS_PER_TASK: usize = 64;

/// One height's codeword, `F::Packing::WIDTH` rows at a time (the height is a multiple of it).
fn reduce_height_packed<F: TwoAdicField, EF: ExtensionField<F>>(
    terms: &HeightTerms<'_, F, EF>,
    inverses: &[(EF, Vec<EF::ExtensionPacking>)],
    alpha_powers: &[EF],
    packed_alpha_powers: &[EF::ExtensionPacking],
    out: &mut [EF],
) {
    let width = F::Packing::WIDTH;
    // α^j in every lane, for the vertically packed narrow matrices.
    let alpha_powers_flat: Vec<EF::ExtensionPacking> = alpha_powers
        .iter()
        .map(|&a| EF::ExtensionPacking::from(a))
        .collect();
    // A wide matrix is combined row by row with horizontally packed columns; a narrow one
    // (where that would be mostly padding) with vertically packed rows, in the loop below.
    let combined: Vec<Option<Vec<EF>>> = terms
        .matrices
        .iter()
        .map(|(mat, _)| {
            (mat.width > width).then(|| {
                mat.rowwise_packed_dot_product::<EF>(packed_alpha_powers)
                    .collect()
            })
        })
        .collect();
    let offsets: Vec<Vec<(usize, EF::ExtensionPacking)>> = terms
        .matrices
        .iter()
        .map(|(_, pts)| {
            pts.iter()
                .map(|&(g, o)| (g, EF::ExtensionPacking::from(o)))
                .collect()
        })
        .collect();
    let groups: Vec<(EF::ExtensionPacking, &[EF::ExtensionPacking])> = terms
        .groups
        .iter()
        .map(|&(z, claim)| {
            let inv = &inverses
                .iter()
                .find(|(p, _)| *p == z)
                .expect("every point has denominators")
                .1;
            (EF::ExtensionPacking::from(claim), &inv[..])
        })
        .collect();

    out.par_chunks_mut(width * PACKED_ROWS_PER_TASK)
        .enumerate()
        .for_each(|(task, chunk)| {
            let mut sums = vec![EF::ExtensionPacking::ZERO; groups.len()];
            for (k, rows) in chunk.chunks_exact_mut(width).enumerate() {
                let block = task * PACKED_ROWS_PER_TASK + k;
                let r = block * width;
                sums.iter_mut()
                    .for_each(|s| *s = EF::ExtensionPacking::ZERO);
                for (((mat, _), comb), offs) in terms.matrices.iter().zip(&combined).zip(&offsets) {
                    let c = match comb {
                        Some(c) => EF::ExtensionPacking::from_ext_slice(&c[r..r + width]),
                        None => {
                            let w = mat.width;
                            let values = &mat.values[r * w..(r + width) * w];
                            let mut acc = EF::ExtensionPacking::ZERO;
                            for (col, &a) in alpha_powers_flat[..w].iter().enumerate() {
                                acc += a * F::Packing::from_fn(|lane| values[lane * w + col]);
                            }
                            acc
                        }
                    };
                    for &(g, o) in offs {
                        sums[g] += o * c;
                    }
                }
                let mut acc = EF::ExtensionPacking::ZERO;
                for ((claim, inv), s) in groups.iter().zip(&sums) {
                    acc += (*claim - *s) * inv[block];
                }
                for (out, v) in rows
                    .iter_mut()
                    .zip(EF::ExtensionPacking::to_ext_iter([acc]))
                {
                    *out = v;
                }
            }
        });
}

/// One height's codeword, row by row (a height below the packing width).
fn reduce_height_scalar<F: TwoAdicField, EF: ExtensionField<F>>(
    terms: &HeightTerms<'_, F, EF>,
    xs: &[F],
    alpha_powers: &[EF],
    out: &mut [EF],
) {
    for (row, out) in out.iter_mut().enumerate() {
        let mut sums = vec![EF::ZERO; terms.groups.len()];
        for (mat, offs) in &terms.matrices {
            let c: EF = alpha_powers
                .iter()
                .zip(mat.row_slice(row).expect("row in range").iter())
                .map(|(&a, &f)| a * f)
                .sum();
            for &(g, o) in offs {
                sums[g] += o * c;
            }
        }
        *out = terms
            .groups
            .iter()
            .zip(&sums)
            .map(|(&(z, claim), &s)| (claim - s) * (z - xs[row]).inverse())
            .sum();
    }
}

#[cfg(test)]
mod tests {
    use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};
    use p3_koala_bear::KoalaBear;

    use super::*;
    use crate::field::Challenge;
    use crate::tests::TestRng;

    type F = KoalaBear;
    type EF = Challenge<F>;

    fn horner<T>(coeffs: &[F], x: T) -> T
    where
        T: PrimeCharacteristicRing + Copy + core::ops::Mul<F, Output = T> + From<F>,
    {
        coeffs
            .iter()
            .rev()
            .fold(T::ZERO, |acc, &c| acc * x + T::from(c))
    }

    /// `width` random polynomials of degree `< 2^log_degree`, as a committed-style LDE:
    /// evaluations on `g·⟨ω_H⟩`, `H = 2^(log_degree + log_blowup)`, bit-reversed rows.
    fn random_lde(
        rng: &mut TestRng,
        log_degree: usize,
        log_blowup: usize,
        width: usize,
    ) -> (Vec<Vec<F>>, RowMajorMatrix<F>) {
        let polys: Vec<Vec<F>> = (0..width)
            .map(|_| {
                (0..1 << log_degree)
                    .map(|_| F::from_u64(rng.next_u64() % (1 << 30)))
                    .collect()
            })
            .collect();
        let coset = bit_reversed_coset::<F>(log_degree + log_blowup);
        let values = coset
            .iter()
            .flat_map(|&x| polys.iter().map(move |p| horner(p, x)))
            .collect();
        (polys, RowMajorMatrix::new(values, width))
    }

    fn random_ext(rng: &mut TestRng) -> EF {
        EF::from_basis_coefficients_fn(|_| F::from_u64(rng.next_u64() % (1 << 30)))
    }

    #[test]
    fn evaluations_match_the_polynomials() {
        let mut rng = TestRng::new(7);
        let (polys_a, lde_a) = random_lde(&mut rng, 5, 1, 3);
        let (polys_b, lde_b) = random_lde(&mut rng, 3, 1, 2);
        let (z1, z2) = (random_ext(&mut rng), random_ext(&mut rng));
        let points = [vec![z1, z2], vec![z1]];
        let rounds = [RoundMatrices {
            matrices: vec![&lde_a, &lde_b],
            points: &points,
        }];
        let opened = evaluate_at_points(&rounds, 1);
        for (k, p) in polys_a.iter().enumerate() {
            assert_eq!(opened[0][0][0][k], horner(p, z1));
            assert_eq!(opened[0][0][1][k], horner(p, z2));
        }
        for (k, p) in polys_b.iter().enumerate() {
            assert_eq!(opened[0][1][0][k], horner(p, z1));
        }
    }

    /// The α-reduction by its definition: walk (round, matrix, point, column) and give each
    /// pair of a height the next power of α. One codeword per height, tallest first.
    fn reduce_directly(
        rounds: &[RoundMatrices<'_, F, EF>],
        opened: &OpenedValues<EF>,
        alpha: EF,
    ) -> Vec<Vec<EF>> {
        let log_max = max_log_height(rounds);
        let coset = bit_reversed_coset::<F>(log_max);
        let mut expected: Vec<Option<Vec<EF>>> = vec![None; log_max + 1];
        let mut next_power = vec![EF::ONE; log_max + 1];
        for (round, round_opened) in rounds.iter().zip(opened) {
            for ((mat, points), mat_opened) in
                round.matrices.iter().zip(round.points).zip(round_opened)
            {
                let log_h = log2_strict_usize(mat.height());
                let acc = expected[log_h].get_or_insert_with(|| vec![EF::ZERO; mat.height()]);
                for (&z, values) in points.iter().zip(mat_opened) {
                    for (col, &y) in values.iter().enumerate() {
                        for (row, out) in acc.iter_mut().enumerate() {
                            let fx = mat.values[row * mat.width + col];
                            *out += next_power[log_h] * (y - fx) * (z - coset[row]).inverse();
                        }
                        next_power[log_h] *= alpha;
                    }
                }
            }
        }
        expected.into_iter().rev().flatten().collect()
    }

    #[test]
    fn reduction_matches_its_definition() {
        let mut rng = TestRng::new(8);
        let (_, tall) = random_lde(&mut rng, 4, 1, 3);
        let (_, short) = random_lde(&mut rng, 2, 1, 2);
        let (z1, z2, alpha) = (
            random_ext(&mut rng),
            random_ext(&mut rng),
            random_ext(&mut rng),
        );
        let round0_points = [vec![z1, z2]];
        let round1_points = [vec![z1], vec![z2]];
        let rounds = [
            RoundMatrices {
                matrices: vec![&tall],
                points: &round0_points,
            },
            RoundMatrices {
                matrices: vec![&short, &tall],
                points: &round1_points,
            },
        ];
        let opened = evaluate_at_points(&rounds, 1);
        let reduced = reduce_openings(&rounds, &opened, alpha);
        assert_eq!(reduced.len(), 2, "one codeword per height");
        assert_eq!(reduced, reduce_directly(&rounds, &opened, alpha));
    }

    /// Heights above and below the packing width, matrices narrower and wider than it (the
    /// two ways a row block is combined), points shared across heights and rounds.
    #[test]
    fn regrouped_reduction_matches_its_definition_on_packed_heights() {
        let mut rng = TestRng::new(9);
        let (_, wide) = random_lde(&mut rng, 6, 2, 37);
        let (_, narrow) = random_lde(&mut rng, 6, 2, 2);
        let (_, mid) = random_lde(&mut rng, 3, 2, 5);
        let (_, tiny) = random_lde(&mut rng, 1, 2, 3);
        let (z1, z2, z3, alpha) = (
            random_ext(&mut rng),
            random_ext(&mut rng),
            random_ext(&mut rng),
            random_ext(&mut rng),
        );
        let round0_points = [vec![z1, z2], vec![z1], vec![z3, z1]];
        let round1_points = [vec![z1], vec![z2, z1], vec![z2]];
        let rounds = [
            RoundMatrices {
                matrices: vec![&wide, &mid, &narrow],
                points: &round0_points,
            },
            RoundMatrices {
                matrices: vec![&narrow, &tiny, &wide],
                points: &round1_points,
            },
        ];
        let opened = evaluate_at_points(&rounds, 2);
        let reduced = reduce_openings(&rounds, &opened, alpha);
        assert_eq!(reduced.len(), 3, "one codeword per height");
        assert_eq!(reduced, reduce_directly(&rounds, &opened, alpha));
    }
}
