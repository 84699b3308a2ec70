//! The LogUp kernel's reference model (`slotproof_cuda::model::logup`) against Plonky3's
//! `LogUpGadget::generate_permutation(..).flatten_to_base()` and its terminal, bit for bit, for
//! KoalaBear and BabyBear: the prover's test AIRs, real EVM shard tables and hand-built lookups
//! (exclusive columns, wide and empty tuples, next-row reads). Tampered inputs give different
//! words, bad witnesses typed errors. Runs on every machine; gpu_logup.rs compares the
//! kernels with the model on a GPU.

use crate::common;
use crate::kernel_inputs;

macro_rules! logup_tests {
    ($module:ident, $name:literal) => {
        mod $module {
            use super::common::rng;
            use super::kernel_inputs::$module::*;
            use p3_air::symbolic::{BaseEntry, SymbolicExpression, SymbolicVariable};
            use p3_field::PrimeCharacteristicRing;
            use p3_lookup::{Kind, Lookup};
            use p3_matrix::Matrix;
            use slotproof_cuda::Error;
            use slotproof_cuda::logup::{LogUpFailure, LogUpProgram};

            /// The model equals Plonky3 with fewer threads than rows (grid-stride) and with
            /// more, and Plonky3's terminal is the model's; so does the CPU backend's own
            /// LogUp trace (`slotproof_prover::logup_trace`).
            fn check(case: &LogUpCase) {
                let expected = case.cpu();
                case.assert_same(
                    concat!($name, " prover CPU"),
                    0,
                    &case.prover_cpu(),
                    &expected,
                );
                for threads in [3, 1 << 12] {
                    let got = case.model(threads).expect("model");
                    case.assert_same($name, threads, &got, &expected);
                }
            }

            #[test]
            fn model_matches_plonky3_on_test_airs() {
                let mut rng = rng(concat!("logup test AIRs ", $name));
                // 2^11 rows: two scan blocks; the range table has 256 rows, Fibonacci none.
                for log_main in [0, 3, 11] {
                    for case in test_air_logup_cases(&mut rng, log_main) {
                        check(&case);
                    }
                }
            }

            #[test]
            fn model_matches_plonky3_on_evm_shards() {
                let mut rng = rng(concat!("logup EVM shards ", $name));
                let cases = evm_logup_cases(&mut rng, 256, 2);
                assert!(cases.iter().filter(|c| !c.lookups.is_empty()).count() >= 8);
                for case in &cases {
                    check(case);
                    eprintln!(
                        "{}: {} rows x {} columns, {} lookups",
                        case.name,
                        case.main.height(),
                        case.main.width(),
                        case.lookups.len()
                    );
                }
            }

            #[test]
            fn model_matches_plonky3_on_exclusive_and_wide_lookups() {
                let mut rng = rng(concat!("logup synthetic ", $name));
                for height in [1, 2, 7, 1024, 1500] {
                    check(&synthetic_logup_case(&mut rng, height));
                }
            }

            /// The range table's multiplicity column: one count changed.
            #[test]
            fn tampered_inputs_change_trace_and_terminal() {
                let mut rng = rng(concat!("logup tampered ", $name));
                let cases = test_air_logup_cases(&mut rng, 6);
                let range = cases.last().expect("range table");
                assert_eq!(range.main.width(), 2, "{}", range.name);
                let (honest, honest_terminal) = range.model(1 << 12).unwrap();
                assert_eq!((honest.clone(), honest_terminal), range.cpu());

                let mut tampered = LogUpCase {
                    name: "range, one multiplicity + 1".into(),
                    lookups: range.lookups.clone(),
                    main: range.main.clone(),
                    public_values: range.public_values.clone(),
                    challenges: range.challenges.clone(),
                };
                tampered.main.values[2 * 17 + 1] += F::ONE;
                let (trace, terminal) = tampered.model(1 << 12).unwrap();
                assert_ne!(terminal, honest_terminal, "terminal must change");
                let height = range.main.height();
                // Row 17's fraction column (words 4..8 of each column) and every accumulator
                // row after it differ; earlier rows do not.
                for c in 0..4 {
                    assert_ne!(trace[(4 + c) * height + 17], honest[(4 + c) * height + 17]);
                    assert_eq!(trace[c * height + 17], honest[c * height + 17]);
                    assert_ne!(trace[c * height + 18], honest[c * height + 18]);
                }
                // And the tampered words are still exactly what Plonky3 computes for them.
                assert_eq!((trace, terminal), tampered.cpu());

                // A changed alpha changes everything (beta does not enter width-1 tuples).
                tampered.main = range.main.clone();
                tampered.challenges[0] += EF::ONE;
                let (trace, terminal) = tampered.model(1 << 12).unwrap();
                assert_ne!(terminal, honest_terminal);
                assert_ne!(trace, honest);
            }

            fn expect_failure(case: &LogUpCase, row: usize, lookup: usize, failure: LogUpFailure) {
                for threads in [1, 4, 1 << 12] {
                    match case.model(threads) {
                        Err(Error::LogUpWitness {
                            row: r,
                            lookup: l,
                            failure: f,
                        }) => assert_eq!((r, l, f), (row, lookup, failure), "{}", case.name),
                        other => panic!(
                            "{}: expected a LogUp witness error, got {other:?}",
                            case.name
                        ),
                    }
                }
            }

            /// Witnesses on which Plonky3's gadget panics give the first failing row and lookup.
            #[test]
            fn bad_witnesses_are_typed_errors() {
                let mut rng = rng(concat!("logup bad witnesses ", $name));
                let good = synthetic_logup_case(&mut rng, 16);
                let set = |case: &mut LogUpCase, row: usize, col: usize, v: F| {
                    case.main.values[row * 6 + col] = v;
                };
                let mut case = synthetic_logup_case(&mut rng, 16);
                set(&mut case, 9, 4, F::TWO);
                set(&mut case, 5, 5, F::NEG_ONE);
                expect_failure(&case, 5, 1, LogUpFailure::NonBooleanFlag);

                let mut case = synthetic_logup_case(&mut rng, 16);
                set(&mut case, 11, 4, F::ONE);
                set(&mut case, 11, 5, F::ONE);
                expect_failure(&case, 11, 1, LogUpFailure::FlagsAboveOne);

                // alpha equal to a combined tuple with a non-zero multiplicity: tuple 1 of the
                // additive lookup is empty (combine = 0, multiplicity 1), so alpha = 0 fails on
                // row 0.
                let mut case = synthetic_logup_case(&mut rng, 16);
                case.challenges[0] = EF::ZERO;
                expect_failure(&case, 0, 0, LogUpFailure::ZeroDenominator);

                // The untouched case is fine.
                assert!(good.model(4).is_ok());
            }

            #[test]
            fn unsupported_shapes_are_rejected() {
                let mut rng = rng(concat!("logup shapes ", $name));
                let case = synthetic_logup_case(&mut rng, 8);
                let shape_error = |lookups: &[Lookup<F>]| {
                    matches!(
                        LogUpProgram::compile::<F, EF>(lookups, 6, 2),
                        Err(Error::InvalidShape(_))
                    )
                };
                // Slots out of order.
                let mut lookups = case.lookups.clone();
                lookups.swap(0, 1);
                assert!(shape_error(&lookups));
                // A multiplicity missing.
                let mut lookups = case.lookups.clone();
                lookups[0].multiplicities.pop();
                assert!(shape_error(&lookups));
                // Flags not one per tuple.
                let mut lookups = case.lookups.clone();
                lookups[1].flags.as_mut().unwrap().pop();
                assert!(shape_error(&lookups));
                // Preprocessed columns, and main columns the trace does not have.
                for entry in [
                    BaseEntry::Preprocessed { offset: 0 },
                    BaseEntry::Main { offset: 0 },
                ] {
                    let mut lookups = case.lookups.clone();
                    lookups[0].elements[0].push(SymbolicVariable::<F>::new(entry, 9).into());
                    assert!(shape_error(&lookups), "{entry:?}");
                }
                // Challenges: two per lookup.
                let program = LogUpProgram::compile::<F, EF>(&case.lookups, 6, 2).unwrap();
                assert!(matches!(
                    slotproof_cuda::logup::LogUpEnv::new::<F, EF>(
                        &program,
                        &case.public_values,
                        &case.challenges[..3]
                    ),
                    Err(Error::InvalidShape(_))
                ));
                // Too few public values, too narrow or empty main traces.
                assert!(
                    slotproof_cuda::logup::LogUpEnv::new::<F, EF>(
                        &program,
                        &case.public_values[..1],
                        &case.challenges
                    )
                    .is_err()
                );
                let env = slotproof_cuda::logup::LogUpEnv::new::<F, EF>(
                    &program,
                    &case.public_values,
                    &case.challenges,
                )
                .unwrap();
                let model = |main: &[u32], h: usize, w: usize| {
                    slotproof_cuda::model::logup::logup_trace::<F>(&program, &env, main, h, w, 64)
                };
                assert!(matches!(model(&[0; 40], 8, 5), Err(Error::InvalidShape(_))));
                assert!(matches!(model(&[], 0, 6), Err(Error::InvalidShape(_))));
                // A lookup of a constant tuple compiles; an AIR without lookups has no trace.
                let constant = Lookup {
                    kind: Kind::Local,
                    elements: vec![vec![SymbolicExpression::from(F::ONE)]],
                    multiplicities: vec![SymbolicExpression::from(F::ONE)],
                    count_weight: 1,
                    column: 0,
                    flags: None,
                };
                assert!(LogUpProgram::compile::<F, EF>(&[constant], 0, 0).is_ok());
                let none = LogUpProgram::compile::<F, EF>(&[], 6, 0).unwrap();
                assert_eq!(none.trace_width(), 0);
            }
        }
    };
}

logup_tests!(kb, "KoalaBear");
logup_tests!(bb, "BabyBear");
