//! Inputs of the proving-kernel tests (reference models on the CPU, kernels on the GPU): real
//! constraint programs compiled exactly as the prover compiles them (EVM chips and the prover's
//! test AIRs, with their LogUp lookups), random LDEs and challenges, and the prover's own CPU
//! results they are compared with. One module per field (`kb`, `bb`), written once by a macro:
//! the prover's configuration types resolve on concrete fields only.
#![allow(dead_code)]

macro_rules! field_inputs {
    ($field:ty) => {
        use p3_air::symbolic::AirLayout;
        use p3_air::{Air, BaseAir};
        use p3_batch_stark::symbolic::{
            get_constraint_layout, get_log_num_quotient_chunks_for_domain, get_symbolic_constraints,
        };
        use p3_commit::PolynomialSpace;
        use p3_field::coset::TwoAdicMultiplicativeCoset;
        use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
        use p3_lookup::{InteractionSymbolicBuilder, LogUpGadget, LookupProtocol};
        use p3_matrix::Matrix;
        use p3_matrix::bitrev::BitReversibleMatrix;
        use p3_matrix::dense::RowMajorMatrix;
        use rand::RngExt;
        use rand::rngs::SmallRng;
        use slotproof_cuda::DeviceField;
        use slotproof_cuda::quotient::{DeviceProgram, QuotientDomain, QuotientEnv};
        use slotproof_prover::interpreter::ProgramEnv;
        use slotproof_prover::program::{ConstraintProgram, ProgramInputs};
        use slotproof_prover::{CpuShardProver, FriSettings};

        pub type F = $field;
        pub type EF = slotproof_prover::field::Challenge<F>;

        /// One AIR's compiled program and the log2 of its quotient chunks.
        pub struct CompiledAir {
            pub name: String,
            pub program: ConstraintProgram<F, EF>,
            pub log_quotient_chunks: usize,
        }

        /// Compile every AIR's constraints (its own and LogUp's) as `ShardProver::plan` does.
        pub fn compile_airs<A>(airs: &[A], names: &[String], log_height: usize) -> Vec<CompiledAir>
        where
            A: Air<InteractionSymbolicBuilder<F, EF>> + BaseAir<F>,
        {
            let prover = CpuShardProver::<F>::cpu(FriSettings::DEFAULT);
            let data = prover
                .setup(airs, &vec![log_height; airs.len()])
                .expect("setup");
            let gadget = LogUpGadget::new();
            let domain = TwoAdicMultiplicativeCoset::new(F::ONE, log_height).unwrap();
            airs.iter()
                .enumerate()
                .map(|(i, air)| {
                    let lookups = &data.common.lookups[i];
                    let layout = AirLayout {
                        preprocessed_width: 0,
                        main_width: air.width(),
                        num_public_values: air.num_public_values(),
                        num_periodic_columns: air.num_periodic_columns(),
                        ..Default::default()
                    };
                    let log_quotient_chunks = get_log_num_quotient_chunks_for_domain::<_, EF, A, _>(
                        air, layout, domain, lookups, 0, &gadget,
                    );
                    let (base, ext) = get_symbolic_constraints(air, layout, lookups, &gadget);
                    let constraint_layout = get_constraint_layout(air, layout, lookups, &gadget);
                    let has = !lookups.is_empty();
                    let program = ConstraintProgram::compile(
                        &base,
                        &ext,
                        &constraint_layout,
                        ProgramInputs {
                            main_width: air.width(),
                            permutation_width: if has { lookups.len() + 1 } else { 0 },
                            num_public_values: air.num_public_values(),
                            num_challenges: lookups.len() * gadget.num_challenges(),
                            num_permutation_values: usize::from(has),
                        },
                    )
                    .expect("compile");
                    CompiledAir {
                        name: names[i].clone(),
                        program,
                        log_quotient_chunks,
                    }
                })
                .collect()
        }

        /// The EVM chips of a shard.
        pub fn evm_programs(log_height: usize) -> Vec<CompiledAir> {
            let airs = slotproof_air::EvmAir::shard_airs();
            let names: Vec<String> = airs.iter().map(|a| format!("{a:?}")).collect();
            compile_airs(&airs, &names, log_height)
        }

        /// The Keccak permutation, sponge and word chips (not yet tables of a shard).
        pub fn keccak_programs(log_height: usize) -> Vec<CompiledAir> {
            let airs = [
                slotproof_air::EvmAir::KeccakPerm(slotproof_air::KeccakPermAir),
                slotproof_air::EvmAir::KeccakSponge(slotproof_air::KeccakSpongeAir),
                slotproof_air::EvmAir::KeccakBytes(slotproof_air::KeccakBytesAir),
            ];
            let names: Vec<String> = airs.iter().map(|a| format!("{a:?}")).collect();
            compile_airs(&airs, &names, log_height)
        }

        /// The prover's test AIRs (main with a range lookup, range table, Fibonacci).
        pub fn test_air_programs(log_height: usize) -> Vec<CompiledAir> {
            let shard =
                slotproof_prover::test_airs::Shard::<F>::three_tables(log_height, 5, log_height, 7);
            let names: Vec<String> = (0..shard.airs.len())
                .map(|i| format!("test AIR {i}"))
                .collect();
            compile_airs(&shard.airs, &names, log_height)
        }

        /// Random inputs of one quotient evaluation: LDEs stored bit-reversed, `2^extra_rows_log`
        /// times taller than the quotient domain (as a committed LDE may be), and the environment.
        pub struct QuotientCase {
            pub log_trace: usize,
            pub log_quotient: usize,
            /// Row-major, bit-reversed storage order, height >= 2^log_quotient.
            pub main: RowMajorMatrix<F>,
            pub perm: Option<RowMajorMatrix<F>>,
            pub public_values: Vec<F>,
            pub challenges: Vec<EF>,
            pub permutation_values: Vec<EF>,
            pub alpha: EF,
        }

        pub fn random_case(
            rng: &mut SmallRng,
            air: &CompiledAir,
            log_trace: usize,
            extra_rows_log: usize,
        ) -> QuotientCase {
            let inputs = air.program.inputs;
            let log_quotient = log_trace + air.log_quotient_chunks;
            let height = 1 << (log_quotient + extra_rows_log);
            let main = RowMajorMatrix::rand(rng, height, inputs.main_width.max(1));
            let perm = (inputs.permutation_width > 0)
                .then(|| RowMajorMatrix::rand(rng, height, 4 * inputs.permutation_width));
            QuotientCase {
                log_trace,
                log_quotient,
                main,
                perm,
                public_values: (0..inputs.num_public_values)
                    .map(|_| rng.random())
                    .collect(),
                challenges: (0..inputs.num_challenges).map(|_| rng.random()).collect(),
                permutation_values: (0..inputs.num_permutation_values)
                    .map(|_| rng.random())
                    .collect(),
                alpha: rng.random(),
            }
        }

        impl QuotientCase {
            /// The prover's CPU quotient on this case (`quotient_values` on the natural-order
            /// view of the first 2^log_quotient rows, as `get_evaluations_on_domain` gives it),
            /// as 4 coefficient columns of Montgomery words.
            pub fn cpu_quotient(&self, air: &CompiledAir) -> Vec<u32> {
                let q = 1usize << self.log_quotient;
                let view = |m: &RowMajorMatrix<F>| {
                    RowMajorMatrix::new(m.values[..q * m.width()].to_vec(), m.width())
                        .bit_reverse_rows()
                        .to_row_major_matrix()
                };
                let main = view(&self.main);
                let perm = self.perm.as_ref().map(view);
                let trace_domain = TwoAdicMultiplicativeCoset::new(F::ONE, self.log_trace).unwrap();
                let quotient_domain = trace_domain.create_disjoint_domain(q);
                let values = slotproof_prover::quotient::quotient_values(
                    &air.program,
                    &self.env(),
                    self.alpha,
                    trace_domain,
                    quotient_domain,
                    &main,
                    perm.as_ref(),
                );
                let mut out = vec![0u32; 4 * q];
                for (i, v) in values.iter().enumerate() {
                    let c: &[F] = v.as_basis_coefficients_slice();
                    for k in 0..4 {
                        out[k * q + i] = c[k].to_monty_word();
                    }
                }
                out
            }

            pub fn env(&self) -> ProgramEnv<'_, F, EF> {
                ProgramEnv {
                    public_values: &self.public_values,
                    challenges: &self.challenges,
                    permutation_values: &self.permutation_values,
                }
            }

            pub fn device_inputs(
                &self,
                air: &CompiledAir,
            ) -> (DeviceProgram, QuotientEnv, QuotientDomain) {
                (
                    DeviceProgram::lower(&air.program).expect("lower"),
                    QuotientEnv::new(
                        &air.program,
                        &self.public_values,
                        &self.challenges,
                        &self.permutation_values,
                        self.alpha,
                    )
                    .expect("env"),
                    QuotientDomain::new::<F>(self.log_trace, self.log_quotient).expect("domain"),
                )
            }
        }

        /// Random LDE-shaped matrices (`(log_height, width)`) with one or two opening points
        /// each, the prover's evaluations at them (`opened[matrix][point][column]`) and its
        /// α-reduced codewords, one per height, tallest first (`reduced[k]` has height
        /// `heights[k]`): the inputs and expected outputs of the opening kernels.
        pub struct OpeningCase {
            pub log_blowup: usize,
            pub mats: Vec<RowMajorMatrix<F>>,
            pub points: Vec<Vec<EF>>,
            pub opened: Vec<Vec<Vec<EF>>>,
            pub alpha: EF,
            pub heights: Vec<usize>,
            pub reduced: Vec<Vec<EF>>,
        }

        pub fn opening_case(rng: &mut SmallRng, shapes: &[(usize, usize)]) -> OpeningCase {
            let log_blowup = 1;
            let mats: Vec<RowMajorMatrix<F>> = shapes
                .iter()
                .map(|&(log_h, w)| RowMajorMatrix::rand(rng, 1 << log_h, w))
                .collect();
            let points: Vec<Vec<EF>> = (0..mats.len())
                .map(|i| (0..1 + i % 2).map(|_| rng.random()).collect())
                .collect();
            let rounds = [slotproof_prover::opening::RoundMatrices {
                matrices: mats.iter().collect(),
                points: &points,
            }];
            let opened = slotproof_prover::opening::evaluate_at_points(&rounds, log_blowup);
            let alpha: EF = rng.random();
            let reduced = slotproof_prover::opening::reduce_openings(&rounds, &opened, alpha);
            let mut heights: Vec<usize> = mats.iter().map(|m| m.height()).collect();
            heights.sort_unstable();
            heights.dedup();
            heights.reverse();
            let opened = opened.into_iter().next().expect("one round");
            OpeningCase {
                log_blowup,
                mats,
                points,
                opened,
                alpha,
                heights,
                reduced,
            }
        }

        /// One AIR instance's LogUp inputs: its lookups (from the prover's setup, as the prover
        /// passes them to the backend), its main trace and public values, random challenges.
        pub struct LogUpCase {
            pub name: String,
            pub lookups: Vec<p3_lookup::Lookup<F>>,
            pub main: RowMajorMatrix<F>,
            pub public_values: Vec<F>,
            pub challenges: Vec<EF>,
        }

        impl LogUpCase {
            /// Plonky3: `LogUpGadget::generate_permutation(..).flatten_to_base()` as column-major
            /// words, and the terminal's words.
            pub fn cpu(&self) -> (Vec<u32>, Option<[u32; 4]>) {
                let (trace, terminal) = LogUpGadget::new().generate_permutation::<F, EF>(
                    &self.main,
                    &None,
                    &self.public_values,
                    &self.lookups,
                    &self.challenges,
                );
                Self::words(trace, terminal)
            }

            /// The CPU backend's own LogUp trace (`slotproof_prover::logup_trace`), as
            /// [`Self::cpu`] gives Plonky3's.
            pub fn prover_cpu(&self) -> (Vec<u32>, Option<[u32; 4]>) {
                let (trace, terminal) = slotproof_prover::logup_trace::logup_trace::<F, EF>(
                    &self.main,
                    None,
                    &self.public_values,
                    &self.lookups,
                    &self.challenges,
                );
                Self::words(trace, terminal)
            }

            fn words(
                trace: RowMajorMatrix<EF>,
                terminal: Option<p3_lookup::LookupTerminal<EF>>,
            ) -> (Vec<u32>, Option<[u32; 4]>) {
                let flat = trace.flatten_to_base();
                let words = if flat.width() == 0 {
                    Vec::new()
                } else {
                    column_words(&flat)
                };
                (
                    words,
                    terminal.map(|t| ext_words(&[t.0]).try_into().expect("4 words")),
                )
            }

            /// The compiled lookups and the environment the kernel and its model take.
            pub fn device_inputs(
                &self,
            ) -> slotproof_cuda::Result<(
                slotproof_cuda::logup::LogUpProgram,
                slotproof_cuda::logup::LogUpEnv,
            )> {
                let program = slotproof_cuda::logup::LogUpProgram::compile::<F, EF>(
                    &self.lookups,
                    self.main.width(),
                    self.public_values.len(),
                )?;
                let env = slotproof_cuda::logup::LogUpEnv::new::<F, EF>(
                    &program,
                    &self.public_values,
                    &self.challenges,
                )?;
                Ok((program, env))
            }

            /// Panic naming the first differing word (or the terminal) when `got` (a kernel's or
            /// the model's trace and terminal, with `threads`) is not `expected` (Plonky3's).
            pub fn assert_same(
                &self,
                tag: &str,
                threads: usize,
                got: &(Vec<u32>, Option<[u32; 4]>),
                expected: &(Vec<u32>, Option<[u32; 4]>),
            ) {
                assert!(
                    got.1 == expected.1,
                    "{tag} {}: terminal {:?} vs Plonky3 {:?}",
                    self.name,
                    got.1,
                    expected.1
                );
                if let Some(at) = got.0.iter().zip(&expected.0).position(|(a, b)| a != b) {
                    panic!(
                        "{tag} {} ({} rows, {threads} threads): word {at} differs",
                        self.name,
                        self.main.height()
                    );
                }
                assert_eq!(got.0.len(), expected.0.len(), "{}", self.name);
            }

            /// The model's LogUp trace and terminal (`max_threads` as the kernel's launch).
            pub fn model(
                &self,
                max_threads: usize,
            ) -> slotproof_cuda::Result<(Vec<u32>, Option<[u32; 4]>)> {
                let (program, env) = self.device_inputs()?;
                slotproof_cuda::model::logup::logup_trace::<F>(
                    &program,
                    &env,
                    &column_words(&self.main),
                    self.main.height(),
                    self.main.width(),
                    max_threads,
                )
            }
        }

        /// The LogUp cases of a batch: one per instance, with the prover's lookups.
        pub fn logup_cases<A>(
            rng: &mut SmallRng,
            airs: &[A],
            names: &[String],
            traces: &[RowMajorMatrix<F>],
            public_values: &[Vec<F>],
        ) -> Vec<LogUpCase>
        where
            A: Air<InteractionSymbolicBuilder<F, EF>> + BaseAir<F>,
        {
            let prover = CpuShardProver::<F>::cpu(FriSettings::DEFAULT);
            let log_heights: Vec<usize> = traces
                .iter()
                .map(|t| p3_util::log2_ceil_usize(t.height()))
                .collect();
            let data = prover.setup(airs, &log_heights).expect("setup");
            (0..airs.len())
                .map(|i| {
                    let lookups: Vec<p3_lookup::Lookup<F>> = data.common.lookups[i].to_vec();
                    LogUpCase {
                        name: names[i].clone(),
                        challenges: (0..2 * lookups.len()).map(|_| rng.random()).collect(),
                        lookups,
                        main: traces[i].clone(),
                        public_values: public_values[i].clone(),
                    }
                })
                .collect()
        }

        /// The prover's test AIRs: main table (byte lookups) + Fibonacci (none) + range table.
        pub fn test_air_logup_cases(rng: &mut SmallRng, log_main: usize) -> Vec<LogUpCase> {
            let shard =
                slotproof_prover::test_airs::Shard::<F>::three_tables(log_main, 6, 4, rng.random());
            let names: Vec<String> = shard.airs.iter().map(|a| format!("{a:?}")).collect();
            logup_cases(
                rng,
                &shard.airs,
                &names,
                &shard.traces,
                &shard.public_values,
            )
        }

        /// Real EVM shard tables: the generated `token` block (ERC-20 transfers, one reverting),
        /// executed with every check passing, its first subblock cut into shards of at most
        /// `max_rows` steps; the first `shards` shards, every chip.
        pub fn evm_logup_cases(
            rng: &mut SmallRng,
            max_rows: usize,
            shards: usize,
        ) -> Vec<LogUpCase> {
            let generated = slotproof_executor::generate::generate_checked(
                slotproof_executor::generate::FixtureKind::Token,
            )
            .expect("generated block");
            let trace = &generated.execution.subblocks[0].trace;
            let mut cases = Vec::new();
            for (s, shard) in slotproof_air::generate_shards::<F>(trace, max_rows)
                .expect("shards")
                .into_iter()
                .take(shards)
                .enumerate()
            {
                let names: Vec<String> = shard
                    .airs
                    .iter()
                    .map(|a| format!("shard {s} {a:?}"))
                    .collect();
                cases.extend(logup_cases(
                    rng,
                    &shard.airs,
                    &names,
                    &shard.traces,
                    &shard.public_values,
                ));
            }
            cases
        }

        /// Hand-built lookups over a random trace that the AIRs above do not exercise: an
        /// exclusive lookup (boolean flags, at most one per row, some rows with none), tuples of
        /// width 0 to 3 whose elements read the next row, public values, selectors and
        /// constants, and multiplicities that are often zero.
        pub fn synthetic_logup_case(rng: &mut SmallRng, height: usize) -> LogUpCase {
            use p3_air::symbolic::{BaseEntry, BaseLeaf, SymbolicExpression, SymbolicVariable};
            use p3_lookup::{Kind, Lookup};
            type E = SymbolicExpression<F>;
            let col = |offset: usize, c: usize| -> E {
                SymbolicVariable::<F>::new(BaseEntry::Main { offset }, c).into()
            };
            let public =
                |i: usize| -> E { SymbolicVariable::<F>::new(BaseEntry::Public, i).into() };
            let (first, last, transition) = (
                E::Leaf(BaseLeaf::IsFirstRow),
                E::Leaf(BaseLeaf::IsLastRow),
                E::Leaf(BaseLeaf::IsTransition),
            );
            // Columns 0..3: data; 3: a small multiplicity (often 0); 4, 5: exclusive flags.
            let width = 6;
            let mut values = Vec::with_capacity(height * width);
            for _ in 0..height {
                let branch = rng.random_range(0..3u32);
                values.extend([
                    rng.random(),
                    rng.random(),
                    rng.random(),
                    F::from_u32(rng.random_range(0..3u32)),
                    F::from_bool(branch == 1),
                    F::from_bool(branch == 2),
                ]);
            }
            let main = RowMajorMatrix::new(values, width);
            let additive = Lookup {
                kind: Kind::Local,
                elements: vec![
                    vec![col(0, 0), col(1, 1) * public(0), E::from(F::from_u32(5))],
                    vec![],
                    vec![col(0, 2) + first],
                    vec![col(1, 0) - last, col(0, 1) * transition],
                ],
                multiplicities: vec![
                    col(0, 3),
                    E::from(F::ONE),
                    -col(1, 3),
                    col(0, 3) * col(0, 3),
                ],
                count_weight: 1,
                column: 0,
                flags: None,
            };
            let exclusive = Lookup {
                kind: Kind::Global("synthetic".into()),
                elements: vec![vec![col(0, 0), col(0, 1)], vec![col(1, 2), public(1)]],
                multiplicities: vec![col(0, 3), -E::from(F::TWO)],
                count_weight: 2,
                column: 1,
                flags: Some(vec![col(0, 4), col(0, 5)]),
            };
            LogUpCase {
                name: "synthetic (additive + exclusive)".into(),
                lookups: vec![additive, exclusive],
                main,
                public_values: vec![rng.random(), rng.random()],
                challenges: (0..4).map(|_| rng.random()).collect(),
            }
        }

        /// Column-major Montgomery words of a row-major matrix.
        pub fn column_words(m: &RowMajorMatrix<F>) -> Vec<u32> {
            let (h, w) = (m.height(), m.width());
            let mut out = vec![0u32; h * w];
            for r in 0..h {
                for c in 0..w {
                    out[c * h + r] = m.values[r * w + c].to_monty_word();
                }
            }
            out
        }

        /// Montgomery words of extension elements, interleaved.
        pub fn ext_words(v: &[EF]) -> Vec<u32> {
            let mut out = Vec::with_capacity(4 * v.len());
            for x in v {
                let c: &[F] = x.as_basis_coefficients_slice();
                out.extend(c.iter().map(|c| c.to_monty_word()));
            }
            out
        }
    };
}

pub mod kb {
    field_inputs!(p3_koala_bear::KoalaBear);
}

pub mod bb {
    field_inputs!(p3_baby_bear::BabyBear);
}
