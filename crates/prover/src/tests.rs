//! The test suite, written once and instantiated for every supported field.

/// Deterministic pseudo-random numbers for mutation tests (no RNG dependency needed).
pub(crate) struct TestRng(u64);

impl TestRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

macro_rules! field_suite {
    ($suite:ident, $field:ty) => {
        mod $suite {
            use p3_batch_stark::{ProverData, StarkInstance, prove_batch};
            use p3_field::{PrimeCharacteristicRing, PrimeField64};
            use p3_matrix::dense::RowMajorMatrix;

            use super::TestRng;
            use crate::test_airs::{self, Shard};
            use crate::{
                CpuShardProver, FriSettings, ProveError, ProverOptions, ShardProver, VerifyError,
                proof_from_bytes, proof_to_bytes,
            };

            type F = $field;

            fn prover() -> CpuShardProver<F> {
                ShardProver::cpu(FriSettings::DEFAULT)
            }

            /// A prover that does not check the witness, to make "proofs" of bad witnesses.
            fn unchecked_prover() -> CpuShardProver<F> {
                prover().with_options(ProverOptions {
                    check_witness: false,
                })
            }

            /// The reference: Plonky3's own `prove_batch` on the same shard and config.
            fn stock_proof_bytes(prover: &CpuShardProver<F>, shard: &Shard<F>) -> Vec<u8> {
                let trace_refs: Vec<&RowMajorMatrix<F>> = shard.traces.iter().collect();
                let instances =
                    StarkInstance::new_multiple(&shard.airs, &trace_refs, &shard.public_values);
                let prover_data = ProverData::from_instances(prover.config(), &instances)
                    .expect("stock key generation");
                let proof = prove_batch(prover.config(), &instances, &prover_data)
                    .expect("stock prove_batch");
                proof_to_bytes(&proof).expect("serialise stock proof")
            }

            fn prove_bytes(prover: &CpuShardProver<F>, shard: &Shard<F>) -> Vec<u8> {
                let proof = prover
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .expect("our pipeline proves a valid shard");
                proof_to_bytes(&proof).expect("serialise proof")
            }

            fn assert_byte_identical(shard: &Shard<F>) {
                let prover = prover();
                let ours = prove_bytes(&prover, shard);
                let stock = stock_proof_bytes(&prover, shard);
                assert_eq!(ours.len(), stock.len(), "proof sizes differ");
                if let Some(at) = ours.iter().zip(&stock).position(|(a, b)| a != b) {
                    panic!("proofs differ first at byte {at} of {}", ours.len());
                }
                prover
                    .verify_bytes(&shard.airs, &ours, &shard.public_values)
                    .expect("stock verify_batch accepts our proof");
            }

            #[test]
            fn byte_identical_two_tables_2_8() {
                assert_byte_identical(&Shard::<F>::two_tables(8, 8, 1));
            }

            #[test]
            fn byte_identical_two_tables_2_10_different_heights() {
                assert_byte_identical(&Shard::<F>::two_tables(10, 16, 2));
            }

            #[test]
            fn byte_identical_three_tables_mixed_lookups() {
                assert_byte_identical(&Shard::<F>::three_tables(9, 6, 5, 3));
            }

            #[test]
            fn byte_identical_preprocessed_range_opened_at_zeta() {
                assert_byte_identical(&Shard::<F>::fixed_range(7, 6, 5, false));
            }

            #[test]
            fn byte_identical_preprocessed_range_opened_at_next_row() {
                assert_byte_identical(&Shard::<F>::fixed_range(9, 5, 6, true));
            }

            /// One key (one preprocessed commitment) serves every shard of its shape.
            #[test]
            fn one_key_proves_several_shards() {
                let prover = prover();
                let first = Shard::<F>::fixed_range(8, 5, 7, true);
                let key = prover
                    .keygen(&first.airs, &[8, 8])
                    .expect("keygen");
                assert!(key.preprocessed_commitment().is_some());
                for seed in [7, 8] {
                    let shard = Shard::<F>::fixed_range(8, 5, seed, true);
                    let proof = prover
                        .prove_with_key(&key, &shard.airs, &shard.traces, &shard.public_values)
                        .expect("prove with a shared key");
                    let bytes = proof_to_bytes(&proof).expect("encode");
                    assert_eq!(bytes, stock_proof_bytes(&prover, &shard));
                    prover
                        .verify_with_key(&shard.airs, &proof, &shard.public_values, key.common())
                        .expect("verifies against the key");
                }
                let taller = Shard::<F>::fixed_range(9, 5, 9, true);
                let Err(err) = prover.prove_with_key(
                    &key,
                    &taller.airs,
                    &taller.traces,
                    &taller.public_values,
                ) else {
                    panic!("a key of another height proved");
                };
                assert!(matches!(err, ProveError::KeyMismatch { instance: 0, .. }), "{err}");
                // Same heights, other AIRs: the range table without preprocessed columns.
                let plain = Shard::<F>::two_tables(8, 5, 9);
                let Err(err) =
                    prover.prove_with_key(&key, &plain.airs, &plain.traces, &plain.public_values)
                else {
                    panic!("a key of other AIRs proved");
                };
                assert!(
                    matches!(err, ProveError::PreprocessedTrace { instance: 1, .. }),
                    "{err}"
                );
            }

            /// Programs compiled once serve shards of the same AIRs at their heights (reusing
            /// their key) and at other heights; a set compiled for other AIRs is noticed and
            /// compiled afresh: the proof is the stock one every time.
            #[test]
            fn compiled_programs_give_the_stock_proof() {
                let prover = prover();
                let programs = prover
                    .compile_programs(&Shard::<F>::two_tables(8, 8, 1).airs, &[8, 8])
                    .expect("compile");
                assert_eq!(programs.len(), 2);
                let fixed = prover
                    .compile_programs(&Shard::<F>::fixed_range(8, 5, 7, true).airs, &[8, 8])
                    .expect("compile");
                let same_heights = Shard::<F>::two_tables(8, 8, 4);
                let taller = Shard::<F>::two_tables(10, 8, 2);
                let other_airs = Shard::<F>::two_tables(8, 5, 3);
                let preprocessed = Shard::<F>::fixed_range(8, 5, 8, true);
                for (programs, shard) in [
                    (&programs, &same_heights),
                    (&programs, &taller),
                    (&programs, &other_airs),
                    (&fixed, &preprocessed),
                ] {
                    let (proof, _) = prover
                        .prove_timed_with_programs(
                            programs,
                            &shard.airs,
                            &shard.traces,
                            &shard.public_values,
                        )
                        .expect("prove with compiled programs");
                    let bytes = proof_to_bytes(&proof).expect("encode");
                    assert_eq!(bytes, stock_proof_bytes(&prover, shard));
                }
            }

            #[test]
            fn wrong_preprocessed_commitment_is_rejected() {
                let prover = prover();
                let shard = Shard::<F>::fixed_range(7, 5, 10, true);
                let mut key = prover.keygen(&shard.airs, &[7, 8]).expect("keygen");
                let proof = prover
                    .prove_with_key(&key, &shard.airs, &shard.traces, &shard.public_values)
                    .expect("prove");
                let global = key.data.common.preprocessed.as_mut().expect("preprocessed");
                global.commitment = proof.commitments.main.clone();
                let err = prover
                    .verify_with_key(&shard.airs, &proof, &shard.public_values, key.common())
                    .expect_err("a key with another preprocessed commitment");
                assert!(matches!(err, VerifyError::Rejected(_)), "{err}");
            }

            #[test]
            fn tampered_preprocessed_openings_are_rejected() {
                let prover = prover();
                let shard = Shard::<F>::fixed_range(7, 5, 11, true);
                let proof = prover
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .expect("prove");
                for next in [false, true] {
                    let mut bad = proof_from_bytes::<crate::ProverConfig<F>>(
                        &proof_to_bytes(&proof).expect("encode"),
                    )
                    .expect("decode");
                    let opened = bad.opened_values.instances[1]
                        .base_opened_values
                        .preprocessed
                        .as_mut()
                        .expect("preprocessed openings");
                    let value = if next {
                        &mut opened.next.as_mut().expect("next row opened")[0]
                    } else {
                        &mut opened.local[0]
                    };
                    *value += <crate::field::Challenge<F> as PrimeCharacteristicRing>::ONE;
                    let err = prover
                        .verify(&shard.airs, &bad, &shard.public_values)
                        .expect_err("tampered preprocessed opening");
                    assert!(matches!(err, VerifyError::Rejected(_)), "{err}");
                }
            }

            #[test]
            fn preprocessed_trace_of_the_wrong_height_is_a_typed_error() {
                let prover = prover();
                let shard = Shard::<F>::fixed_range(7, 5, 12, false);
                let Err(err) = prover.keygen(&shard.airs, &[7, 9]) else {
                    panic!("the fixed table has 256 rows, not 512");
                };
                assert!(
                    matches!(err, ProveError::PreprocessedTrace { instance: 1, .. }),
                    "{err}"
                );
            }

            #[test]
            fn byte_identical_smaller_main_than_range() {
                assert_byte_identical(&Shard::<F>::two_tables(6, 5, 4));
            }

            /// A backend that delegates to the CPU one and records the order of its calls: the
            /// contract a device backend is driven by.
            struct RecordingBackend {
                inner: crate::CpuBackend<F>,
                calls: std::sync::Mutex<Vec<&'static str>>,
            }

            impl RecordingBackend {
                fn record(&self, call: &'static str) {
                    self.calls.lock().expect("not poisoned").push(call);
                }
            }

            type Cfg = crate::ProverConfig<F>;
            type Inner = crate::CpuBackend<F>;

            impl crate::Backend<Cfg> for RecordingBackend {
                type Trace<'a> = <Inner as crate::Backend<Cfg>>::Trace<'a>;
                type Committed = <Inner as crate::Backend<Cfg>>::Committed;
                type Quotient = <Inner as crate::Backend<Cfg>>::Quotient;
                type Reduced = <Inner as crate::Backend<Cfg>>::Reduced;

                fn load_trace<'a>(
                    &self,
                    trace: &'a RowMajorMatrix<F>,
                ) -> Result<Self::Trace<'a>, crate::BackendError> {
                    self.record("load_trace");
                    self.inner.load_trace(trace)
                }

                fn commit(
                    &self,
                    traces: Vec<(p3_batch_stark::Domain<Cfg>, Self::Trace<'_>)>,
                ) -> Result<(p3_batch_stark::Commitment<Cfg>, Self::Committed), crate::BackendError>
                {
                    self.record("commit");
                    self.inner.commit(traces)
                }

                fn logup_trace(
                    &self,
                    main: &Self::Trace<'_>,
                    preprocessed: Option<&RowMajorMatrix<F>>,
                    public_values: &[F],
                    lookups: &[p3_lookup::Lookup<F>],
                    challenges: &[crate::field::Challenge<F>],
                ) -> Result<
                    (
                        Self::Trace<'static>,
                        Option<p3_lookup::LookupTerminal<crate::field::Challenge<F>>>,
                    ),
                    crate::BackendError,
                > {
                    self.record("logup_trace");
                    self.inner
                        .logup_trace(main, preprocessed, public_values, lookups, challenges)
                }

                fn quotient(
                    &self,
                    job: crate::QuotientJob<'_, Cfg, Self::Committed>,
                ) -> Result<Self::Quotient, crate::BackendError> {
                    self.record("quotient");
                    self.inner.quotient(job)
                }

                fn commit_quotients(
                    &self,
                    quotients: Vec<(p3_batch_stark::Domain<Cfg>, usize, Self::Quotient)>,
                ) -> Result<(p3_batch_stark::Commitment<Cfg>, Self::Committed), crate::BackendError>
                {
                    self.record("commit_quotients");
                    self.inner.commit_quotients(quotients)
                }

                fn evaluate_openings(
                    &self,
                    rounds: &[crate::OpeningRound<'_, Self::Committed, crate::field::Challenge<F>>],
                ) -> Result<p3_commit::OpenedValues<crate::field::Challenge<F>>, crate::BackendError>
                {
                    self.record("evaluate_openings");
                    self.inner.evaluate_openings(rounds)
                }

                fn reduce_openings(
                    &self,
                    rounds: &[crate::OpeningRound<'_, Self::Committed, crate::field::Challenge<F>>],
                    opened: &p3_commit::OpenedValues<crate::field::Challenge<F>>,
                    alpha: crate::field::Challenge<F>,
                ) -> Result<Self::Reduced, crate::BackendError> {
                    self.record("reduce_openings");
                    self.inner.reduce_openings(rounds, opened, alpha)
                }

                fn prove_fri(
                    &self,
                    reduced: Self::Reduced,
                    rounds: &[crate::OpeningRound<'_, Self::Committed, crate::field::Challenge<F>>],
                    challenger: &mut crate::field::Challenger<F>,
                    batch_pow_witness: F,
                ) -> Result<p3_batch_stark::PcsProof<Cfg>, crate::BackendError> {
                    self.record("prove_fri");
                    self.inner.prove_fri(reduced, rounds, challenger, batch_pow_witness)
                }
            }

            #[test]
            fn backend_is_driven_in_prove_batch_order() {
                let shard = Shard::<F>::three_tables(7, 6, 4, 20);
                let prover =
                    ShardProver::with_backend(FriSettings::DEFAULT, |_, settings| RecordingBackend {
                        inner: crate::CpuBackend::new(settings),
                        calls: Default::default(),
                    });
                let proof = prover
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .expect("prove through the recording backend");
                let calls = prover.backend().calls.lock().expect("not poisoned").clone();
                assert_eq!(
                    calls,
                    [
                        "load_trace",
                        "load_trace",
                        "load_trace",
                        "commit",
                        // Only the main and range tables speak on the bus.
                        "logup_trace",
                        "logup_trace",
                        "commit",
                        "quotient",
                        "quotient",
                        "quotient",
                        "commit_quotients",
                        "evaluate_openings",
                        "reduce_openings",
                        "prove_fri",
                    ]
                );
                let bytes = proof_to_bytes(&proof).expect("encode");
                assert_eq!(bytes, stock_proof_bytes(&prover_for_reference(), &shard));
            }

            fn prover_for_reference() -> CpuShardProver<F> {
                prover()
            }

            #[test]
            fn phase_timings_cover_every_phase() {
                let shard = Shard::<F>::two_tables(6, 5, 21);
                let (_, timings) = prover()
                    .prove_timed(&shard.airs, &shard.traces, &shard.public_values)
                    .expect("prove");
                let names: Vec<&str> = timings.phases.iter().map(|(n, _)| *n).collect();
                assert_eq!(names.len(), 11, "{names:?}");
                assert_eq!(names[0], "key generation");
                assert_eq!(names[1], "setup");
                assert!(names[10].starts_with("FRI"));
            }

            #[test]
            fn proofs_do_not_depend_on_thread_count() {
                let shard = Shard::<F>::three_tables(9, 8, 6, 22);
                let default_pool = prove_bytes(&prover(), &shard);
                for threads in [1, 3] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .expect("thread pool");
                    let bytes = pool.install(|| prove_bytes(&prover(), &shard));
                    assert!(bytes == default_pool, "{threads} threads gave other bytes");
                }
            }

            /// Every knob away from its default: wider blowup and folding arity, a final
            /// polynomial longer than one, a Merkle cap, and grinding at every site.
            const STRESS_SETTINGS: FriSettings = FriSettings {
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

            #[test]
            fn byte_identical_with_every_fri_knob_changed() {
                let stressed: CpuShardProver<F> = ShardProver::cpu(STRESS_SETTINGS);
                for shard in [
                    Shard::<F>::three_tables(9, 7, 5, 23),
                    Shard::<F>::two_tables(10, 6, 24),
                ] {
                    let ours = prove_bytes(&stressed, &shard);
                    assert!(ours == stock_proof_bytes(&stressed, &shard), "proofs differ");
                    stressed
                        .verify_bytes(&shard.airs, &ours, &shard.public_values)
                        .expect("stock verifier accepts");
                    // The default configuration must not accept it.
                    assert!(
                        prover()
                            .verify_bytes(&shard.airs, &ours, &shard.public_values)
                            .is_err()
                    );
                }
            }

            #[test]
            fn proof_bytes_round_trip() {
                let shard = Shard::<F>::two_tables(7, 6, 5);
                let bytes = prove_bytes(&prover(), &shard);
                let proof = proof_from_bytes::<crate::ProverConfig<F>>(&bytes).expect("decode");
                assert_eq!(proof_to_bytes(&proof).expect("encode"), bytes);
            }

            #[test]
            fn default_settings_reach_100_bits() {
                let security = prover().security();
                assert!(security.conjectured_bits >= 100, "{security}");
                assert_eq!(security.query_bits, 100);
                assert_eq!(security.extension_field_bits, 123);
                // Plonky3's stricter estimate: 98 bits at blowup 4 and 42 queries (the
                // recursion crate checks that the leaf layer is no stronger).
                assert!(security.p3_random_words_ldt_bits >= 98, "{security}");
                assert!(security.to_string().contains("conjectured"));
            }

            // ---- bad witnesses: the prover reports them ----

            fn tampered_arith(shard: &mut Shard<F>) {
                // A chain cell: the degree-3 constraint of its row fails.
                let width = shard.traces[0].width;
                shard.traces[0].values[17 * width + width - 1] += F::ONE;
            }

            fn tampered_out_of_range(shard: &mut Shard<F>) {
                // Byte 300 is no table row: AIR constraints stay satisfied (sums recomputed),
                // only the bus cannot balance.
                let main = &mut shard.traces[0];
                main.values[5 * main.width] = F::from_u64(300);
                test_airs::recompute_main_trace(main);
                shard.public_values[0] = test_airs::main_public_values(&shard.traces[0]);
                let range = test_airs::range_trace(&shard.traces[0]);
                let last = shard.traces.len() - 1;
                shard.traces[last] = range;
            }

            fn tampered_multiplicity(shard: &mut Shard<F>) {
                // The range table claims one extra use of byte 7.
                let last = shard.traces.len() - 1;
                shard.traces[last].values[7 * 2 + 1] += F::ONE;
            }

            fn tampered_public_value(shard: &mut Shard<F>) {
                shard.public_values[0][0] += F::ONE;
            }

            const TAMPERS: [(&str, fn(&mut Shard<F>)); 4] = [
                ("arith", tampered_arith),
                ("out-of-range", tampered_out_of_range),
                ("multiplicity", tampered_multiplicity),
                ("public value", tampered_public_value),
            ];

            #[test]
            fn prover_reports_bad_witnesses() {
                for (name, tamper) in TAMPERS {
                    let mut shard = Shard::<F>::three_tables(8, 6, 4, 9);
                    tamper(&mut shard);
                    let Err(err) = prover().prove(&shard.airs, &shard.traces, &shard.public_values)
                    else {
                        panic!("{name}: a bad witness was proven");
                    };
                    let expected = match name {
                        "out-of-range" | "multiplicity" => {
                            matches!(err, ProveError::LookupImbalance(_))
                        }
                        _ => matches!(err, ProveError::ConstraintViolation { instance: 0, .. }),
                    };
                    assert!(expected, "{name}: unexpected error {err}");
                }
            }

            #[test]
            fn arith_violation_names_its_row() {
                let mut shard = Shard::<F>::two_tables(8, 6, 10);
                tampered_arith(&mut shard);
                match prover().prove(&shard.airs, &shard.traces, &shard.public_values) {
                    Err(ProveError::ConstraintViolation { instance, row, .. }) => {
                        assert_eq!((instance, row), (0, 17));
                    }
                    Err(other) => panic!("expected a constraint violation, got {other}"),
                    Ok(_) => panic!("a bad witness was proven"),
                }
            }

            /// The row the witness check reports for `shard` (it must fail there).
            fn violation_row(shard: &Shard<F>) -> usize {
                match prover().prove(&shard.airs, &shard.traces, &shard.public_values) {
                    Err(ProveError::ConstraintViolation { instance: 0, row, .. }) => row,
                    Err(other) => panic!("expected a constraint violation, got {other}"),
                    Ok(_) => panic!("a bad witness was proven"),
                }
            }

            #[test]
            fn the_witness_check_reports_the_first_violating_row() {
                // 256 rows: the check runs several rows per SIMD lane group, so this covers a
                // violation in every lane position that matters (first, inside, last of a group;
                // the first and last rows, whose selectors differ) and two in different groups.
                let fresh = || Shard::<F>::two_tables(8, 6, 10);
                let width = fresh().traces[0].width;
                let chain = |rows: &[usize]| {
                    let mut shard = fresh();
                    for &r in rows {
                        shard.traces[0].values[r * width + width - 1] += F::ONE;
                    }
                    violation_row(&shard)
                };
                for r in [0, 1, 15, 16, 17, 100, 254, 255] {
                    assert_eq!(chain(&[r]), r, "chain cell of row {r}");
                }
                assert_eq!(chain(&[200, 40]), 40);
                assert_eq!(chain(&[255, 3]), 3);

                // The running sum at the last row: the transition from row 254 fails first.
                let mut shard = fresh();
                shard.traces[0].values[255 * width + test_airs::SUM_COLUMN] += F::ONE;
                assert_eq!(violation_row(&shard), 254);
                // At the first row: the first-row constraint.
                let mut shard = fresh();
                shard.traces[0].values[test_airs::SUM_COLUMN] += F::ONE;
                assert_eq!(violation_row(&shard), 0);
                // A wrong total: only the last-row constraint fails.
                let mut shard = fresh();
                shard.public_values[0][0] += F::ONE;
                assert_eq!(violation_row(&shard), 255);
            }

            // ---- bad witnesses proven anyway: the verifier rejects ----

            #[test]
            fn verifier_rejects_proofs_of_bad_witnesses() {
                for (name, tamper) in TAMPERS {
                    let mut shard = Shard::<F>::three_tables(8, 6, 4, 11);
                    tamper(&mut shard);
                    let prover = unchecked_prover();
                    let proof = prover
                        .prove(&shard.airs, &shard.traces, &shard.public_values)
                        .expect("the unchecked pipeline still produces a proof");
                    let result = prover.verify(&shard.airs, &proof, &shard.public_values);
                    assert!(
                        matches!(result, Err(VerifyError::Rejected(_))),
                        "{name}: {result:?}"
                    );
                }
            }

            #[test]
            fn verifier_rejects_other_public_values() {
                let shard = Shard::<F>::three_tables(8, 6, 4, 12);
                let prover = prover();
                let proof = prover
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .expect("prove");
                prover
                    .verify(&shard.airs, &proof, &shard.public_values)
                    .expect("valid proof verifies");
                for instance in [0, 1] {
                    let mut pv = shard.public_values.clone();
                    pv[instance][0] += F::ONE;
                    assert!(prover.verify(&shard.airs, &proof, &pv).is_err());
                }
                let mut short = shard.public_values.clone();
                short[1].pop();
                assert!(matches!(
                    prover.verify(&shard.airs, &proof, &short),
                    Err(VerifyError::Malformed(_))
                ));
            }

            // ---- corrupt and arbitrary bytes: errors, never panics ----

            #[test]
            fn verifier_rejects_flipped_proof_bytes() {
                let shard = Shard::<F>::two_tables(7, 6, 13);
                let prover = prover();
                let bytes = prove_bytes(&prover, &shard);
                let mut rng = TestRng::new(14);
                let mut positions: Vec<usize> = (0..48).map(|_| rng.below(bytes.len())).collect();
                positions.extend([0, 1, bytes.len() / 2, bytes.len() - 1]);
                for at in positions {
                    let mut corrupt = bytes.clone();
                    corrupt[at] ^= 1 << rng.below(8);
                    assert!(
                        prover
                            .verify_bytes(&shard.airs, &corrupt, &shard.public_values)
                            .is_err(),
                        "flipping a bit of byte {at} still verifies"
                    );
                }
            }

            #[test]
            fn verifier_errors_on_truncated_and_random_bytes() {
                let shard = Shard::<F>::two_tables(6, 5, 15);
                let prover = prover();
                let bytes = prove_bytes(&prover, &shard);
                let mut rng = TestRng::new(16);
                for _ in 0..24 {
                    let len = rng.below(bytes.len());
                    assert!(
                        prover
                            .verify_bytes(&shard.airs, &bytes[..len], &shard.public_values)
                            .is_err()
                    );
                }
                let mut extended = bytes.clone();
                extended.push(0);
                assert!(matches!(
                    prover.verify_bytes(&shard.airs, &extended, &shard.public_values),
                    Err(VerifyError::TrailingBytes(1))
                ));
                for len in [0, 1, 7, 64, 1000, bytes.len()] {
                    let random: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                    assert!(
                        prover
                            .verify_bytes(&shard.airs, &random, &shard.public_values)
                            .is_err()
                    );
                }
            }

            #[test]
            fn verifier_errors_on_structurally_wrong_proofs() {
                let shard = Shard::<F>::two_tables(6, 5, 17);
                let prover = prover();
                let proof = prover
                    .prove(&shard.airs, &shard.traces, &shard.public_values)
                    .expect("prove");
                let bytes = proof_to_bytes(&proof).expect("encode");
                let decode = || proof_from_bytes::<crate::ProverConfig<F>>(&bytes).expect("decode");

                let mut huge = decode();
                huge.degree_bits[0] = 63;
                let mut tiny = decode();
                tiny.degree_bits[1] = 0;
                let mut shifted = decode();
                shifted.degree_bits[0] += 1;
                let mut missing = decode();
                missing.opened_values.instances.pop();
                let mut narrow = decode();
                narrow.opened_values.instances[0]
                    .base_opened_values
                    .trace_local
                    .pop();
                let mut no_chunks = decode();
                no_chunks.opened_values.instances[0]
                    .base_opened_values
                    .quotient_chunks
                    .clear();
                let mut no_terminal = decode();
                no_terminal.lookup_terminals[1] = None;
                for (name, bad) in [
                    ("huge degree", huge),
                    ("tiny degree", tiny),
                    ("shifted degree", shifted),
                    ("missing instance", missing),
                    ("narrow opening", narrow),
                    ("no quotient chunks", no_chunks),
                    ("no terminal", no_terminal),
                ] {
                    let result = prover.verify(&shard.airs, &bad, &shard.public_values);
                    assert!(result.is_err(), "{name} verified");
                }
            }

            // ---- input validation ----

            #[test]
            fn prover_rejects_bad_shapes() {
                let shard = Shard::<F>::two_tables(6, 5, 18);
                let prover = prover();

                let mut wide = shard.clone();
                wide.traces[0] = test_airs::main_trace::<F>(6, 6, 18);
                assert!(matches!(
                    prover.prove(&wide.airs, &wide.traces, &wide.public_values),
                    Err(ProveError::TraceWidth {
                        instance: 0,
                        expected: 5,
                        actual: 6
                    })
                ));

                let mut odd = shard.clone();
                odd.traces[1].values.truncate(255 * 2);
                assert!(matches!(
                    prover.prove(&odd.airs, &odd.traces, &odd.public_values),
                    Err(ProveError::TraceHeightNotPowerOfTwo {
                        instance: 1,
                        height: 255
                    })
                ));

                let tiny_main = test_airs::main_trace::<F>(1, 5, 18);
                let tiny = Shard {
                    public_values: vec![test_airs::main_public_values(&tiny_main), vec![]],
                    traces: vec![tiny_main.clone(), test_airs::range_trace(&tiny_main)],
                    airs: shard.airs.clone(),
                };
                assert!(matches!(
                    prover.prove(&tiny.airs, &tiny.traces, &tiny.public_values),
                    Err(ProveError::TraceHeightOutOfRange { instance: 0, .. })
                ));

                assert!(matches!(
                    prover.prove(&shard.airs, &shard.traces[..1], &shard.public_values),
                    Err(ProveError::CountMismatch { .. })
                ));
                let no_airs: [test_airs::ShardAir; 0] = [];
                assert!(matches!(
                    prover.prove(&no_airs, &[], &[]),
                    Err(ProveError::NoInstances)
                ));

                let mut pv = shard.public_values.clone();
                pv[1].push(F::ONE);
                assert!(matches!(
                    prover.prove(&shard.airs, &shard.traces, &pv),
                    Err(ProveError::PublicValueCount {
                        instance: 1,
                        expected: 0,
                        actual: 1
                    })
                ));
            }

            #[test]
            fn range_table_counts_every_byte() {
                let shard = Shard::<F>::two_tables(8, 5, 19);
                let total: u64 = shard.traces[1]
                    .values
                    .chunks_exact(2)
                    .map(|row| row[1].as_canonical_u64())
                    .sum();
                assert_eq!(total, (test_airs::BYTE_COLUMNS << 8) as u64);
            }
        }
    };
}

/// A backend that evaluates the quotient with the wrong folding challenge: a stand-in for a
/// buggy device kernel, which the conformance check must catch.
struct WrongAlphaBackend<B>(B);

impl<SC, B> crate::Backend<SC> for WrongAlphaBackend<B>
where
    SC: p3_batch_stark::StarkGenericConfig,
    B: crate::Backend<SC>,
{
    type Trace<'a> = B::Trace<'a>;
    type Committed = B::Committed;
    type Quotient = B::Quotient;
    type Reduced = B::Reduced;

    fn load_trace<'a>(
        &self,
        trace: &'a p3_matrix::dense::RowMajorMatrix<p3_batch_stark::Val<SC>>,
    ) -> Result<Self::Trace<'a>, crate::BackendError> {
        self.0.load_trace(trace)
    }

    fn commit(
        &self,
        traces: Vec<(p3_batch_stark::Domain<SC>, Self::Trace<'_>)>,
    ) -> Result<(p3_batch_stark::Commitment<SC>, Self::Committed), crate::BackendError> {
        self.0.commit(traces)
    }

    fn logup_trace(
        &self,
        main: &Self::Trace<'_>,
        preprocessed: Option<&p3_matrix::dense::RowMajorMatrix<p3_batch_stark::Val<SC>>>,
        public_values: &[p3_batch_stark::Val<SC>],
        lookups: &[p3_lookup::Lookup<p3_batch_stark::Val<SC>>],
        challenges: &[SC::Challenge],
    ) -> Result<
        (
            Self::Trace<'static>,
            Option<p3_lookup::LookupTerminal<SC::Challenge>>,
        ),
        crate::BackendError,
    > {
        self.0
            .logup_trace(main, preprocessed, public_values, lookups, challenges)
    }

    fn quotient(
        &self,
        mut job: crate::QuotientJob<'_, SC, Self::Committed>,
    ) -> Result<Self::Quotient, crate::BackendError> {
        job.alpha += <SC::Challenge as p3_field::PrimeCharacteristicRing>::ONE;
        self.0.quotient(job)
    }

    fn commit_quotients(
        &self,
        quotients: Vec<(p3_batch_stark::Domain<SC>, usize, Self::Quotient)>,
    ) -> Result<(p3_batch_stark::Commitment<SC>, Self::Committed), crate::BackendError> {
        self.0.commit_quotients(quotients)
    }

    fn evaluate_openings(
        &self,
        rounds: &[crate::OpeningRound<'_, Self::Committed, SC::Challenge>],
    ) -> Result<p3_commit::OpenedValues<SC::Challenge>, crate::BackendError> {
        self.0.evaluate_openings(rounds)
    }

    fn reduce_openings(
        &self,
        rounds: &[crate::OpeningRound<'_, Self::Committed, SC::Challenge>],
        opened: &p3_commit::OpenedValues<SC::Challenge>,
        alpha: SC::Challenge,
    ) -> Result<Self::Reduced, crate::BackendError> {
        self.0.reduce_openings(rounds, opened, alpha)
    }

    fn prove_fri(
        &self,
        reduced: Self::Reduced,
        rounds: &[crate::OpeningRound<'_, Self::Committed, SC::Challenge>],
        challenger: &mut SC::Challenger,
        batch_pow_witness: p3_batch_stark::Val<SC>,
    ) -> Result<p3_batch_stark::PcsProof<SC>, crate::BackendError> {
        self.0
            .prove_fri(reduced, rounds, challenger, batch_pow_witness)
    }
}

#[test]
fn conformance_check_catches_a_faulty_backend() {
    use crate::test_airs::conformance;
    let err =
        conformance::conformance_koala_bear(|_, s| WrongAlphaBackend(crate::CpuBackend::new(s)))
            .expect_err("a wrong quotient must not pass");
    assert!(err.contains("differ"), "{err}");
    let err =
        conformance::conformance_baby_bear(|_, s| WrongAlphaBackend(crate::CpuBackend::new(s)))
            .expect_err("a wrong quotient must not pass");
    assert!(err.contains("differ"), "{err}");
}

#[test]
fn cpu_backend_passes_its_own_conformance_check() {
    use crate::test_airs::conformance;
    conformance::conformance_koala_bear(|_, s| crate::CpuBackend::new(s)).expect("KoalaBear");
    conformance::conformance_baby_bear(|_, s| crate::CpuBackend::new(s)).expect("BabyBear");
}

field_suite!(koala_bear, p3_koala_bear::KoalaBear);
field_suite!(baby_bear, p3_baby_bear::BabyBear);
