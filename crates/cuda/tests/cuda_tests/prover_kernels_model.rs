//! The reference models of the proving kernels (`slotproof_cuda::model`) against the prover's
//! CPU code and Plonky3, bit for bit, on random inputs, for KoalaBear and BabyBear. Runs on every
//! machine; gpu_prover_kernels.rs compares the kernels themselves on a GPU.

use crate::common;
use crate::kernel_inputs;

macro_rules! model_tests {
    ($module:ident, $name:literal) => {
        mod $module {
            use super::common::rng;
            use super::kernel_inputs::$module::*;
            use p3_challenger::{CanObserve, GrindingChallenger};
            use p3_commit::PolynomialSpace;
            use p3_field::coset::TwoAdicMultiplicativeCoset;
            use p3_field::{Field, PrimeCharacteristicRing};
            use p3_fri::{FriFoldingStrategy, TwoAdicFriFolding};
            use p3_matrix::Matrix;
            use p3_matrix::dense::RowMajorMatrix;
            use rand::RngExt;
            use slotproof_cuda::DeviceField;
            use slotproof_cuda::fri::FoldSchedule;
            use slotproof_cuda::model;
            use slotproof_cuda::model::quotient::ColumnsView;
            use slotproof_cuda::pow::PowSearch;
            use slotproof_cuda::quotient::DeviceProgram;
            use slotproof_prover::ProverField;
            use slotproof_prover::field::Challenger;

            fn model_quotient(air: &CompiledAir, case: &QuotientCase, threads: usize) -> Vec<u32> {
                let (program, env, domain) = case.device_inputs(air);
                let main = column_words(&case.main);
                let perm = case.perm.as_ref().map(column_words);
                let stride = case.main.height();
                model::quotient::quotient_eval::<F>(
                    &program,
                    &env,
                    &domain,
                    ColumnsView {
                        data: &main,
                        stride,
                    },
                    perm.as_deref().map(|data| ColumnsView { data, stride }),
                    threads,
                )
            }

            fn quotient_model_matches_prover(airs: Vec<CompiledAir>, tag: &str) {
                let mut rng = rng(tag);
                for air in &airs {
                    // Fewer threads than rows (grid-stride loop), and more; LDEs as tall as the
                    // quotient domain, and taller.
                    for (log_trace, extra, threads) in [(3, 0, 5), (4, 1, 1 << 10)] {
                        let case = random_case(&mut rng, air, log_trace, extra);
                        let expected = case.cpu_quotient(air);
                        let got = model_quotient(air, &case, threads);
                        assert_eq!(
                            got, expected,
                            "{tag} {}: log_trace {log_trace}, {threads} threads",
                            air.name
                        );
                    }
                }
            }

            #[test]
            fn quotient_model_matches_prover_on_evm_chips() {
                quotient_model_matches_prover(evm_programs(4), concat!("evm chips ", $name));
            }

            #[test]
            fn quotient_model_matches_prover_on_keccak_chips() {
                quotient_model_matches_prover(keccak_programs(4), concat!("keccak chips ", $name));
            }

            #[test]
            fn quotient_model_matches_prover_on_test_airs() {
                quotient_model_matches_prover(test_air_programs(4), concat!("test AIRs ", $name));
            }

            /// Lowering keeps the register files no larger than the compiled program's and adds
            /// one accumulate per constraint.
            #[test]
            fn lowering_reuses_registers() {
                for air in evm_programs(4) {
                    let lowered = DeviceProgram::lower(&air.program).unwrap();
                    let accs = lowered.instructions.iter().filter(|i| i[0] >= 19).count();
                    assert_eq!(accs, air.program.num_constraints(), "{}", air.name);
                    assert!(lowered.num_base_regs <= air.program.num_base_registers);
                    assert!(lowered.num_ext_regs <= air.program.num_ext_registers);
                    eprintln!(
                        "{}: {} instructions, registers {} base + {} ext -> {} + {}",
                        air.name,
                        air.program.instructions.len(),
                        air.program.num_base_registers,
                        air.program.num_ext_registers,
                        lowered.num_base_regs,
                        lowered.num_ext_regs
                    );
                }
            }

            /// The planner's register file (computed without lowering, so that CPU builds can
            /// plan) is the lowered program's on every EVM chip and test AIR.
            #[test]
            fn planned_register_file_is_the_lowered_one() {
                use slotproof_cuda::memory::{TableShape, table_shape};
                use slotproof_prover::device_memory::register_file_words;
                for air in evm_programs(4).into_iter().chain(test_air_programs(4)) {
                    let lowered = DeviceProgram::lower(&air.program).unwrap();
                    assert_eq!(
                        register_file_words(&air.program).unwrap(),
                        lowered.scratch_words_per_thread(),
                        "{}",
                        air.name
                    );
                    let shape = TableShape::from_program(
                        air.name.clone(),
                        10,
                        &air.program,
                        air.log_quotient_chunks,
                        true,
                    )
                    .unwrap();
                    assert_eq!(
                        shape,
                        table_shape(
                            air.name.clone(),
                            10,
                            &lowered,
                            air.log_quotient_chunks,
                            true
                        )
                    );
                }
            }

            /// The device memory plan of an EVM shard of 2^20 CPU rows (every scaling chip at
            /// 2^20 rows; opcode and range tables at their fixed heights), from the chips' real
            /// lowered programs. Prints the per-phase bytes; a 4 GiB budget forces a split.
            #[test]
            fn evm_shard_memory_plan() {
                use slotproof_cuda::memory::{Fit, ShardShape, TableShape, fit, plan, table_shape};
                let tables: Vec<TableShape> = evm_programs(4)
                    .iter()
                    .map(|air| {
                        let fixed =
                            air.name.starts_with("OpcodeTable") || air.name.starts_with("Range");
                        let log_height = match air.name.as_str() {
                            n if n.starts_with("OpcodeTable") => 8,
                            n if n.contains("bits: 8") => 8,
                            n if n.contains("bits: 16") => 16,
                            _ => 20,
                        };
                        table_shape(
                            air.name.clone(),
                            log_height,
                            &DeviceProgram::lower(&air.program).unwrap(),
                            air.log_quotient_chunks,
                            !fixed,
                        )
                    })
                    .collect();
                let shape = ShardShape::new(tables, &slotproof_prover::FriSettings::DEFAULT);
                let p = plan(&shape);
                for (phase, bytes) in &p.phases {
                    eprintln!(
                        "{}: {phase:?} {:.2} GiB",
                        $name,
                        *bytes as f64 / (1u64 << 30) as f64
                    );
                }
                eprintln!(
                    "{}: peak {:.2} GiB in {:?}",
                    $name,
                    p.peak as f64 / (1u64 << 30) as f64,
                    p.peak_phase
                );
                let main_ldes: u64 = shape
                    .tables
                    .iter()
                    .map(|t| (t.main_width as u64) << (t.log_height + 1 + 2))
                    .sum();
                assert!(p.peak > main_ldes);
                assert!(matches!(fit(&shape, p.peak).unwrap(), Fit::Fits(_)));
                match fit(&shape, 4 << 30).unwrap() {
                    Fit::Split { halvings, plan, .. } => {
                        eprintln!(
                            "{}: 4 GiB -> {halvings} halvings, peak {:.2} GiB",
                            $name,
                            plan.peak as f64 / (1u64 << 30) as f64
                        );
                        assert!(plan.peak <= 4 << 30);
                    }
                    other => panic!("a {} GiB shard fits in 4 GiB: {other:?}", p.peak >> 30),
                }
            }

            /// A changed input changes the result: the comparison can fail.
            #[test]
            fn quotient_model_detects_a_changed_input() {
                let mut rng = rng("quotient tamper");
                let airs = test_air_programs(4);
                let air = &airs[0];
                let mut case = random_case(&mut rng, air, 3, 0);
                let expected = case.cpu_quotient(air);
                case.main.values[0] += F::ONE;
                assert_ne!(model_quotient(air, &case, 7), expected);
            }

            #[test]
            fn quotient_split_model_matches_split_evals() {
                let mut rng = rng("split");
                for (log_q, log_chunks) in [(3usize, 1u32), (5, 2), (4, 0)] {
                    let q = 1usize << log_q;
                    let flat = RowMajorMatrix::<F>::rand(&mut rng, q, 4);
                    let domain = TwoAdicMultiplicativeCoset::new(F::GENERATOR, log_q).unwrap();
                    let chunks = domain.split_evals(1 << log_chunks, flat.clone());
                    let got = model::quotient::quotient_split(
                        &column_words(&flat),
                        log_q as u32,
                        log_chunks,
                    );
                    let rows = q >> log_chunks;
                    for (t, chunk) in chunks.iter().enumerate() {
                        assert_eq!(
                            &got[t * 4 * rows..(t + 1) * 4 * rows],
                            &column_words(chunk)[..]
                        );
                    }
                }
            }

            #[test]
            fn pow_model_returns_the_cpu_witness() {
                let mut rng = rng(concat!("pow ", $name));
                for buffered in [0usize, 1, 5, 7] {
                    let mut ch = Challenger::<F>::new(F::default_poseidon2_16());
                    for _ in 0..(16 + buffered) {
                        ch.observe(rng.random::<F>());
                    }
                    let search = PowSearch::for_challenger(ch.duplex()).unwrap();
                    for bits in [1usize, 6, 10] {
                        let expected = ch.clone().grind(bits);
                        let got =
                            model::pow::pow_search::<F>(&search, bits as u32, 0, F::PRIME, 64);
                        assert_eq!(
                            F::from_u32(got),
                            expected,
                            "{buffered} buffered, {bits} bits"
                        );
                    }
                }
            }

            /// Random LDE-shaped matrices of several heights with their opening points, the
            /// prover's evaluations and α-reduced codewords, and the model's.
            #[test]
            fn opening_models_match_prover() {
                let mut rng = rng(concat!("openings ", $name));
                let OpeningCase {
                    log_blowup,
                    mats,
                    points,
                    opened,
                    alpha,
                    heights,
                    reduced,
                } = opening_case(&mut rng, &[(6, 3), (4, 2), (6, 1), (3, 4)]);
                for ((m, pts), values) in mats.iter().zip(&points).zip(&opened) {
                    let log_h = m.height().trailing_zeros() as usize - log_blowup;
                    for (&z, v) in pts.iter().zip(values) {
                        let wp =
                            slotproof_cuda::opening::weights_params::<F, EF>(log_h, z).unwrap();
                        let w = model::opening::weights::<F>(&wp);
                        let got = model::opening::dot::<F>(
                            &column_words(m),
                            m.height(),
                            m.width(),
                            1 << log_h,
                            &w,
                        );
                        assert_eq!(got, ext_words(v));
                    }
                }
                // The model, driven as reduce_openings orders its terms.
                let mut got = Vec::new();
                for &height in &heights {
                    let mut acc = vec![0u32; 4 * height];
                    let mut num_reduced = 0;
                    for ((m, pts), values) in mats.iter().zip(&points).zip(&opened) {
                        if m.height() != height {
                            continue;
                        }
                        for (&z, v) in pts.iter().zip(values) {
                            let (mut p, powers) = slotproof_cuda::opening::reduce_params::<F, EF>(
                                height.trailing_zeros() as usize,
                                m.width(),
                                z,
                                v,
                                alpha,
                                num_reduced,
                            )
                            .unwrap();
                            p.col_stride = height as u64;
                            model::opening::reduce::<F>(&p, &column_words(m), &powers, &mut acc);
                            num_reduced += m.width();
                        }
                    }
                    got.push(acc);
                }
                let expected: Vec<Vec<u32>> = reduced.iter().map(|c| ext_words(c)).collect();
                assert_eq!(got, expected);
            }

            #[test]
            fn ext_inverse_model_matches_plonky3() {
                let mut rng = rng(concat!("ext inverse ", $name));
                for _ in 0..200 {
                    let x: EF = rng.random();
                    let got = model::ext_inv::<F>(ext_words(&[x])[..].try_into().unwrap());
                    assert_eq!(got.to_vec(), ext_words(&[x.inverse()]));
                }
            }

            #[test]
            fn fri_fold_model_matches_plonky3() {
                let mut rng = rng(concat!("fold ", $name));
                let folding: p3_fri::TwoAdicFriFoldingForMmcs<
                    F,
                    slotproof_prover::field::ValMmcs<F>,
                > = TwoAdicFriFolding(core::marker::PhantomData);
                for (log_len, log_arity) in [(1usize, 1usize), (4, 1), (6, 2), (7, 3), (3, 3)] {
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
                    let schedule = FoldSchedule::new::<F, EF>(log_len, log_arity, beta).unwrap();
                    let got = model::fri::fold::<F>(&ext_words(&codeword), &schedule, None);
                    assert_eq!(got, ext_words(&expected), "2^{log_len} by 2^{log_arity}");
                    // Roll-in: p3's commit phase adds beta^arity * v to the folded codeword.
                    let beta_pow = beta.exp_power_of_2(log_arity);
                    for (x, v) in expected.iter_mut().zip(&roll) {
                        *x += beta_pow * *v;
                    }
                    let got = model::fri::fold::<F>(
                        &ext_words(&codeword),
                        &schedule,
                        Some(&ext_words(&roll)),
                    );
                    assert_eq!(got, ext_words(&expected), "roll-in");
                    // The leaf matrix is p3's `RowMajorMatrix::new(codeword, arity)` flattened.
                    let leaves =
                        model::fri::leaves(&ext_words(&codeword), log_len as u32, log_arity as u32);
                    let flat: RowMajorMatrix<F> =
                        RowMajorMatrix::new(codeword.clone(), 1 << log_arity).flatten_to_base();
                    assert_eq!(leaves, column_words(&flat));
                }
            }
        }
    };
}

model_tests!(kb, "KoalaBear");
model_tests!(bb, "BabyBear");
