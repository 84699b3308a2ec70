//! GPU tests of the LogUp kernels (`CudaBackend::logup_trace`, `scan_ext`) against their
//! reference model and Plonky3's `LogUpGadget`, bit for bit, for KoalaBear and BabyBear: the
//! prover's test AIRs, real EVM shard tables and hand-built exclusive/wide lookups, the
//! multi-level extension scan, and a bad witness's typed error. Every buffer the backend
//! allocates is poisoned (0xFFFF_FFFF), so unwritten outputs fail the download check.
//! Without a usable GPU (or a build without kernels) each test prints `SKIP ...` and passes.

use crate::common;
use crate::kernel_inputs;

use common::checked_backend as backend;

macro_rules! gpu_logup_tests {
    ($module:ident, $name:literal) => {
        mod $module {
            use super::backend;
            use super::common::rng;
            use super::kernel_inputs::$module::*;
            use p3_field::PrimeCharacteristicRing;
            use p3_matrix::Matrix;
            use rand::RngExt;
            use slotproof_cuda::logup::LogUpFailure;
            use slotproof_cuda::{CudaBackend, DeviceField, Error};

            /// The kernels' trace and terminal for a case (`max_threads` per fraction launch).
            fn kernel(
                b: &CudaBackend,
                case: &LogUpCase,
                max_threads: usize,
            ) -> slotproof_cuda::Result<(Vec<u32>, Option<[u32; 4]>)> {
                let (program, env) = case.device_inputs()?;
                let main = b.upload_row_major(&case.main)?;
                let (trace, terminal) = b.logup_trace::<F>(&program, &env, &main, max_threads)?;
                assert_eq!(
                    trace.height(),
                    if terminal.is_some() {
                        case.main.height()
                    } else {
                        0
                    }
                );
                assert_eq!(trace.width(), program.trace_width());
                let words = b
                    .download_columns(&trace)?
                    .into_iter()
                    .map(|x| x.to_monty_word())
                    .collect();
                Ok((words, terminal))
            }

            fn check(b: &CudaBackend, case: &LogUpCase) {
                let expected = case.cpu();
                for threads in [96, crate::common::gpu_or_standin(1 << 16, 1 << 11)] {
                    let model = case.model(threads).expect("model");
                    assert!(
                        model == expected,
                        "{} {}: model differs from Plonky3",
                        $name,
                        case.name
                    );
                    let got = kernel(b, case, threads).expect("kernel");
                    case.assert_same($name, threads, &got, &expected);
                }
            }

            #[test]
            fn gpu_logup_matches_plonky3_on_test_airs() {
                let Some(b) = backend(concat!("gpu_logup test AIRs ", $name)) else {
                    return;
                };
                let mut rng = rng(concat!("gpu logup test AIRs ", $name));
                for log_main in [0, 3, 11, 16] {
                    for case in test_air_logup_cases(&mut rng, log_main) {
                        check(&b, &case);
                    }
                }
            }

            #[test]
            fn gpu_logup_matches_plonky3_on_evm_shards() {
                let Some(b) = backend(concat!("gpu_logup EVM shards ", $name)) else {
                    return;
                };
                let mut rng = rng(concat!("gpu logup EVM shards ", $name));
                for case in evm_logup_cases(&mut rng, 1 << 10, 2) {
                    check(&b, &case);
                }
            }

            #[test]
            fn gpu_logup_matches_plonky3_on_exclusive_and_wide_lookups() {
                let Some(b) = backend(concat!("gpu_logup synthetic ", $name)) else {
                    return;
                };
                let mut rng = rng(concat!("gpu logup synthetic ", $name));
                // The tallest case only on a GPU: the stand-in runs kernels on the CPU.
                for height in [
                    1,
                    2,
                    7,
                    1024,
                    1500,
                    crate::common::gpu_or_standin(70_000, 4100),
                ] {
                    check(&b, &synthetic_logup_case(&mut rng, height));
                }
            }

            /// The scan alone, on sizes around block boundaries and with two levels of block
            /// sums, against the model (itself checked against a sequential sum).
            #[test]
            fn gpu_scan_matches_model() {
                let Some(b) = backend(concat!("gpu_logup scan ", $name)) else {
                    return;
                };
                let mut rng = rng(concat!("gpu logup scan ", $name));
                // Two levels of block sums from 2^20 elements on (the stand-in: one level).
                let (big, bigger) = crate::common::gpu_or_standin(
                    ((1 << 20) + 5, 3 << 20),
                    (5 * 1024 + 5, 3 << 12),
                );
                for n in [1, 32, 1023, 1024, 1025, 4097, big, bigger] {
                    let data: Vec<u32> = (0..4 * n)
                        .map(|_| rng.random::<F>().to_monty_word())
                        .collect();
                    let buf = b.upload_words(&data).unwrap();
                    b.scan_ext::<F>(&buf, n).unwrap();
                    let got = b.download_words(&buf).unwrap();
                    let mut expected = data;
                    slotproof_cuda::model::logup::scan_ext::<F>(&mut expected, n);
                    assert!(got == expected, "{} scan of {n} elements", $name);
                }
            }

            #[test]
            fn gpu_bad_witness_is_a_typed_error() {
                let Some(b) = backend(concat!("gpu_logup bad witness ", $name)) else {
                    return;
                };
                let mut rng = rng(concat!("gpu logup bad witness ", $name));
                let mut case = synthetic_logup_case(&mut rng, 5000);
                case.main.values[3001 * 6 + 4] = F::TWO;
                case.main.values[4000 * 6 + 4] = F::ONE;
                case.main.values[4000 * 6 + 5] = F::ONE;
                for threads in [64, crate::common::gpu_or_standin(1 << 16, 1 << 11)] {
                    match kernel(&b, &case, threads) {
                        Err(Error::LogUpWitness {
                            row,
                            lookup,
                            failure,
                        }) => assert_eq!(
                            (row, lookup, failure),
                            (3001, 1, LogUpFailure::NonBooleanFlag)
                        ),
                        other => panic!("expected a LogUp witness error, got {other:?}"),
                    }
                }
            }
        }
    };
}

gpu_logup_tests!(kb, "KoalaBear");
gpu_logup_tests!(bb, "BabyBear");
