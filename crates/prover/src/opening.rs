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
use p3_field::{ExtensionField, PackedFieldExtension, TwoAdicField, batch_multiplicative_inverse};
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

    // 1 / (z - x) over the tallest coset each point is opened on; shorter ones use a prefix.
    let mut inverse_denominators: Vec<(EF, Vec<EF>)> = Vec::new();
    for round in rounds {
        for (mat, points) in round.matrices.iter().zip(round.points) {
            for &z in points {
                let height = mat.height();
                match inverse_denominators.iter_mut().find(|(p, _)| *p == z) {
                    Some((_, inv)) if inv.len() >= height => {}
                    entry => {
                        let denominators: Vec<EF> =
                            coset[..height].par_iter().map(|&x| z - x).collect();
                        let inv = batch_multiplicative_inverse(&denominators);
                        match entry {
                            Some((_, old)) => *old = inv,
                            None => inverse_denominators.push((z, inv)),
                        }
                    }
                }
            }
        }
    }

    let mut num_reduced = vec![0usize; log_max + 1];
    let mut reduced: Vec<Option<Vec<EF>>> = vec![None; log_max + 1];
    for (round, round_openings) in rounds.iter().zip(opened) {
        for ((mat, points), mat_openings) in
            round.matrices.iter().zip(round.points).zip(round_openings)
        {
            let height = mat.height();
            let log_height = log2_strict_usize(height);
            // f(x) combined over columns: Σ_j α^j f_j(x).
            let combined: Vec<EF> = mat
                .rowwise_packed_dot_product::<EF>(&packed_alpha_powers)
                .collect();
            let acc = reduced[log_height].get_or_insert_with(|| EF::zero_vec(height));
            for (&z, values) in points.iter().zip(mat_openings) {
                let offset = alpha.exp_u64(num_reduced[log_height] as u64);
                let combined_claim: EF =
                    alpha_powers.iter().zip(values).map(|(&a, &v)| a * v).sum();
                let inv = &inverse_denominators
                    .iter()
                    .find(|(p, _)| *p == z)
                    .expect("every point has denominators")
                    .1[..height];
                acc.par_iter_mut()
                    .zip(combined.par_iter())
                    .zip(inv.par_iter())
                    .for_each(|((out, &fx), &d)| *out += offset * (combined_claim - fx) * d);
                num_reduced[log_height] += mat.width;
            }
        }
    }
    reduced.into_iter().rev().flatten().collect()
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

        // Direct: walk (round, matrix, point, column) and give each pair of a height the next power.
        let coset = bit_reversed_coset::<F>(5);
        let mut expected = [vec![EF::ZERO; 32], vec![EF::ZERO; 8]];
        let mut next_power = [EF::ONE, EF::ONE];
        for (round, round_opened) in rounds.iter().zip(&opened) {
            for ((mat, points), mat_opened) in
                round.matrices.iter().zip(round.points).zip(round_opened)
            {
                let slot = usize::from(mat.height() == 8);
                for (&z, values) in points.iter().zip(mat_opened) {
                    for (col, &y) in values.iter().enumerate() {
                        for (row, out) in expected[slot].iter_mut().enumerate() {
                            let fx = mat.values[row * mat.width + col];
                            *out += next_power[slot] * (y - fx) * (z - coset[row]).inverse();
                        }
                        next_power[slot] *= alpha;
                    }
                }
            }
        }
        assert_eq!(reduced[0], expected[0]);
        assert_eq!(reduced[1], expected[1]);
    }
}
