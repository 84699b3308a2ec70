//! The GPU prover backend's host logic, checked on every machine (no GPU needed): the kernels'
//! reference model stands in for the device ([`ReferenceEngine`]), so tree assembly, openings,
//! quotient views, quotient chunking and the FRI proof conversion run exactly as they do behind
//! the GPU, and whole shard proofs are compared with the CPU backend's bytes.
//!
//! Random inputs print their seed (replay with `SLOTPROOF_TEST_SEED`).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::rng;
use p3_baby_bear::BabyBear;
use p3_commit::{Mmcs, Pcs, PolynomialSpace, UnivariateStarkPcs};
use p3_field::coset::TwoAdicMultiplicativeCoset;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_koala_bear::KoalaBear;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use rand::RngExt;
use slotproof_cuda::prover_backend::openings::{opened_rows, pruned_paths};
use slotproof_cuda::prover_backend::{
    Digest, HostMerkleTree, HostTreeMmcs, MeteredEngine, ModelMatrix, ModelTree, ProverEngine,
    QuotientInputs, ReduceTerm, ReferenceEngine, TreeShapeError, evaluations_on_domain, fri,
    from_columns, to_columns,
};
use slotproof_cuda::{CudaProverBackend, Error, ReferenceProverBackend, probe_driver};
use slotproof_prover::test_airs::conformance;
use slotproof_prover::{FriSettings, stark_config};

/// Settings with a cap of height 2 and blowup 4, so cap clamping and `log_blowup > 1` are
/// exercised besides the defaults.
const WIDE_SETTINGS: FriSettings = FriSettings {
    log_blowup: 2,
    merkle_cap_height: 2,
    ..FriSettings::DEFAULT
};

/// Without a usable GPU, creating the backend is a typed error consistent with the driver
/// probe (never a panic); with one, it comes up (or reports a build without kernels).
#[test]
fn cuda_prover_backend_creation_agrees_with_probe() {
    let probe = probe_driver();
    let backend = CudaProverBackend::<KoalaBear>::new(&FriSettings::DEFAULT);
    match (&probe, &backend) {
        (Err(p), Err(b)) => {
            assert_eq!(p.to_string(), b.to_string(), "probe and backend disagree");
            eprintln!("no GPU here, as expected a typed error: {b}");
        }
        (Ok(_), Err(Error::KernelsNotBuilt)) => eprintln!("driver present, built without nvcc"),
        (Ok(_), Ok(_)) => eprintln!("GPU backend created"),
        (Ok(_), Err(e)) => panic!("driver probe succeeded but the backend failed: {e}"),
        (Err(e), Ok(_)) => panic!("driver probe failed ({e}) but the backend came up"),
    }
}

#[test]
fn column_transposes_round_trip() {
    let mut r = rng("column_transposes_round_trip");
    for (h, w) in [(1, 1), (4, 3), (1024, 7), (3, 70_000), (70_000, 2)] {
        let m = RowMajorMatrix::<KoalaBear>::rand(&mut r, h, w);
        let cols = to_columns(&m);
        for c in [0, w / 2, w - 1] {
            for row in [0, h / 2, h - 1] {
                assert_eq!(cols[c * h + row], m.values[row * w + c], "{h} x {w}");
            }
        }
        assert_eq!(from_columns(&cols, h, w), m, "{h} x {w}");
    }
}

#[test]
fn host_tree_rejects_bad_shapes() {
    let m = |h: usize| RowMajorMatrix::new(vec![KoalaBear::ONE; h], 1);
    let layers = |log: usize| -> Vec<Vec<[KoalaBear; 8]>> {
        (0..=log)
            .map(|k| vec![[KoalaBear::ZERO; 8]; 1 << (log - k)])
            .collect()
    };
    assert!(HostMerkleTree::from_parts(vec![m(8), m(2)], layers(3)).is_ok());
    assert_eq!(
        HostMerkleTree::<KoalaBear, RowMajorMatrix<KoalaBear>>::from_parts(vec![], layers(0))
            .unwrap_err(),
        TreeShapeError::Empty
    );
    assert_eq!(
        HostMerkleTree::from_parts(vec![m(8), m(6)], layers(3)).unwrap_err(),
        TreeShapeError::HeightNotPowerOfTwo {
            index: 1,
            height: 6
        }
    );
    assert_eq!(
        HostMerkleTree::from_parts(vec![m(8)], layers(2)).unwrap_err(),
        TreeShapeError::LayerCount {
            found: 3,
            log_max_height: 3
        }
    );
    let mut short = layers(3);
    short[1].pop();
    assert_eq!(
        HostMerkleTree::from_parts(vec![m(8)], short).unwrap_err(),
        TreeShapeError::LayerLength {
            layer: 1,
            found: 3,
            expected: 4
        }
    );
}

/// The per-field tests (Plonky3's bounds are checked on concrete types).
macro_rules! field_tests {
    ($module:ident, $field:ty, $conformance:ident) => {
        mod $module {
            use super::*;

            type F = $field;

            fn settings_list() -> [FriSettings; 2] {
                [FriSettings::DEFAULT, WIDE_SETTINGS]
            }

            /// Mixed heights (with injection at several levels), widths across sponge blocks.
            fn random_mats(r: &mut rand::rngs::SmallRng) -> Vec<RowMajorMatrix<F>> {
                [(64, 9), (16, 1), (64, 3), (4, 17), (1, 2), (16, 8)]
                    .iter()
                    .map(|&(h, w)| RowMajorMatrix::rand(r, h, w))
                    .collect()
            }

            /// HostTreeMmcs over a host-built tree opens exactly as MerkleTreeMmcs: caps,
            /// single openings at every index, pruned multi-openings (unsorted, duplicates), and
            /// the reference MMCS verifies them; cap heights 0 and 2 (and 7: clamped).
            #[test]
            fn host_tree_mmcs_matches_merkle_tree_mmcs() {
                let mut r = rng(concat!(stringify!($module), "::host_tree_mmcs"));
                let mats = random_mats(&mut r);
                let dims: Vec<_> = mats.iter().map(|m| m.dimensions()).collect();
                for cap_height in [0, 2, 7] {
                    let settings = FriSettings {
                        merkle_cap_height: cap_height,
                        ..FriSettings::DEFAULT
                    };
                    let host = HostTreeMmcs::<F>::new(&settings);
                    let p3 = host.reference().clone();
                    let (cap, tree) = host.commit(mats.clone());
                    let (p3_cap, p3_tree) = p3.commit(mats.clone());
                    assert_eq!(cap, p3_cap, "cap height {cap_height}");
                    for i in 0..64 {
                        let (a, b) = (host.open_batch(i, &tree), p3.open_batch(i, &p3_tree));
                        assert_eq!(a.opened_values, b.opened_values);
                        assert_eq!(a.opening_proof, b.opening_proof, "index {i}");
                    }
                    let sets: Vec<Vec<usize>> = vec![
                        vec![5],
                        vec![63, 0, 17, 17, 16, 40, 41, 2],
                        (0..64).collect(),
                        (0..12).map(|_| r.random_range(0..64)).collect(),
                    ];
                    for indices in sets {
                        let (opened, proof) = host.open_multi_batch(&indices, &tree);
                        let (p3_opened, p3_proof) = p3.open_multi_batch(&indices, &p3_tree);
                        assert_eq!(opened, p3_opened, "{indices:?}");
                        assert_eq!(
                            proof.sibling_hashes, p3_proof.sibling_hashes,
                            "cap {cap_height}, {indices:?}"
                        );
                        host.verify_multi_batch(&cap, &dims, &indices, &opened, &proof)
                            .expect("the reference MMCS accepts the opening");
                    }
                    // A tampered sibling (or, when the cap covers the whole tree and there are
                    // none, a tampered row) is rejected by the delegated verifier.
                    let (mut opened, mut proof) = host.open_multi_batch(&[3, 9], &tree);
                    match proof.sibling_hashes.first_mut() {
                        Some(d) => d[0] += F::ONE,
                        None => opened[0][0][0] += F::ONE,
                    }
                    assert!(
                        host.verify_multi_batch(&cap, &dims, &[3, 9], &opened, &proof)
                            .is_err()
                    );
                }
            }

            /// The reference model's LDE + tree (what the GPU computes), assembled into a host
            /// tree, equals `TwoAdicFriPcs::commit` of the same traces: commitment and every
            /// committed LDE. Includes a trace on a shifted coset (as quotient chunks are).
            #[test]
            fn reference_round_equals_two_adic_fri_pcs_commit() {
                let mut r = rng(concat!(stringify!($module), "::reference_round"));
                for settings in settings_list() {
                    let config = stark_config::<F>(&settings);
                    let pcs = p3_batch_stark::StarkGenericConfig::pcs(&config);
                    let shapes = [
                        (32usize, 5usize, F::ONE),
                        (8, 3, F::GENERATOR.square()),
                        (32, 9, F::ONE),
                        (4, 1, F::ONE),
                    ];
                    let inputs: Vec<(TwoAdicMultiplicativeCoset<F>, RowMajorMatrix<F>)> = shapes
                        .iter()
                        .map(|&(h, w, shift)| {
                            (
                                TwoAdicMultiplicativeCoset::new(shift, h.trailing_zeros() as usize)
                                    .unwrap(),
                                RowMajorMatrix::rand(&mut r, h, w),
                            )
                        })
                        .collect();
                    // The engine's round: upload, LDE with TwoAdicFriPcs's shift, one tree.
                    let e = ReferenceEngine;
                    let ldes: Vec<ModelMatrix> = inputs
                        .iter()
                        .map(|(d, m)| {
                            let up = ProverEngine::<F>::upload(&e, m).unwrap();
                            e.coset_lde(up, settings.log_blowup, F::GENERATOR / d.shift())
                                .unwrap()
                        })
                        .collect();
                    let tree: ModelTree =
                        ProverEngine::<F>::merkle_tree(&e, &ldes.iter().collect::<Vec<_>>())
                            .unwrap();
                    let (p3_commit, p3_data) = <_ as Pcs<
                        slotproof_prover::field::Challenge<F>,
                        slotproof_prover::field::Challenger<F>,
                    >>::commit(pcs, inputs.clone())
                    .unwrap();
                    assert_eq!(
                        fri::tree_cap::<F, _>(&e, &tree, settings.merkle_cap_height).unwrap(),
                        p3_commit
                    );
                    let (val_mmcs, _) = slotproof_prover::field::fri_components::<F>(&settings);
                    let p3_ldes = val_mmcs.get_matrices(&p3_data);
                    assert_eq!(ldes.len(), p3_ldes.len());
                    for (a, b) in ldes.iter().zip(p3_ldes) {
                        assert_eq!(&ProverEngine::<F>::download(&e, a).unwrap(), b);
                    }
                    // Query answers from the resident round (rows + pruned multi-path) are
                    // MerkleTreeMmcs's: unsorted indices, duplicates, every leaf.
                    let leaves = 32usize << settings.log_blowup;
                    let log_max = leaves.trailing_zeros() as usize;
                    let sets: Vec<Vec<usize>> = vec![
                        vec![5],
                        vec![leaves - 1, 0, 17, 17, 16, 40, 41, 2],
                        (0..leaves).collect(),
                        (0..12).map(|_| r.random_range(0..leaves)).collect(),
                    ];
                    for indices in sets {
                        let opened = opened_rows::<F, _>(&e, &ldes, log_max, &indices).unwrap();
                        let proof =
                            pruned_paths::<F, _>(&e, &tree, &indices, settings.merkle_cap_height)
                                .unwrap();
                        let (p3_opened, p3_proof) = val_mmcs.open_multi_batch(&indices, &p3_data);
                        assert_eq!(opened, p3_opened, "{indices:?}");
                        assert_eq!(proof.sibling_hashes, p3_proof.sibling_hashes, "{indices:?}");
                    }
                    // An index outside the tree is a typed error, not a panic.
                    assert!(
                        pruned_paths::<F, _>(&e, &tree, &[leaves], settings.merkle_cap_height)
                            .is_err()
                    );
                }
            }

            /// The quotient-domain view of a downloaded LDE equals
            /// `get_evaluations_on_domain` on both of its paths (a prefix view, and the
            /// re-evaluation for a domain larger than the LDE or on another coset).
            #[test]
            fn evaluations_on_domain_match_plonky3() {
                let mut r = rng(concat!(stringify!($module), "::evaluations_on_domain"));
                for settings in settings_list() {
                    let config = stark_config::<F>(&settings);
                    let pcs = p3_batch_stark::StarkGenericConfig::pcs(&config);
                    let trace_domain = TwoAdicMultiplicativeCoset::new(F::ONE, 4).unwrap();
                    let (_, data) = <_ as Pcs<
                        slotproof_prover::field::Challenge<F>,
                        slotproof_prover::field::Challenger<F>,
                    >>::commit(
                        pcs,
                        [(trace_domain, RowMajorMatrix::<F>::rand(&mut r, 16, 3))],
                    )
                    .unwrap();
                    let (val_mmcs, _) = slotproof_prover::field::fri_components::<F>(&settings);
                    let lde = val_mmcs.get_matrices(&data)[0];
                    let domains = [
                        trace_domain.create_disjoint_domain(32),
                        trace_domain.create_disjoint_domain(16 << settings.log_blowup),
                        trace_domain.create_disjoint_domain(16 << (settings.log_blowup + 1)),
                        TwoAdicMultiplicativeCoset::new(F::GENERATOR.square(), 5).unwrap(),
                    ];
                    for domain in domains {
                        let ours = evaluations_on_domain(lde, settings.log_blowup, domain)
                            .to_row_major_matrix();
                        let theirs =
                            <_ as UnivariateStarkPcs<
                                slotproof_prover::field::Challenge<F>,
                                slotproof_prover::field::Challenger<F>,
                            >>::get_evaluations_on_domain(pcs, &data, 0, domain)
                            .to_row_major_matrix();
                        assert_eq!(ours, theirs, "domain of size {}", domain.size());
                    }
                }
            }

            /// Whole shard proofs with the reference model in place of the GPU are the CPU
            /// backend's bytes, and the stock verifier accepts them.
            #[test]
            fn reference_backend_passes_conformance() {
                let engine = Arc::new(ReferenceEngine);
                conformance::$conformance(|_, s| {
                    ReferenceProverBackend::<F>::with_engine(engine.clone(), s)
                })
                .expect("reference-model backend conformance");
            }

            /// Every FRI / grinding knob changed at once (blowup 4, arity 4, final polynomial
            /// of length 4, cap height 2, PoW everywhere): the reference-model backend still
            /// produces the CPU backend's bytes, on a shard with a lookup-free middle table.
            #[test]
            fn reference_backend_matches_cpu_with_every_fri_knob_changed() {
                const STRESS: FriSettings = FriSettings {
                    log_blowup: 2,
                    log_final_poly_len: 2,
                    max_log_arity: 2,
                    num_queries: 30,
                    batch_pow_bits: 4,
                    commit_pow_bits: 3,
                    query_pow_bits: 5,
                    lookup_pow_bits: 4,
                    ood_pow_bits: 3,
                    merkle_cap_height: 2,
                };
                let shard = slotproof_prover::test_airs::Shard::<F>::three_tables(9, 7, 4, 11);
                let cpu = slotproof_prover::ShardProver::cpu(STRESS);
                let engine = Arc::new(ReferenceEngine);
                let model = slotproof_prover::ShardProver::with_backend(STRESS, |_, s| {
                    ReferenceProverBackend::<F>::with_engine(engine, s)
                });
                let a = cpu
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .unwrap();
                let b = model
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .unwrap();
                let bytes = slotproof_prover::proof_to_bytes(&a).unwrap();
                assert_eq!(bytes, slotproof_prover::proof_to_bytes(&b).unwrap());
                cpu.verify(&shard.airs, &b, &shard.public_values)
                    .expect("the stock verifier accepts the reference-model proof");
            }

            /// A wrong engine output is caught by the conformance check: a changed leaf digest
            /// (the root is left as it was, only the openings differ), a changed LDE value, and
            /// and changed quotient, opened, α-reduced and FRI-folded values (which also shows
            /// that those steps run on the engine).
            #[test]
            fn conformance_catches_a_faulty_engine() {
                for fault in [
                    Fault::LeafDigests,
                    Fault::LdeValue,
                    Fault::QuotientValue,
                    Fault::OpenedValue,
                    Fault::ReducedValue,
                    Fault::FoldValue,
                    Fault::FoldError,
                    Fault::PowLarger,
                    Fault::PowError,
                    Fault::OpenedRow,
                    Fault::SiblingDigest,
                    Fault::FinalPoly,
                    Fault::LogUpValue,
                    Fault::LogUpTerminal,
                ] {
                    let engine = Arc::new(AuditEngine::faulty(fault));
                    let err = conformance::$conformance(|_, s| {
                        CudaProverBackend::<F, AuditEngine>::with_engine(engine.clone(), s)
                    })
                    .expect_err("a faulty engine must fail conformance");
                    eprintln!("{fault:?} caught: {err}");
                }
            }
            /// Device residency, checked on what crosses the engine boundary during a shard
            /// proof: no matrix is ever downloaded whole; rows are read only at query indices
            /// (at most `num_queries` per request), digests only for caps and query paths, one
            /// final-polynomial prefix, and opened values; everything else stays on the engine.
            #[test]
            fn shard_proof_downloads_only_what_the_proof_carries() {
                let settings = FriSettings::DEFAULT;
                let shard = slotproof_prover::test_airs::Shard::<F>::three_tables(10, 12, 6, 5);
                let engine = Arc::new(AuditEngine::default());
                let prover = slotproof_prover::ShardProver::with_backend(settings, |_, s| {
                    CudaProverBackend::<F, AuditEngine>::with_engine(engine.clone(), s)
                });
                let proof = prover
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .unwrap();
                let cpu = slotproof_prover::ShardProver::cpu(settings);
                cpu.verify(&shard.airs, &proof, &shard.public_values).unwrap();
                let l = &engine.ledger;
                let get = |c: &AtomicUsize| c.load(Ordering::Relaxed);
                eprintln!("{l:#?}");
                assert_eq!(get(&l.matrix_downloads), 0, "a matrix came back whole");
                assert!(get(&l.max_rows_per_request) <= settings.num_queries);
                assert_eq!(get(&l.max_prefix_len), 1 << settings.log_final_poly_len);
                // A level of a pruned path has at most one sibling per query; a cap has
                // 2^cap_height digests.
                assert!(
                    get(&l.max_digests_per_request)
                        <= settings.num_queries.max(1 << settings.merkle_cap_height)
                );
                let back = get(&l.digest_bytes)
                    + get(&l.row_bytes)
                    + get(&l.opened_bytes)
                    + get(&l.codeword_prefix_bytes);
                let proof_bytes = slotproof_prover::proof_to_bytes(&proof).unwrap().len();
                eprintln!(
                    "engine -> host: {back} bytes for {} bytes of LDEs and a {proof_bytes}-byte proof",
                    get(&l.lde_bytes)
                );
                // What comes back is what the proof carries (plus the caps the transcript
                // observes): within a small factor of the proof, independent of the LDEs' size
                // (which grows with the shard while the proof grows with its logarithm).
                assert!(back <= 2 * proof_bytes, "{back} bytes back for a {proof_bytes}-byte proof");
            }
        }
    };
}

/// A real EVM shard (the generated `token` block's first shard of 256 steps: every chip; LogUp
/// on the stack, resume, opcode, bytecode, ALU and range buses) proven through the resident
/// backend with the reference model as the device: the CPU backend's bytes, accepted by the
/// stock verifier, nothing downloaded whole. Under the default settings (blowup 4) and at
/// blowup 2, where the CPU and ALU chips' 4 quotient chunks outgrow the LDE, so their LDEs are
/// re-extended onto the quotient domain on the engine.
#[test]
fn evm_shard_through_the_reference_engine_is_the_cpu_proof() {
    type F = KoalaBear;
    let shard = common::first_token_shard::<F>(256);
    let blowup_2 = FriSettings {
        log_blowup: 1,
        num_queries: 85,
        ..FriSettings::DEFAULT
    };
    for (settings, reextends) in [(FriSettings::DEFAULT, false), (blowup_2, true)] {
        let cpu = slotproof_prover::ShardProver::cpu(settings);
        let engine = Arc::new(AuditEngine::default());
        let model = slotproof_prover::ShardProver::with_backend(settings, |_, s| {
            CudaProverBackend::<F, AuditEngine>::with_engine(engine.clone(), s)
        });
        let a = cpu
            .prove(&shard.airs, &shard.traces, &shard.public_values)
            .expect("CPU proof");
        let b = model
            .prove(&shard.airs, &shard.traces, &shard.public_values)
            .expect("reference-engine proof");
        assert_eq!(
            slotproof_prover::proof_to_bytes(&a).unwrap(),
            slotproof_prover::proof_to_bytes(&b).unwrap(),
            "EVM shard, {settings:?}: the resident backend's proof differs from the CPU backend's"
        );
        cpu.verify(&shard.airs, &b, &shard.public_values)
            .expect("the stock verifier accepts it");
        let l = &engine.ledger;
        eprintln!("{settings:?}: {l:#?}");
        assert_eq!(l.matrix_downloads.load(Ordering::Relaxed), 0);
        let reextensions = l.quotient_reextensions.load(Ordering::Relaxed);
        if reextends {
            assert!(
                reextensions >= 2,
                "the CPU and ALU chips' LDEs must be re-extended onto their quotient domains"
            );
        } else {
            assert_eq!(reextensions, 0, "at blowup 4 no LDE needs re-extending");
        }
    }
}

/// The resident device memory of a real EVM shard proof (the generated `token` block's),
/// measured by counting the engine's matrices, trees and codewords while the prover holds them
/// ([`MeteredEngine`]), stays within the plan the block prover cuts shards by
/// (`device_memory::plan`: it must be an upper bound, or a shard planned to fit could run out of
/// memory), and nothing stays resident after the proof.
#[test]
fn measured_resident_memory_of_an_evm_shard_is_within_its_plan() {
    use slotproof_prover::device_memory::{ShardShape, TableShape, plan};
    type F = KoalaBear;
    // The whole subblock (3,769 steps), so the tables that scale with steps weigh in.
    let shard = common::first_token_shard::<F>(4096);
    let settings = FriSettings::DEFAULT;
    let cpu = slotproof_prover::CpuShardProver::<F>::cpu(settings);
    let heights: Vec<usize> = shard
        .traces
        .iter()
        .map(|t| t.height().trailing_zeros() as usize)
        .collect();
    let programs = cpu.instance_programs(&shard.airs, &heights).unwrap();
    let tables = shard
        .airs
        .iter()
        .zip(&programs)
        .zip(&heights)
        .map(|((air, p), &h)| {
            TableShape::from_program(air.name(), h, &p.program, p.log_quotient_chunks, true)
                .unwrap()
        })
        .collect();
    let planned = plan(&ShardShape::new(tables, &settings));

    let engine = Arc::new(MeteredEngine::new(ReferenceEngine));
    let metered = slotproof_prover::ShardProver::with_backend(settings, |_, s| {
        CudaProverBackend::<F, MeteredEngine<ReferenceEngine>>::with_engine(engine.clone(), s)
    });
    let proof = metered
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("metered proof");
    cpu.verify(&shard.airs, &proof, &shard.public_values)
        .expect("the stock verifier accepts it");
    let meter = engine.meter();
    let measured = meter.peak();
    eprintln!(
        "resident peak {measured} B, planned {} B ({:?}), {:.0}% of the plan",
        planned.peak,
        planned.peak_phase,
        100.0 * measured as f64 / planned.peak as f64
    );
    assert!(measured > 0);
    assert!(
        measured <= planned.peak,
        "measured {measured} B resident, planned {planned:?}"
    );
    assert_eq!(meter.live(), 0, "buffers left resident after the proof");
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Add one to the first word of every leaf digest (the root is not recomputed).
    LeafDigests,
    /// Add one to row 0, column 0 of every LDE.
    LdeValue,
    /// Add one to the first word of every quotient the engine evaluates.
    QuotientValue,
    /// Add one to the first word of every opened value the engine evaluates.
    OpenedValue,
    /// Add one to the first word of every α-reduced codeword.
    ReducedValue,
    /// Add one to the first word of every FRI-folded codeword.
    FoldValue,
    /// Fail every FRI fold (the error must come back from `prove`, not panic).
    FoldError,
    /// Answer proof-of-work searches with a valid witness that is not the smallest.
    PowLarger,
    /// Fail every proof-of-work search.
    PowError,
    /// Add one to the first opened row value of every query answer.
    OpenedRow,
    /// Add one to the first sibling digest of every query answer's level.
    SiblingDigest,
    /// Add one to the first word of the last FRI layer (the final polynomial).
    FinalPoly,
    /// Add one to row 0 of the first fraction column of every LogUp trace.
    LogUpValue,
    /// Add one to the first word of every LogUp terminal.
    LogUpTerminal,
}

/// Montgomery word + 1 mod p: still canonical, a different field element.
fn bump<F: slotproof_cuda::DeviceField>(w: &mut u32) {
    *w = (*w + 1) % F::PRIME;
}

/// What crossed from the engine to the host, by kind (bytes and requests).
#[derive(Default, Debug)]
struct Ledger {
    uploaded_bytes: AtomicUsize,
    lde_bytes: AtomicUsize,
    /// Whole-matrix downloads (the backend's host fallback only).
    matrix_downloads: AtomicUsize,
    digest_bytes: AtomicUsize,
    /// The most digests one request asked for.
    max_digests_per_request: AtomicUsize,
    row_bytes: AtomicUsize,
    /// The most rows one request asked for.
    max_rows_per_request: AtomicUsize,
    opened_bytes: AtomicUsize,
    codeword_prefix_bytes: AtomicUsize,
    /// The most elements one codeword-prefix request asked for.
    max_prefix_len: AtomicUsize,
    /// LDEs re-extended onto a taller quotient domain (constraint degree above the blowup).
    quotient_reextensions: AtomicUsize,
}

/// The reference engine, optionally with one deliberate error in its output, counting what
/// crosses back to the host.
#[derive(Default)]
struct AuditEngine {
    fault: Option<Fault>,
    ledger: Ledger,
}

impl AuditEngine {
    /// The reference engine with `fault` in its output.
    fn faulty(fault: Fault) -> Self {
        Self {
            fault: Some(fault),
            ledger: Ledger::default(),
        }
    }
}

fn add(counter: &AtomicUsize, n: usize) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn max(counter: &AtomicUsize, n: usize) {
    counter.fetch_max(n, Ordering::Relaxed);
}

impl<F: slotproof_cuda::DeviceField> ProverEngine<F> for AuditEngine {
    type Matrix = ModelMatrix;
    type Tree = ModelTree;
    type Codeword = Vec<u32>;

    fn name(&self) -> &'static str {
        "faulty reference model"
    }

    fn dims(&self, m: &ModelMatrix) -> (usize, usize) {
        ProverEngine::<F>::dims(&ReferenceEngine, m)
    }

    fn codeword_len(&self, c: &Vec<u32>) -> usize {
        ProverEngine::<F>::codeword_len(&ReferenceEngine, c)
    }

    fn upload(&self, m: &RowMajorMatrix<F>) -> slotproof_cuda::Result<ModelMatrix> {
        add(&self.ledger.uploaded_bytes, 4 * m.values.len());
        ReferenceEngine.upload(m)
    }

    fn download(&self, m: &ModelMatrix) -> slotproof_cuda::Result<RowMajorMatrix<F>> {
        add(&self.ledger.matrix_downloads, 1);
        ReferenceEngine.download(m)
    }

    fn coset_lde(
        &self,
        m: ModelMatrix,
        log_blowup: usize,
        shift: F,
    ) -> slotproof_cuda::Result<ModelMatrix> {
        let mut out = ReferenceEngine.coset_lde(m, log_blowup, shift)?;
        add(&self.ledger.lde_bytes, 4 * out.height * out.cols.len());
        if let Some(Fault::LdeValue) = self.fault {
            bump::<F>(&mut out.cols[0][0]);
        }
        Ok(out)
    }

    fn coset_lde_of(
        &self,
        m: &ModelMatrix,
        log_blowup: usize,
        shift: F,
    ) -> slotproof_cuda::Result<ModelMatrix> {
        self.coset_lde(m.clone(), log_blowup, shift)
    }

    fn bitrev_rows(&self, m: &ModelMatrix, log_n: usize) -> slotproof_cuda::Result<ModelMatrix> {
        add(&self.ledger.quotient_reextensions, 1);
        ProverEngine::<F>::bitrev_rows(&ReferenceEngine, m, log_n)
    }

    fn logup_trace(
        &self,
        program: &slotproof_cuda::logup::LogUpProgram,
        env: &slotproof_cuda::logup::LogUpEnv,
        main: &ModelMatrix,
    ) -> slotproof_cuda::Result<(ModelMatrix, Option<[u32; 4]>)> {
        let (mut trace, mut terminal) =
            ProverEngine::<F>::logup_trace(&ReferenceEngine, program, env, main)?;
        match self.fault {
            Some(Fault::LogUpValue) => bump::<F>(&mut trace.cols[4][0]),
            Some(Fault::LogUpTerminal) => {
                if let Some(t) = terminal.as_mut() {
                    bump::<F>(&mut t[0]);
                }
            }
            _ => {}
        }
        Ok((trace, terminal))
    }

    fn merkle_tree(&self, mats: &[&ModelMatrix]) -> slotproof_cuda::Result<ModelTree> {
        let mut tree = ProverEngine::<F>::merkle_tree(&ReferenceEngine, mats)?;
        if let Some(Fault::LeafDigests) = self.fault {
            for d in &mut tree.layers[0] {
                bump::<F>(&mut d[0]);
            }
        }
        Ok(tree)
    }

    fn tree_layers(&self, tree: &ModelTree) -> usize {
        ProverEngine::<F>::tree_layers(&ReferenceEngine, tree)
    }

    fn digests(
        &self,
        tree: &ModelTree,
        layer: usize,
        positions: &[usize],
    ) -> slotproof_cuda::Result<Vec<Digest<F>>> {
        let mut out = ReferenceEngine.digests(tree, layer, positions)?;
        add(&self.ledger.digest_bytes, 32 * out.len());
        max(&self.ledger.max_digests_per_request, out.len());
        // Only the query answers' digests (the cap is read whole, from position 0).
        if let Some(Fault::SiblingDigest) = self.fault
            && positions.first().is_some_and(|&p| p != 0)
        {
            out[0][0] += F::ONE;
        }
        Ok(out)
    }

    fn rows(&self, m: &ModelMatrix, rows: &[usize]) -> slotproof_cuda::Result<Vec<Vec<F>>> {
        let mut out = ReferenceEngine.rows(m, rows)?;
        add(
            &self.ledger.row_bytes,
            4 * out.iter().map(Vec::len).sum::<usize>(),
        );
        max(&self.ledger.max_rows_per_request, rows.len());
        if let Some(Fault::OpenedRow) = self.fault
            && let Some(v) = out.first_mut().and_then(|r| r.first_mut())
        {
            *v += F::ONE;
        }
        Ok(out)
    }

    fn quotient(&self, q: &QuotientInputs<'_, ModelMatrix>) -> slotproof_cuda::Result<ModelMatrix> {
        let mut out = ProverEngine::<F>::quotient(&ReferenceEngine, q)?;
        if let Some(Fault::QuotientValue) = self.fault {
            bump::<F>(&mut out.cols[0][0]);
        }
        Ok(out)
    }

    fn split_quotient(
        &self,
        q: &ModelMatrix,
        log_chunks: usize,
    ) -> slotproof_cuda::Result<Vec<ModelMatrix>> {
        ProverEngine::<F>::split_quotient(&ReferenceEngine, q, log_chunks)
    }

    fn open_evaluations(
        &self,
        lde: &ModelMatrix,
        points: &[slotproof_cuda::opening::OpeningWeightsParams],
    ) -> slotproof_cuda::Result<Vec<Vec<u32>>> {
        let mut values = ProverEngine::<F>::open_evaluations(&ReferenceEngine, lde, points)?;
        add(
            &self.ledger.opened_bytes,
            4 * values.iter().map(Vec::len).sum::<usize>(),
        );
        if let Some(Fault::OpenedValue) = self.fault {
            for v in &mut values {
                bump::<F>(&mut v[0]);
            }
        }
        Ok(values)
    }

    fn reduce_height(
        &self,
        height: usize,
        terms: &[ReduceTerm<'_, ModelMatrix>],
    ) -> slotproof_cuda::Result<Vec<u32>> {
        let mut words = ProverEngine::<F>::reduce_height(&ReferenceEngine, height, terms)?;
        if let Some(Fault::ReducedValue) = self.fault {
            bump::<F>(&mut words[0]);
        }
        Ok(words)
    }

    fn fri_fold(
        &self,
        codeword: &Vec<u32>,
        schedule: &slotproof_cuda::fri::FoldSchedule,
        roll_in: Option<&Vec<u32>>,
    ) -> slotproof_cuda::Result<Vec<u32>> {
        if let Some(Fault::FoldError) = self.fault {
            return Err(Error::InvalidShape("injected FRI fold failure".into()));
        }
        let mut words = ProverEngine::<F>::fri_fold(&ReferenceEngine, codeword, schedule, roll_in)?;
        if let Some(Fault::FoldValue) = self.fault {
            bump::<F>(&mut words[0]);
        }
        Ok(words)
    }

    fn fri_leaves(
        &self,
        codeword: &Vec<u32>,
        log_arity: usize,
    ) -> slotproof_cuda::Result<ModelMatrix> {
        ProverEngine::<F>::fri_leaves(&ReferenceEngine, codeword, log_arity)
    }

    fn codeword_prefix(&self, c: &Vec<u32>, len: usize) -> slotproof_cuda::Result<Vec<u32>> {
        let mut words = ProverEngine::<F>::codeword_prefix(&ReferenceEngine, c, len)?;
        add(&self.ledger.codeword_prefix_bytes, 4 * words.len());
        max(&self.ledger.max_prefix_len, len);
        if let Some(Fault::FinalPoly) = self.fault {
            bump::<F>(&mut words[0]);
        }
        Ok(words)
    }

    fn pow_witness(
        &self,
        search: &slotproof_cuda::pow::PowSearch,
        bits: usize,
    ) -> slotproof_cuda::Result<F> {
        use slotproof_cuda::model::pow::pow_search;
        match self.fault {
            Some(Fault::PowError) => Err(Error::NoPowWitness { bits }),
            Some(Fault::PowLarger) => {
                let smallest = pow_search::<F>(search, bits as u32, 0, F::PRIME, 64);
                let next = pow_search::<F>(search, bits as u32, smallest + 1, F::PRIME, 64);
                Ok(F::from_u32(next))
            }
            _ => ReferenceEngine.pow_witness(search, bits),
        }
    }
}

field_tests!(koala_bear, KoalaBear, conformance_koala_bear);
field_tests!(baby_bear, BabyBear, conformance_baby_bear);
