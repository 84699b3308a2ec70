//! `Build` runs the same verifier code as `Native` and emits a recursion program: the
//! constraint fold of a real AIR (the test main table: AIR and LogUp constraints) becomes
//! `Const`/`Hint`/`Alu` rows whose execution gives `Native`'s value, and whose tables prove and
//! verify. Parts without rows yet are a typed error.

use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use slotproof_prover::test_airs::Shard;
use slotproof_prover::{CpuShardProver, FriSettings, ShardProver, proof_to_bytes};
use slotproof_recursion::build::{Build, BuildError};
use slotproof_recursion::config::{Challenge, Val};
use slotproof_recursion::key::InstanceShape;
use slotproof_recursion::tables::RecursionAir;
use slotproof_recursion::verifier::{ConstraintInputs, PlaceholderInputs, fold_constraints};
use slotproof_recursion::{MirrorKey, Native, Ops, verify_generic};

fn ext(seed: u32) -> Challenge {
    Challenge::from_basis_coefficients_fn(|k| {
        Val::from_u32(seed.wrapping_mul(2_654_435_761) ^ (k as u32 * 977 + 13))
    })
}

/// Arbitrary values for everything the instance's constraints read at ζ.
struct AtZeta {
    row_local: Vec<Challenge>,
    row_next: Vec<Challenge>,
    public_values: Vec<Val>,
    perm_local: Vec<Challenge>,
    perm_next: Vec<Challenge>,
    challenges: Vec<Challenge>,
    terminals: Vec<Challenge>,
    selectors: [Challenge; 3],
    alpha: Challenge,
}

impl AtZeta {
    fn for_instance(inst: &InstanceShape) -> Self {
        let width = inst.width + inst.preprocessed_width;
        let perm = if inst.lookups.is_empty() {
            0
        } else {
            inst.lookups.len() + 1
        };
        let mut seed = 0u32;
        let mut next = |n: usize| {
            (0..n)
                .map(|_| {
                    seed += 1;
                    ext(seed)
                })
                .collect::<Vec<_>>()
        };
        Self {
            row_local: next(width),
            row_next: next(width),
            public_values: next(inst.num_public_values)
                .into_iter()
                .map(|e| e.as_basis_coefficients_slice()[0])
                .collect(),
            perm_local: next(perm),
            perm_next: next(perm),
            challenges: next(2 * inst.lookups.len()),
            terminals: next(usize::from(perm > 0)),
            selectors: [ext(1001), ext(1002), ext(1003)],
            alpha: ext(1004),
        }
    }

    /// The fold through `ops`, every value entering as a proof input.
    fn fold<O: Ops>(&self, ops: &mut O, inst: &InstanceShape) -> O::E {
        let mut ins = |v: &[Challenge]| v.iter().map(|&x| ops.ext_input(x)).collect::<Vec<_>>();
        let (row_local, row_next) = (ins(&self.row_local), ins(&self.row_next));
        let (perm_local, perm_next) = (ins(&self.perm_local), ins(&self.perm_next));
        let (challenges, terminals) = (ins(&self.challenges), ins(&self.terminals));
        let sel = ins(&self.selectors);
        let alpha = ops.ext_input(self.alpha);
        let public_values: Vec<O::F> = self.public_values.iter().map(|&v| ops.input(v)).collect();
        fold_constraints(
            ops,
            &inst.program,
            &ConstraintInputs {
                row_local: &row_local,
                row_next: &row_next,
                public_values: &public_values,
                permutation_local: &perm_local,
                permutation_next: &perm_next,
                challenges: &challenges,
                terminals: &terminals,
                is_first_row: sel[0],
                is_last_row: sel[1],
                is_transition: sel[2],
                alpha,
            },
        )
        .expect("the inputs cover the program")
    }
}

fn key_for(shard: &Shard<Val>) -> MirrorKey {
    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let heights: Vec<usize> = shard
        .traces
        .iter()
        .map(|t| (t.values.len() / t.width).trailing_zeros() as usize)
        .collect();
    let data = prover.setup(&shard.airs, &heights).expect("key");
    MirrorKey::new(FriSettings::DEFAULT, &shard.airs, &heights, &data.common).expect("mirror key")
}

#[test]
fn the_built_constraint_fold_computes_natives_value_and_proves() {
    let key = key_for(&Shard::<Val>::two_tables(6, 8, 1));
    let inst = &key.instances[0];
    assert!(!inst.lookups.is_empty(), "the main table speaks on the bus");
    let at = AtZeta::for_instance(inst);

    let native = at.fold(&mut Native::new(&FriSettings::DEFAULT), inst);
    let mut build = Build::new();
    let out = at.fold(&mut build, inst);
    assert_eq!(out.value, native);
    let (program, hints, publics) = build
        .finish_with_publics()
        .expect("only arithmetic was used");
    let run = program
        .run_tables(&hints, &publics)
        .expect("the program runs");
    assert_eq!(
        run.memory[&out.addr], native,
        "the program computes Native's value"
    );
    eprintln!(
        "constraint fold of the test main table: {} Const, {} Hint, {} base hints, {} Alu rows",
        program.constants.len(),
        program.hints.len(),
        program.base_hints.len(),
        program.alu().count()
    );

    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let proof = prover
        .prove(&run.airs, &run.traces, &run.public_values)
        .expect("proves");
    prover
        .verify(&run.airs, &proof, &run.public_values)
        .expect("the stock verifier accepts");
}

/// A `Build` made without FRI settings cannot expand Merkle openings (it does not know the
/// cap height): `finish` names the operation. (`full_build.rs` builds the whole verifier
/// with `Build::for_settings`.)
#[test]
fn building_the_whole_verifier_names_the_first_missing_operation() {
    let shard = Shard::<Val>::two_tables(6, 5, 2);
    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves");
    assert!(!proof_to_bytes(&proof).expect("encode").is_empty());
    let key = key_for(&shard);
    let mut build = Build::new();
    let _ = verify_generic(&mut build, &key, &proof, &shard.public_values);
    assert_eq!(
        build.finish().map(|_| ()),
        Err(BuildError::Unsupported(
            "verify_opening (a Build without FRI settings)"
        ))
    );
}

fn prove_program(
    program: &slotproof_recursion::tables::program::Program,
    traces: [p3_matrix::dense::RowMajorMatrix<Val>; 3],
    check_witness: bool,
) -> Result<(), String> {
    let (consts, hint_air, alu) = program.airs();
    let airs = [
        RecursionAir::Const(consts),
        RecursionAir::Hint(hint_air),
        RecursionAir::Alu(alu),
    ];
    let pvs = [vec![], vec![], vec![]];
    let checked: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let prover = checked.with_options(slotproof_prover::ProverOptions { check_witness });
    let proof = prover
        .prove(&airs, &traces, &pvs)
        .map_err(|e| format!("prove: {e}"))?;
    let verifier: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    verifier
        .verify(&airs, &proof, &pvs)
        .map_err(|e| format!("verify: {e}"))
}

/// `inv` is a hinted inverse checked by an asserting row, `is_zero` an asserting row: a run
/// where both hold executes, proves and verifies.
#[test]
fn inverses_and_zero_checks_are_asserting_rows() {
    let mut build = Build::new();
    let x = build.ext_input(ext(7));
    let h = build.inv(x).expect("nonzero");
    let y = build.mul(x, h);
    let one = build.ext_constant(Challenge::ONE);
    let d = build.sub(y, one);
    assert!(build.is_zero(d));
    let (program, hints) = build.finish().expect("all supported");
    assert_eq!(program.alu().filter(|op| op.assert).count(), 2);
    let (traces, _) = program.execute(&hints).expect("the assertions hold");
    prove_program(&program, traces, true).expect("proves and verifies");
}

/// A zero check of a nonzero value: `Build` answers `false` (as `Native` does), the emitted
/// program's execution names the failing operation, and its tables forced through do not
/// verify (the checked prover refuses them first).
#[test]
fn a_failed_assertion_is_a_typed_error_and_forced_tables_do_not_verify() {
    use slotproof_recursion::tables::program::ProgramError;
    let mut build = Build::new();
    let x = build.ext_input(ext(8));
    let y = build.mul(x, x);
    assert!(!build.is_zero(y));
    let (program, hints) = build.finish().expect("all supported");
    let assert_op = program.ops.len() - 1;
    assert!(matches!(
        program.execute(&hints),
        Err(ProgramError::AssertionFailed { op, .. }) if op == assert_op
    ));
    let (traces, _) = program.execute_forced(&hints).expect("forced");
    let err = prove_program(&program, traces.clone(), true).expect_err("refused");
    assert!(err.contains("lookup buses do not balance"), "{err}");
    let err = prove_program(&program, traces, false).expect_err("does not verify");
    assert!(err.starts_with("verify"), "{err}");
}

/// The fold at ζ (`fold_constraints`: products folded into `mul_add` rows, constants folded, a
/// Horner chain over the constraints) is the plain fold's value, `Native` and `Build` alike, on
/// every EVM chip's and every recursion table's constraint program at arbitrary inputs, and the
/// built program computes it with fewer `Alu` rows.
#[test]
fn the_fold_at_zeta_is_the_plain_folds_value_with_fewer_rows() {
    use slotproof_air::EvmAir;
    use slotproof_air::shape::SHARD_SHAPES;
    use slotproof_prover::program::ConstraintProgram;
    use slotproof_recursion::fold::fold_constraints_plain;
    use slotproof_recursion::tables::program::Program;

    fn fold_with<O: Ops>(
        ops: &mut O,
        program: &ConstraintProgram<Val, Challenge>,
        plain: bool,
    ) -> O::E {
        let mut seed = 0u32;
        let inputs = PlaceholderInputs::new(
            ops,
            &program.inputs,
            |ops: &mut O| {
                seed += 1;
                ops.ext_input(ext(seed))
            },
            |ops: &mut O, k| ops.input(Val::from_u32(k as u32 * 7919 + 3)),
        );
        if plain {
            fold_constraints_plain(ops, program, &inputs.inputs())
        } else {
            fold_constraints(ops, program, &inputs.inputs())
        }
        .expect("the inputs cover the program")
    }

    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let evm = prover
        .instance_programs(&EvmAir::shard_airs(), &SHARD_SHAPES[0].log_heights)
        .expect("EVM programs");
    let recursion_airs = Program::default().all_airs(4);
    let recursion = prover
        .instance_programs(&recursion_airs, &vec![7; recursion_airs.len()])
        .expect("recursion table programs");
    let (mut lazy_rows, mut plain_rows) = (0, 0);
    for p in evm.iter().chain(&recursion) {
        let program = &p.program;
        let native = fold_with(&mut Native::new(&FriSettings::DEFAULT), program, true);
        assert_eq!(
            fold_with(&mut Native::new(&FriSettings::DEFAULT), program, false),
            native
        );
        let mut rows = [0; 2];
        for (plain, rows) in [true, false].into_iter().zip(&mut rows) {
            let mut build = Build::new();
            let out = fold_with(&mut build, program, plain);
            assert_eq!(out.value, native);
            let (built, hints, publics) = build.finish_with_publics().expect("arithmetic only");
            let run = built
                .run_tables(&hints, &publics)
                .expect("the program runs");
            assert_eq!(run.memory[&out.addr], native, "the rows compute the fold");
            *rows = built.alu().count();
        }
        assert!(rows[1] < rows[0], "{} rows, plain {}", rows[1], rows[0]);
        plain_rows += rows[0];
        lazy_rows += rows[1];
    }
    eprintln!(
        "fold at zeta, Alu rows of every EVM chip and recursion table: {lazy_rows} (plain {plain_rows})"
    );
}
