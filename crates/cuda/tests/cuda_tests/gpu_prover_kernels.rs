//! GPU tests of the proving kernels against the prover's CPU code and Plonky3, bit for bit: the
//! quotient interpreter on every EVM chip and the prover's test AIRs, quotient chunking, PoW
//! grinding (the CPU's smallest witness), FRI folding and FRI commit rounds. Every buffer the
//! backend allocates is poisoned (0xFFFF_FFFF), so unwritten outputs fail the download check.
//! Without a usable GPU (or a build without kernels) each test prints `SKIP ...` and passes.

use crate::common;
use crate::kernel_inputs;

use common::checked_backend as backend;

macro_rules! gpu_tests {
    ($module:ident, $name:literal) => {
        mod $module {
            use super::backend;
            use super::common::rng;
            use super::kernel_inputs::$module::*;
            use p3_challenger::{CanObserve, GrindingChallenger};
            use p3_commit::{Mmcs, PolynomialSpace};
            use p3_field::coset::TwoAdicMultiplicativeCoset;
            use p3_field::{Field, PrimeCharacteristicRing};
            use p3_fri::{FriFoldingStrategy, TwoAdicFriFolding};
            use p3_matrix::Matrix;
            use p3_matrix::dense::RowMajorMatrix;
            use rand::RngExt;
            use slotproof_cuda::pow::PowSearch;
            use slotproof_cuda::{DeviceField, DeviceMatrix};
            use slotproof_prover::field::{Challenger, fri_components};
            use slotproof_prover::{FriSettings, ProverField};

            fn matrix(b: &slotproof_cuda::CudaBackend, m: &RowMajorMatrix<F>) -> DeviceMatrix<F> {
                let buf = b.upload_words(&column_words(m)).unwrap();
                DeviceMatrix::from_buffer(buf, m.height(), m.width()).unwrap()
            }

            fn quotient_kernel_matches_prover(airs: Vec<CompiledAir>, tag: &str) {
                let Some(b) = backend(tag) else { return };
                let mut rng = rng(tag);
                for air in &airs {
                    // Smaller traces and thread counts on the stand-in (kernels on the CPU).
                    let sizes = crate::common::gpu_or_standin(
                        [(3, 0, 5), (10, 1, 1 << 16), (12, 0, 1000)],
                        [(3, 0, 5), (6, 1, 1 << 8), (8, 0, 100)],
                    );
                    for (log_trace, extra, threads) in sizes {
                        let case = random_case(&mut rng, air, log_trace, extra);
                        let (program, env, domain) = case.device_inputs(air);
                        let main = matrix(&b, &case.main);
                        let perm = case.perm.as_ref().map(|m| matrix(&b, m));
                        let q = b
                            .quotient_values::<F>(
                                &program,
                                &env,
                                &domain,
                                &main,
                                perm.as_ref(),
                                threads,
                            )
                            .unwrap();
                        let got = b.download_words(q.buffer()).unwrap();
                        assert_eq!(
                            got,
                            case.cpu_quotient(air),
                            "{tag} {}: log_trace {log_trace}",
                            air.name
                        );
                        // Chunking, as the prover's commit_quotients splits the values.
                        let log_chunks = air.log_quotient_chunks as u32;
                        let split = b.split_quotient(&q, log_chunks).unwrap();
                        let values = RowMajorMatrix::new(
                            (0..1usize << case.log_quotient)
                                .flat_map(|i| (0..4).map(move |k| (i, k)))
                                .map(|(i, k)| {
                                    F::from_monty_word(got[k * (1 << case.log_quotient) + i])
                                })
                                .collect(),
                            4,
                        );
                        let qd = TwoAdicMultiplicativeCoset::new(F::GENERATOR, case.log_quotient)
                            .unwrap();
                        let chunks = qd.split_evals(1 << log_chunks, values);
                        let split_words = b.download_words(split.buffer()).unwrap();
                        let expected: Vec<u32> = chunks.iter().flat_map(column_words).collect();
                        assert_eq!(split_words, expected, "{tag} {}: split", air.name);
                    }
                }
            }

            #[test]
            fn quotient_kernel_matches_prover_on_evm_chips() {
                quotient_kernel_matches_prover(
                    evm_programs(10),
                    concat!("gpu quotient evm ", $name),
                );
            }

            #[test]
            fn quotient_kernel_matches_prover_on_test_airs() {
                quotient_kernel_matches_prover(
                    test_air_programs(10),
                    concat!("gpu quotient test AIRs ", $name),
                );
            }

            #[test]
            fn pow_kernel_returns_the_cpu_witness() {
                let tag = concat!("gpu pow ", $name);
                let Some(b) = backend(tag) else { return };
                let mut rng = rng(tag);
                for buffered in [0usize, 3, 7] {
                    let mut ch = Challenger::<F>::new(F::default_poseidon2_16());
                    for _ in 0..(16 + buffered) {
                        ch.observe(rng.random::<F>());
                    }
                    let search = PowSearch::for_challenger(ch.duplex()).unwrap();
                    // The stand-in searches on the CPU: at most 12 bits there.
                    let all_bits: &[usize] =
                        crate::common::gpu_or_standin(&[1, 8, 16, 20], &[1, 8, 12]);
                    for &bits in all_bits {
                        let expected = ch.clone().grind(bits);
                        let got: F = b.grind_smallest(&search, bits).unwrap();
                        assert_eq!(got, expected, "{buffered} buffered, {bits} bits");
                    }
                }
            }

            #[test]
            fn openings_match_prover() {
                let tag = concat!("gpu openings ", $name);
                let Some(b) = backend(tag) else { return };
                let mut rng = rng(tag);
                let OpeningCase {
                    log_blowup,
                    mats,
                    points,
                    opened,
                    alpha,
                    heights,
                    reduced,
                } = opening_case(&mut rng, &[(14, 3), (10, 2), (14, 1), (3, 4)]);
                let dev: Vec<DeviceMatrix<F>> = mats.iter().map(|m| matrix(&b, m)).collect();
                for ((m, pts), values) in dev.iter().zip(&points).zip(&opened) {
                    for (&z, v) in pts.iter().zip(values) {
                        assert_eq!(&b.evaluate_at_point::<F, EF>(m, log_blowup, z).unwrap(), v);
                    }
                }
                for (&height, expected) in heights.iter().zip(&reduced) {
                    let acc = b.upload_words(&vec![0u32; 4 * height]).unwrap();
                    let mut num_reduced = 0;
                    for ((m, pts), values) in dev.iter().zip(&points).zip(&opened) {
                        if m.height() != height {
                            continue;
                        }
                        for (&z, v) in pts.iter().zip(values) {
                            b.reduce_opening::<F, EF>(&acc, m, z, v, alpha, num_reduced)
                                .unwrap();
                            num_reduced += m.width();
                        }
                    }
                    assert_eq!(
                        b.download_words(&acc).unwrap(),
                        ext_words(expected),
                        "height {height}"
                    );
                }
            }

            #[test]
            fn fri_fold_and_commit_match_plonky3() {
                let tag = concat!("gpu fri ", $name);
                let Some(b) = backend(tag) else { return };
                let mut rng = rng(tag);
                let folding: p3_fri::TwoAdicFriFoldingForMmcs<
                    F,
                    slotproof_prover::field::ValMmcs<F>,
                > = TwoAdicFriFolding(core::marker::PhantomData);
                let (_, fri) = fri_components::<F>(&FriSettings::DEFAULT);
                for (log_len, log_arity) in [(1usize, 1usize), (12, 1), (14, 2), (13, 3)] {
                    let codeword: Vec<EF> = (0..1 << log_len).map(|_| rng.random()).collect();
                    let roll: Vec<EF> = (0..1 << (log_len - log_arity))
                        .map(|_| rng.random())
                        .collect();
                    let beta: EF = rng.random();
                    let mut expected = FriFoldingStrategy::<F, EF>::fold_matrix(
                        &folding,
                        beta,
                        log_arity,
                        RowMajorMatrix::new(codeword.clone(), 1 << log_arity),
                    );
                    let cw = b.upload_words(&ext_words(&codeword)).unwrap();
                    let folded = b.fri_fold::<F, EF>(&cw, log_arity, beta, None).unwrap();
                    assert_eq!(b.download_words(&folded).unwrap(), ext_words(&expected));
                    let beta_pow = beta.exp_power_of_2(log_arity);
                    for (x, v) in expected.iter_mut().zip(&roll) {
                        *x += beta_pow * *v;
                    }
                    let roll_buf = b.upload_words(&ext_words(&roll)).unwrap();
                    let folded = b
                        .fri_fold::<F, EF>(&cw, log_arity, beta, Some(&roll_buf))
                        .unwrap();
                    assert_eq!(
                        b.download_words(&folded).unwrap(),
                        ext_words(&expected),
                        "roll-in"
                    );
                    // The round's commitment equals p3's ExtensionMmcs commit of the codeword.
                    let (_, tree) = b.fri_commit_round::<F>(&cw, log_arity, 0).unwrap();
                    let (cap, _) = fri
                        .mmcs
                        .commit_matrix(RowMajorMatrix::new(codeword.clone(), 1 << log_arity));
                    let cap_words: Vec<[F; 8]> = cap.roots().to_vec();
                    assert_eq!(
                        tree.cap(&b).unwrap(),
                        cap_words,
                        "2^{log_len} by 2^{log_arity}"
                    );
                }
            }
        }
    };
}

gpu_tests!(kb, "KoalaBear");
gpu_tests!(bb, "BabyBear");
