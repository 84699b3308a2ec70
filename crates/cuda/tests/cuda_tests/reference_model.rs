//! Pure-CPU tests: the reference model of the kernels (`slotproof_cuda::reference`, a line-by-line
//! Rust mirror of kernels/*.cu) against Plonky3 on fresh random inputs. They run on every
//! machine and check the arithmetic, constants, twiddle order, NTT pass decomposition, LDE row
//! order and the Merkle tree schedule that the GPU code uses.

use crate::common;

use common::*;
use p3_baby_bear::BabyBear;
use p3_field::extension::BinomialExtensionField;
use p3_field::{BasedVectorSpace, Field};
use p3_koala_bear::KoalaBear;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2::GenericPoseidon2LinearLayers;
use p3_symmetric::Permutation;
use rand::RngExt;
use slotproof_cuda::plan::{DEFAULT_SHARED_BYTES, NttLimits, plan_dif_passes, plan_merkle};
use slotproof_cuda::{DeviceField, reference as model};

/// Small tiles so that multi-pass plans (strided passes with lanes) run at small sizes; tiles
/// below one warp, so shared-memory stages only.
const SMALL_LIMITS: NttLimits = NttLimits {
    max_final_stages: 3,
    max_strided_stages: 2,
    log_lanes: 1,
    max_log_regs: 0,
    max_threads: 32,
};

/// Mid-sized tiles: multi-pass plans from 2^8 rows on, each pass with a warp phase (register
/// and shuffle stages; final passes of up to 7 stages done entirely in one warp's registers),
/// several chunks per warp (64 threads).
const MID_LIMITS: NttLimits = NttLimits {
    max_final_stages: 7,
    max_strided_stages: 5,
    log_lanes: 2,
    max_log_regs: 2,
    max_threads: 64,
};

/// Every plan the tests run through the model: the sm_90 opt-in plan the device uses, the
/// 48 KiB fallback, and the two small ones above.
fn all_limits() -> [NttLimits; 4] {
    [
        NttLimits::DEVICE,
        NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES),
        SMALL_LIMITS,
        MID_LIMITS,
    ]
}

fn layout_is_montgomery<F: TestField>()
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    assert_eq!(core::mem::size_of::<F>(), 4);
    assert_eq!(core::mem::align_of::<F>(), 4);
    assert_eq!(F::PRIME, F::ORDER_U32);
    assert_eq!(F::PRIME.wrapping_mul(F::MONTY_MU), 1);
    let mut rng = rng(F::NAME);
    let xs: Vec<F> = (0..1000).map(|_| rng.random()).collect();
    let words = F::as_words(&xs);
    for (x, &w) in xs.iter().zip(words) {
        // The in-memory word is x * 2^32 mod p ...
        assert_eq!(w, x.to_monty_word());
        assert_eq!(
            u64::from(w),
            (u64::from(x.as_canonical_u32()) << 32) % u64::from(F::PRIME)
        );
        // ... and converts back.
        assert_eq!(F::from_monty_word(w), *x);
    }
    assert_eq!(
        F::as_words(&[F::ONE])[0],
        ((1u64 << 32) % u64::from(F::PRIME)) as u32
    );
    let back = F::vec_from_words(words.to_vec()).unwrap();
    assert_eq!(back, xs);
    assert!(F::vec_from_words(vec![0, F::PRIME]).is_err());
}

#[test]
fn montgomery_layout_matches_plonky3() {
    layout_is_montgomery::<KoalaBear>();
    layout_is_montgomery::<BabyBear>();
}

fn field_ops_match<F: TestField>()
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    let mut pairs: Vec<(F, F)> = (0..20_000).map(|_| (rng.random(), rng.random())).collect();
    // Edge values.
    let edges = [
        F::ZERO,
        F::ONE,
        F::NEG_ONE,
        F::TWO,
        F::from_u32(F::PRIME / 2),
        F::from_u32(F::PRIME / 2 + 1),
    ];
    for &a in &edges {
        for &b in &edges {
            pairs.push((a, b));
        }
    }
    for (a, b) in pairs {
        let (wa, wb) = (a.to_monty_word(), b.to_monty_word());
        assert_eq!(model::add::<F>(wa, wb), (a + b).to_monty_word());
        assert_eq!(model::sub::<F>(wa, wb), (a - b).to_monty_word());
        assert_eq!(model::mul::<F>(wa, wb), (a * b).to_monty_word());
        assert_eq!(model::halve::<F>(wa), a.halve().to_monty_word());
        assert_eq!(
            model::sbox::<F>(wa),
            a.exp_u64(F::POSEIDON2_SBOX_DEGREE).to_monty_word()
        );
    }
}

#[test]
fn base_field_ops_match_plonky3() {
    field_ops_match::<KoalaBear>();
    field_ops_match::<BabyBear>();
}

fn ext_ops_match<F>()
where
    F: TestField + p3_field::extension::BinomiallyExtendable<4>,
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    type E<F> = BinomialExtensionField<F, 4>;
    assert_eq!(
        <F as p3_field::extension::BinomiallyExtendable<4>>::W,
        F::from_u32(F::EXT4_W)
    );
    let mut rng = rng(F::NAME);
    for _ in 0..5000 {
        let a: [F; 4] = core::array::from_fn(|_| rng.random());
        let b: [F; 4] = core::array::from_fn(|_| rng.random());
        let (ea, eb) = (
            E::<F>::from_basis_coefficients_slice(&a).unwrap(),
            E::<F>::from_basis_coefficients_slice(&b).unwrap(),
        );
        let wa = a.map(|x| x.to_monty_word());
        let wb = b.map(|x| x.to_monty_word());
        let words = |e: E<F>| -> [u32; 4] {
            let c: &[F] = e.as_basis_coefficients_slice();
            core::array::from_fn(|i| c[i].to_monty_word())
        };
        assert_eq!(model::ext_mul::<F>(wa, wb), words(ea * eb));
        assert_eq!(model::ext_add::<F>(wa, wb), words(ea + eb));
        assert_eq!(model::ext_sub::<F>(wa, wb), words(ea - eb));
    }
}

#[test]
fn extension_ops_match_plonky3() {
    ext_ops_match::<KoalaBear>();
    ext_ops_match::<BabyBear>();
}

fn internal_layer_is_ones_plus_diag<F: DeviceField, L: GenericPoseidon2LinearLayers<16>>() {
    let c = F::poseidon2_constants();
    for i in 0..16 {
        let mut e = [F::ZERO; 16];
        e[i] = F::ONE;
        L::internal_linear_layer(&mut e);
        for (j, &x) in e.iter().enumerate() {
            let expect = if i == j {
                F::ONE + F::from_monty_word(c.diag[i])
            } else {
                F::ONE
            };
            assert_eq!(x, expect, "internal matrix entry ({j}, {i})");
        }
    }
    assert_eq!(F::from_monty_word(c.diag[0]), -F::TWO);
}

#[test]
fn poseidon2_internal_layer_is_ones_plus_diagonal() {
    internal_layer_is_ones_plus_diag::<
        KoalaBear,
        p3_koala_bear::GenericPoseidon2LinearLayersKoalaBear,
    >();
    internal_layer_is_ones_plus_diag::<BabyBear, p3_baby_bear::GenericPoseidon2LinearLayersBabyBear>(
    );
}

fn poseidon2_matches<F: TestField>()
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let perm = F::default_perm();
    let c = F::poseidon2_constants();
    let mut rng = rng(F::NAME);
    let mut inputs: Vec<[F; 16]> = (0..500)
        .map(|_| core::array::from_fn(|_| rng.random()))
        .collect();
    inputs.push([F::ZERO; 16]);
    inputs.push([F::NEG_ONE; 16]);
    for x in inputs {
        let mut w = x.map(|v| v.to_monty_word());
        model::poseidon2_permute::<F>(&mut w, &c);
        assert_eq!(w, perm.permute(x).map(|v| v.to_monty_word()));
    }
}

#[test]
fn poseidon2_permutation_matches_plonky3() {
    poseidon2_matches::<KoalaBear>();
    poseidon2_matches::<BabyBear>();
}

#[test]
fn twiddles_are_plonky3_roots_of_unity() {
    fn check<F: DeviceField>() {
        for log_n in [1u32, 2, 5, 10] {
            let tw = slotproof_cuda::tables::twiddles::<F>(log_n, false).unwrap();
            let inv = slotproof_cuda::tables::twiddles::<F>(log_n, true).unwrap();
            let g = F::two_adic_generator(log_n as usize);
            assert_eq!(tw.len(), 1 << (log_n - 1));
            for (k, (&w, &wi)) in tw.iter().zip(&inv).enumerate() {
                assert_eq!(F::from_monty_word(w), g.exp_u64(k as u64));
                assert_eq!(F::from_monty_word(w) * F::from_monty_word(wi), F::ONE);
            }
        }
        assert!(slotproof_cuda::tables::twiddles::<F>(F::TWO_ADICITY as u32 + 1, false).is_err());
    }
    check::<KoalaBear>();
    check::<BabyBear>();
}

fn dft_and_idft_match<F: TestField>(max_log: u32)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    for log_n in 0..=max_log {
        let n = 1usize << log_n;
        for width in [1usize, 3] {
            let m: RowMajorMatrix<F> = rand_matrix(&mut rng, n, width);
            for limits in all_limits() {
                let mut cols = columns(&m);
                model::dft_bitrev::<F>(&mut cols, log_n, limits);
                assert_eq!(
                    from_columns::<F>(&cols, n),
                    p3_dft_bitrev(m.clone()),
                    "dft 2^{log_n} x {width} {limits:?}"
                );
                let back = model::idft::<F>(&columns(&m), log_n, limits);
                assert_eq!(
                    from_columns::<F>(&back, n),
                    p3_idft(m.clone()),
                    "idft 2^{log_n} x {width} {limits:?}"
                );
            }
        }
    }
}

#[test]
fn ntt_model_matches_plonky3_dft() {
    dft_and_idft_match::<KoalaBear>(10);
    dft_and_idft_match::<BabyBear>(10);
}

fn dft_and_idft_match_large<F: TestField>(limits: NttLimits, logs: std::ops::RangeInclusive<u32>)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    for log_n in logs {
        let n = 1usize << log_n;
        let width = if log_n <= 16 { 3 } else { 1 };
        let m: RowMajorMatrix<F> = rand_matrix(&mut rng, n, width);
        let mut cols = columns(&m);
        model::dft_bitrev::<F>(&mut cols, log_n, limits);
        assert_eq!(
            from_columns::<F>(&cols, n),
            p3_dft_bitrev(m.clone()),
            "{} dft 2^{log_n} x {width} {limits:?}",
            F::NAME
        );
        let back = model::idft::<F>(&columns(&m), log_n, limits);
        assert_eq!(
            from_columns::<F>(&back, n),
            p3_idft(m),
            "{} idft 2^{log_n} x {width} {limits:?}",
            F::NAME
        );
    }
}

/// The sm_90 plan (two passes from 2^14 rows on: strided 8-lane pass with 8 registers per
/// thread, then the contiguous pass) from 2^11 to 2^20 rows, both fields.
#[test]
fn ntt_model_matches_plonky3_dft_sm90_plan_up_to_2_pow_20() {
    dft_and_idft_match_large::<KoalaBear>(NttLimits::DEVICE, 11..=20);
    dft_and_idft_match_large::<BabyBear>(NttLimits::DEVICE, 11..=20);
}

/// The 48 KiB fallback plan (no opt-in shared memory) from 2^11 to 2^20 rows.
#[test]
fn ntt_model_matches_plonky3_dft_48k_plan_up_to_2_pow_20() {
    let limits = NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES);
    dft_and_idft_match_large::<KoalaBear>(limits, 11..=20);
    dft_and_idft_match_large::<BabyBear>(limits, 11..=20);
}

/// Small plans at sizes where they take 3 to 6 passes, each with a warp phase (MID) or none
/// (SMALL).
#[test]
fn ntt_model_matches_plonky3_dft_many_pass_plans() {
    for limits in [MID_LIMITS, SMALL_LIMITS] {
        assert!(plan_dif_passes(16, limits).len() >= 3);
        dft_and_idft_match_large::<KoalaBear>(limits, 11..=16);
        dft_and_idft_match_large::<BabyBear>(limits, 11..=16);
    }
}

fn lde_matches<F: TestField>(max_log: u32)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    for log_n in 0..=max_log {
        for log_blowup in [0u32, 1, 2, 3] {
            for width in [1usize, 5] {
                let n = 1usize << log_n;
                let m: RowMajorMatrix<F> = rand_matrix(&mut rng, n, width);
                let limits = all_limits()[(log_n + log_blowup) as usize % 4];
                let out = model::coset_lde_bitrev::<F>(
                    &columns(&m),
                    log_n,
                    log_blowup,
                    F::GENERATOR,
                    limits,
                );
                let expect = p3_lde(m, log_blowup as usize, F::GENERATOR);
                assert_eq!(
                    from_columns::<F>(&out, n << log_blowup),
                    expect,
                    "LDE 2^{log_n} x {width}, blowup 2^{log_blowup}"
                );
            }
        }
    }
}

#[test]
fn coset_lde_model_matches_plonky3_bitrev_lde() {
    lde_matches::<KoalaBear>(11);
    lde_matches::<BabyBear>(11);
}

/// The tiled and the simple scatter kernels compute the same map (every output word written).
#[test]
fn tiled_scatter_model_equals_simple_scatter() {
    let mut rng = rng("scatter");
    for log_n in 10..=13u32 {
        for log_blowup in 0..=2u32 {
            let src: Vec<u32> = (0..1usize << log_n)
                .map(|_| rng.random_range(0..KoalaBear::PRIME))
                .collect();
            let (lo, hi, hi_len) = slotproof_cuda::tables::coset_block_tables::<KoalaBear>(
                log_n,
                log_blowup,
                KoalaBear::GENERATOR,
            )
            .unwrap();
            let tiled = model::coset_scatter_tiled_column::<KoalaBear>(
                &src, log_n, log_blowup, &lo, &hi, hi_len,
            );
            let simple = model::coset_scatter_simple_column::<KoalaBear>(
                &src, log_n, log_blowup, &lo, &hi, hi_len,
            );
            assert!(
                tiled.iter().all(|&w| w < KoalaBear::PRIME),
                "unwritten word"
            );
            assert_eq!(tiled, simple, "2^{log_n} blowup 2^{log_blowup}");
        }
    }
}

fn lde_matches_large<F: TestField>(limits: NttLimits)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    for (log_n, log_blowup, width) in [
        (12u32, 3u32, 3usize),
        (13, 1, 2),
        (14, 2, 3),
        (16, 1, 3),
        (18, 2, 1),
        (20, 1, 1),
    ] {
        let m: RowMajorMatrix<F> = rand_matrix(&mut rng, 1 << log_n, width);
        let out =
            model::coset_lde_bitrev::<F>(&columns(&m), log_n, log_blowup, F::GENERATOR, limits);
        assert_eq!(
            from_columns::<F>(&out, 1 << (log_n + log_blowup)),
            p3_lde(m, log_blowup as usize, F::GENERATOR),
            "{} LDE 2^{log_n} x {width} blowup 2^{log_blowup} {limits:?}",
            F::NAME
        );
    }
}

/// Above one coset power table (n > 4096) and through 2^20 rows, with the sm_90 and the 48 KiB
/// plans.
#[test]
fn coset_lde_model_matches_plonky3_up_to_2_pow_20() {
    for limits in [
        NttLimits::DEVICE,
        NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES),
    ] {
        lde_matches_large::<KoalaBear>(limits);
        lde_matches_large::<BabyBear>(limits);
    }
}

fn merkle_matches<F: TestField>()
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    // (height, width) lists in commit order: one matrix, several of the same height, odd widths,
    // widths that are and are not multiples of the rate 8, shorter matrices injected.
    let shapes: &[&[(usize, usize)]] = &[
        &[(1, 1)],
        &[(1, 9)],
        &[(2, 8)],
        &[(16, 3)],
        &[(32, 16), (32, 5)],
        &[(64, 7), (16, 3), (64, 1), (8, 8), (16, 2)],
        &[(4, 3), (32, 11)],
        &[(128, 1), (128, 13), (2, 4)],
    ];
    for shape in shapes {
        let mats: Vec<RowMajorMatrix<F>> = shape
            .iter()
            .map(|&(h, w)| rand_matrix(&mut rng, h, w))
            .collect();
        let plan = plan_merkle(&shape.iter().map(|s| s.0).collect::<Vec<_>>()).unwrap();
        let cols: Vec<Vec<Vec<u32>>> = mats.iter().map(|m| columns(m)).collect();
        let layers =
            model::merkle_layers::<F>(&cols.iter().map(Vec::as_slice).collect::<Vec<_>>(), &plan);
        let num_layers = layers.len();
        let max = 1usize << plan.log_max_height;
        let indices = [0, max - 1, rng.random_range(0..max)];
        for cap_height in 0..4 {
            let eff = cap_height.min(num_layers - 1);
            let cap: Vec<[F; 8]> = layers[num_layers - 1 - eff]
                .iter()
                .map(words_to_digest::<F>)
                .collect();
            let (p3_cap, openings) = F::p3_cap_and_openings(mats.clone(), cap_height, &indices);
            assert_eq!(cap, p3_cap, "cap {shape:?} cap_height {cap_height}");
            // Every digest layer below the cap, through p3's opening paths.
            // Opened rows through the gather mirror (column-major data, one launch per matrix).
            for (mi, m) in mats.iter().enumerate() {
                let flat: Vec<u32> = cols[mi].iter().flatten().copied().collect();
                let got =
                    model::gather_rows(&flat, m.height(), m.width(), plan.log_max_height, &indices);
                for (q, (values, _)) in openings.iter().enumerate() {
                    let row: Vec<F> = got[q * m.width()..(q + 1) * m.width()]
                        .iter()
                        .map(|&w| F::from_monty_word(w))
                        .collect();
                    assert_eq!(row, values[mi], "opened row of matrix {mi} {shape:?}");
                }
            }
            for (&index, (_, path)) in indices.iter().zip(&openings) {
                assert_eq!(path.len(), num_layers - 1 - eff);
                for (k, sibling) in path.iter().enumerate() {
                    assert_eq!(
                        words_to_digest::<F>(&layers[k][(index >> k) ^ 1]),
                        *sibling,
                        "layer {k} {shape:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn merkle_model_matches_plonky3_mmcs() {
    merkle_matches::<KoalaBear>();
    merkle_matches::<BabyBear>();
}

/// The model's leaf hash is p3's PaddingFreeSponge<Perm16, 16, 8, 8> for every input length.
#[test]
fn leaf_sponge_matches_plonky3_for_all_small_lengths() {
    use p3_symmetric::{CryptographicHasher, PaddingFreeSponge};
    let mut rng = rng("sponge");
    let perm = KoalaBear::default_perm();
    let sponge = PaddingFreeSponge::<_, 16, 8, 8>::new(perm);
    let c = KoalaBear::poseidon2_constants();
    for len in 0..=33usize {
        let row: Vec<KoalaBear> = (0..len).map(|_| rng.random()).collect();
        // As one matrix with `len` columns and, split, as two matrices.
        let one: Vec<Vec<u32>> = row.iter().map(|x| vec![x.to_monty_word()]).collect();
        let split = len / 3;
        let (a, b) = one.split_at(split);
        let expect = sponge.hash_iter(row.iter().copied());
        assert_eq!(
            words_to_digest::<KoalaBear>(&model::hash_row::<KoalaBear>(&[&one], 0, &c)),
            expect
        );
        assert_eq!(
            words_to_digest::<KoalaBear>(&model::hash_row::<KoalaBear>(&[a, b], 0, &c)),
            expect
        );
    }
}
