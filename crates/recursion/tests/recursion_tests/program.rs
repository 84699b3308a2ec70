//! A straight-line program on the memory bus (`Const`, `Hint` and `Alu` tables, the program as
//! preprocessed columns, a hinted word): a run proves and the stock verifier accepts it; a read of a value
//! that was not written, and a proof made for another program, are rejected; a program that
//! reads before writing is a typed error.

use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use slotproof_prover::{
    CpuShardProver, FriSettings, ProveError, ProverOptions, ShardProver, VerifyError,
};
use slotproof_recursion::config::{Challenge, Val};
use slotproof_recursion::tables::RecursionAir;
use slotproof_recursion::tables::program::{AluOp, Op, Program, ProgramError};

fn ext(seed: u32) -> Challenge {
    Challenge::from_basis_coefficients_fn(|k| Val::from_u32(seed * 7 + k as u32 * 13 + 1))
}

/// `x = c0·c1 + c2`, `y = x·x + c0`, `z = y·c1 + x`, `u = z·z + y`, `v = u·c2 + z`: later
/// operations read earlier results, and `c0`, `x`, `y`, `z` are read several times.
fn program() -> Program {
    let op = |a, b, c, out| {
        Op::Alu(AluOp {
            a,
            b,
            c,
            out,
            assert: false,
        })
    };
    Program {
        constants: vec![(9, ext(1)), (1, ext(2))],
        hints: vec![2],
        publics: vec![],
        ops: vec![
            op(9, 1, 2, 10),
            op(10, 10, 9, 11),
            op(11, 1, 10, 12),
            op(12, 12, 11, 13),
            op(13, 2, 12, 14),
        ],
        horner_values: vec![],
        base_hints: vec![],
        phases: vec![],
        min_rows: [0; 8],
    }
}

fn airs(p: &Program) -> [RecursionAir; 3] {
    let (consts, hints, alu) = p.airs();
    [
        RecursionAir::Const(consts),
        RecursionAir::Hint(hints),
        RecursionAir::Alu(alu),
    ]
}

/// The value of the hinted address 2.
fn hints() -> Vec<Challenge> {
    vec![ext(3)]
}

fn prover() -> CpuShardProver<Val> {
    ShardProver::cpu(FriSettings::DEFAULT)
}

const PVS: [Vec<Val>; 3] = [vec![], vec![], vec![]];

/// Each table's log height (the padded rows the run made).
fn log_heights(traces: &[p3_matrix::dense::RowMajorMatrix<Val>]) -> Vec<usize> {
    traces
        .iter()
        .map(|t| (t.values.len() / t.width).trailing_zeros() as usize)
        .collect()
}

#[test]
fn a_program_run_proves_and_verifies() {
    let p = program();
    let (traces, memory) = p.execute(&hints()).expect("runs");
    let x = ext(1) * ext(2) + ext(3);
    assert_eq!(memory[&10], x);
    let airs = airs(&p);
    let prover = prover();
    let key = prover.keygen(&airs, &log_heights(&traces)).expect("keygen");
    assert!(
        key.preprocessed_commitment().is_some(),
        "the program is preprocessed"
    );
    let proof = prover
        .prove_with_key(&key, &airs, &traces, &PVS)
        .expect("proves");
    prover
        .verify_with_key(&airs, &proof, &PVS, key.common())
        .expect("the stock verifier accepts");
}

/// An ALU row that reads a value nobody wrote (its own arithmetic still consistent): the bus
/// does not balance.
#[test]
fn a_read_of_an_unwritten_value_is_rejected() {
    let p = program();
    let ([consts, hint_trace, mut alu], _) = p.execute(&hints()).expect("runs");
    // Row 1 reads x at address 10 as operand a; change it and recompute its out from the
    // same operands so that only the bus is wrong.
    let width = alu.width;
    let row = &mut alu.values[width..2 * width];
    row[0] += Val::ONE;
    let get = |r: &[Val], o: usize| Challenge::from_basis_coefficients_fn(|k| r[o + k]);
    let out = get(row, 0) * get(row, 4) + get(row, 8);
    row[12..16].copy_from_slice(out.as_basis_coefficients_slice());
    let airs = airs(&p);
    let traces = [consts, hint_trace, alu];
    match prover().prove(&airs, &traces, &PVS) {
        Err(ProveError::LookupImbalance(_)) => {}
        other => panic!("expected a lookup imbalance, got {:?}", other.map(|_| ())),
    }
    let unchecked = prover().with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&airs, &traces, &PVS)
        .expect("an unchecked prover proves anything");
    assert!(matches!(
        prover().verify(&airs, &proof, &PVS),
        Err(VerifyError::Rejected(_))
    ));
}

/// A proof of another program (one constant changed) does not verify against this program's
/// key: the preprocessed commitment differs.
#[test]
fn a_proof_of_another_program_is_rejected() {
    let p = program();
    let mut other = p.clone();
    other.constants[1].1 += Challenge::ONE;
    let (traces, _) = other.execute(&hints()).expect("runs");
    let prover = prover();
    let proof = prover
        .prove(&airs(&other), &traces, &PVS)
        .expect("the other program proves");
    let key = prover
        .keygen(&airs(&p), &log_heights(&traces))
        .expect("keygen");
    assert!(matches!(
        prover.verify_with_key(&airs(&p), &proof, &PVS, key.common()),
        Err(VerifyError::Rejected(_))
    ));
}

#[test]
fn programs_that_read_before_writing_or_write_twice_are_typed_errors() {
    let mut p = program();
    if let Op::Alu(op) = &mut p.ops[0] {
        op.a = 99;
    }
    assert_eq!(
        p.execute(&hints()).map(|_| ()),
        Err(ProgramError::ReadBeforeWrite { op: 0, addr: 99 })
    );
    let mut p = program();
    if let Op::Alu(op) = &mut p.ops[1] {
        op.out = 10;
    }
    assert_eq!(
        p.execute(&hints()).map(|_| ()),
        Err(ProgramError::WrittenTwice { addr: 10 })
    );
    // Address 0 belongs to padding rows.
    let mut p = program();
    p.constants.push((0, ext(5)));
    assert_eq!(
        p.execute(&hints()).map(|_| ()),
        Err(ProgramError::ReservedAddress { op: None })
    );
    let mut p = program();
    if let Op::Alu(op) = &mut p.ops[2] {
        op.c = 0;
    }
    assert_eq!(
        p.execute(&hints()).map(|_| ()),
        Err(ProgramError::ReservedAddress { op: Some(2) })
    );
    assert_eq!(
        program().execute(&[]).map(|_| ()),
        Err(ProgramError::HintCount {
            expected: 1,
            given: 0
        })
    );
}

/// The native mirror on a program proof (preprocessed program, memory bus): identical logs and
/// verdicts to the stock verifier.
#[test]
fn mirror_agrees_on_a_program_proof() {
    use slotproof_recursion::MirrorKey;
    use slotproof_recursion::oracle::{compare, native_run, stock_run};

    let p = program();
    let (traces, _) = p.execute(&hints()).expect("runs");
    let airs = airs(&p);
    let prover = prover();
    let proof = prover.prove(&airs, &traces, &PVS).expect("proves");
    let bytes = slotproof_prover::proof_to_bytes(&proof).expect("encode");
    let data = prover.setup(&airs, &proof.degree_bits).expect("key");
    let key = MirrorKey::new(
        FriSettings::DEFAULT,
        &airs,
        &proof.degree_bits,
        &data.common,
    )
    .expect("mirror key");
    let stock = stock_run(&key, &airs, &bytes, &PVS, &data.common);
    let native = native_run(&key, &proof, &PVS);
    assert!(compare(&stock, &native).divergence.is_none());
    assert_eq!(stock.verdict, Ok(()));
    assert_eq!(native.verdict, Ok(()));
}

/// A program that reads the proof's own public value (the leaf's way to expose a shard's
/// public values): it proves and verifies with that value, and not with another.
#[test]
fn a_program_reading_a_public_value_binds_it() {
    let mut p = program();
    // Address 3 holds public value 0; the last operation reads it.
    p.publics = vec![(3, 0)];
    p.ops.push(Op::Alu(AluOp {
        a: 14,
        b: 3,
        c: 9,
        out: 15,
        assert: false,
    }));
    let pv = Val::from_u32(12345);
    let (traces, public_trace, memory) = p.execute_with_publics(&hints(), &[pv]).expect("runs");
    assert_eq!(memory[&15], memory[&14] * Challenge::from(pv) + ext(1));
    let (consts, hint_air, alu) = p.airs();
    let airs = [
        RecursionAir::Const(consts),
        RecursionAir::Hint(hint_air),
        RecursionAir::Alu(alu),
        RecursionAir::Public(p.public_air(1)),
    ];
    let [consts, hint_trace, alu_trace] = traces;
    let traces = [consts, hint_trace, alu_trace, public_trace];
    let pvs = [vec![], vec![], vec![], vec![pv]];
    let prover = prover();
    let proof = prover.prove(&airs, &traces, &pvs).expect("proves");
    prover.verify(&airs, &proof, &pvs).expect("verifies");
    let wrong = [vec![], vec![], vec![], vec![pv + Val::ONE]];
    assert!(matches!(
        prover.verify(&airs, &proof, &wrong),
        Err(VerifyError::Rejected(_))
    ));
    assert_eq!(
        p.execute(&hints()).map(|_| ()),
        Err(ProgramError::PublicIndex {
            addr: 3,
            index: 0,
            count: 0
        })
    );
}
