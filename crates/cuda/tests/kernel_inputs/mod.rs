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
