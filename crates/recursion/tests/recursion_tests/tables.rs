//! The recursion tables proven by the project's prover: valid traces prove and the stock
//! verifier accepts them; a tampered cell is a typed prover error (witness check on) and a
//! rejected proof (witness check off); the Poseidon2 table computes the permutation of the
//! MMCS and the challenger.

use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;
use p3_symmetric::Permutation;
use slotproof_prover::{
    CpuShardProver, FriSettings, ProveError, ProverField, ProverOptions, ShardProver,
};
use slotproof_recursion::config::{Challenge, Val};
use slotproof_recursion::tables::RecursionAir;
use slotproof_recursion::tables::ext_alu::ExtAluAir;
use slotproof_recursion::tables::poseidon2::{Poseidon2Table, WIDTH};

/// Deterministic field elements (splitmix64), so no RNG dependency is needed.
fn elements(seed: u64, n: usize) -> Vec<Val> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            Val::from_u64((z ^ (z >> 31)) % (1 << 30))
        })
        .collect()
}

fn states(seed: u64, n: usize) -> Vec<[Val; WIDTH]> {
    elements(seed, n * WIDTH)
        .chunks_exact(WIDTH)
        .map(|c| core::array::from_fn(|i| c[i]))
        .collect()
}

fn prover() -> CpuShardProver<Val> {
    ShardProver::cpu(FriSettings::DEFAULT)
}

fn prove_and_verify(air: RecursionAir, trace: RowMajorMatrix<Val>) {
    let p = prover();
    let airs = [air];
    let proof = p.prove(&airs, &[trace], &[vec![]]).expect("proves");
    p.verify(&airs, &proof, &[vec![]])
        .expect("the stock verifier accepts");
}

/// Flip one cell: the checked prover names the violated row, and the unchecked prover's proof
/// is rejected by the stock verifier.
fn assert_tamper_rejected(
    air: RecursionAir,
    mut trace: RowMajorMatrix<Val>,
    row: usize,
    col: usize,
) {
    let width = trace.width;
    trace.values[row * width + col] += Val::ONE;
    let airs = [air];
    let traces = [trace];
    match prover().prove(&airs, &traces, &[vec![]]) {
        Err(ProveError::ConstraintViolation {
            instance: 0,
            row: r,
            ..
        }) => assert_eq!(r, row),
        other => panic!(
            "expected a constraint violation, got {:?}",
            other.map(|_| ())
        ),
    }
    let unchecked = prover().with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&airs, &traces, &[vec![]])
        .expect("an unchecked prover proves anything");
    assert!(prover().verify(&airs, &proof, &[vec![]]).is_err());
}

#[test]
fn poseidon2_table_is_the_mmcs_and_challenger_permutation() {
    let table = Poseidon2Table::default();
    let inputs = states(1, 13);
    let trace = table.trace(&inputs);
    assert_eq!(trace.width, 164);
    assert_eq!(
        trace.values.len() / trace.width,
        slotproof_recursion::tables::MIN_TABLE_ROWS,
        "padded to a power of two, at least the fewest rows of a table"
    );
    // The permutation the configuration hashes and absorbs with (`ProverField`), and Plonky3's
    // default KoalaBear Poseidon2-16.
    let config_perm = Val::default_poseidon2_16();
    let default_perm = p3_koala_bear::default_koalabear_poseidon2_16();
    let io = Poseidon2Table::io(&trace);
    for (i, (input, output)) in io.iter().enumerate() {
        let expected_input = inputs.get(i).copied().unwrap_or([Val::ZERO; WIDTH]);
        assert_eq!(*input, expected_input);
        assert_eq!(*output, config_perm.permute(*input), "row {i}");
        assert_eq!(*output, default_perm.permute(*input), "row {i}");
    }
}

#[test]
fn poseidon2_table_proves_and_verifies() {
    let table = Poseidon2Table::default();
    let trace = table.trace(&states(2, 32));
    prove_and_verify(RecursionAir::Poseidon2(Box::new(table)), trace);
}

#[test]
fn poseidon2_table_rejects_a_tampered_round() {
    let table = Poseidon2Table::default();
    let trace = table.trace(&states(3, 8));
    // A cell of the first full round's post-state.
    assert_tamper_rejected(
        RecursionAir::Poseidon2(Box::new(table)),
        trace,
        3,
        WIDTH + 2,
    );
}

fn ext_ops(seed: u64, n: usize) -> Vec<(Challenge, Challenge, Challenge)> {
    let e = elements(seed, n * 12);
    e.chunks_exact(12)
        .map(|c| {
            let ext = |o: usize| Challenge::from_basis_coefficients_fn(|k| c[o + k]);
            (ext(0), ext(4), ext(8))
        })
        .collect()
}

#[test]
fn ext_alu_table_proves_and_verifies() {
    let mut ops = ext_ops(4, 29);
    // Addition and multiplication as special cases.
    ops.push((ops[0].0, Challenge::ONE, ops[1].0));
    ops.push((ops[2].0, ops[3].1, Challenge::ZERO));
    let trace = ExtAluAir::trace(&ops);
    prove_and_verify(RecursionAir::ExtAlu(ExtAluAir), trace);
}

#[test]
fn ext_alu_table_rejects_a_wrong_product() {
    let trace = ExtAluAir::trace(&ext_ops(5, 8));
    // A coordinate of `out` in row 6.
    assert_tamper_rejected(RecursionAir::ExtAlu(ExtAluAir), trace, 6, 13);
}

#[test]
fn both_tables_prove_in_one_batch() {
    let p = prover();
    let table = Poseidon2Table::default();
    let airs = [
        RecursionAir::Poseidon2(Box::new(table.clone())),
        RecursionAir::ExtAlu(ExtAluAir),
    ];
    let traces = [
        table.trace(&states(6, 16)),
        ExtAluAir::trace(&ext_ops(7, 64)),
    ];
    let pvs = [vec![], vec![]];
    let proof = p.prove(&airs, &traces, &pvs).expect("proves");
    p.verify(&airs, &proof, &pvs).expect("verifies");
}

/// The native mirror on a proof of the recursion tables themselves (the next layer verifies
/// these): identical logs to the stock verifier, both accept.
#[test]
fn mirror_agrees_on_a_recursion_table_proof() {
    use slotproof_recursion::MirrorKey;
    use slotproof_recursion::oracle::{compare, native_run, stock_run};

    let p = prover();
    let table = Poseidon2Table::default();
    let airs = [
        RecursionAir::Poseidon2(Box::new(table.clone())),
        RecursionAir::ExtAlu(ExtAluAir),
    ];
    let traces = [
        table.trace(&states(8, 16)),
        ExtAluAir::trace(&ext_ops(9, 32)),
    ];
    let pvs = [vec![], vec![]];
    let proof = p.prove(&airs, &traces, &pvs).expect("proves");
    let bytes = slotproof_prover::proof_to_bytes(&proof).expect("encode");
    let data = p.setup(&airs, &proof.degree_bits).expect("key");
    let key = MirrorKey::new(
        FriSettings::DEFAULT,
        &airs,
        &proof.degree_bits,
        &data.common,
    )
    .expect("mirror key");
    let stock = stock_run(&key, &airs, &bytes, &pvs, &data.common);
    let native = native_run(&key, &proof, &pvs);
    assert!(compare(&stock, &native).divergence.is_none());
    assert_eq!(stock.verdict, Ok(()));
    assert_eq!(native.verdict, Ok(()));
}

/// Canonical decompositions (including `0`, `p − 1` and values with bits 24..30 set) prove.
#[test]
fn canonical_bit_decompositions_prove_and_verify() {
    use slotproof_recursion::tables::bits::BitsAir;
    let mut values = elements(10, 12);
    values.extend([
        Val::ZERO,
        Val::NEG_ONE,
        Val::from_u64((1 << 31) - (1 << 24)),
        Val::from_u64(0x7f00_0000 - 1),
    ]);
    prove_and_verify(RecursionAir::Bits(BitsAir), BitsAir::trace(&values));
}

/// `v` and `v + p` have the same value mod `p`; the second decomposition (bits 24..30 all set,
/// low bits not zero) is refused: a named constraint violation with the witness check, and a
/// rejected proof without it.
#[test]
fn a_non_canonical_bit_decomposition_is_rejected() {
    use slotproof_recursion::tables::bits::{BitsAir, NUM_BITS};
    let v = Val::from_u64(5);
    let p: u64 = (1 << 31) - (1 << 24) + 1;
    let alias = 5 + p;
    assert!(alias < 1 << 31);
    let bits: [bool; NUM_BITS] = core::array::from_fn(|i| (alias >> i) & 1 == 1);
    let mut trace = BitsAir::trace(&elements(11, 3));
    let width = trace.width;
    trace.values[3 * width..4 * width].copy_from_slice(&BitsAir::row(v, bits));

    let airs = [RecursionAir::Bits(BitsAir)];
    let traces = [trace];
    match prover().prove(&airs, &traces, &[vec![]]) {
        Err(ProveError::ConstraintViolation {
            instance: 0,
            row: 3,
            ..
        }) => {}
        other => panic!("expected a violation at row 3, got {:?}", other.map(|_| ())),
    }
    let unchecked = prover().with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&airs, &traces, &[vec![]])
        .expect("an unchecked prover proves anything");
    assert!(prover().verify(&airs, &proof, &[vec![]]).is_err());
}

/// The Horner rows of a reduction give `acc₀·αⁿ + Σ_j α^(n−1−j)·p_j`, prove and verify; a
/// wrong accumulator is refused.
#[test]
fn horner_rows_compute_the_alpha_reduction() {
    use slotproof_recursion::tables::horner::HornerAir;
    let values = elements(12, 24);
    let e = elements(13, 8);
    let alpha = Challenge::from_basis_coefficients_fn(|k| e[k]);
    let start = Challenge::from_basis_coefficients_fn(|k| e[4 + k]);
    let (trace, acc) = HornerAir::trace(alpha, start, &values);
    let n = values.len() as u64;
    let direct = values
        .iter()
        .enumerate()
        .fold(start * alpha.exp_u64(n), |s, (j, &p)| {
            s + alpha.exp_u64(n - 1 - j as u64) * p
        });
    assert_eq!(acc, direct);
    let air = || RecursionAir::Horner(Box::new(HornerAir::for_reduction(values.len())));
    prove_and_verify(air(), trace.clone());
    // acc' of row 2 (columns 24..28).
    assert_tamper_rejected(air(), trace.clone(), 2, 25);

    // Row 3 restarted from another accumulator, its own arithmetic consistent: the chain from
    // row 2 breaks.
    let (restarted, _) = HornerAir::trace(alpha, start + Challenge::ONE, &values[12..16]);
    let mut broken = trace;
    let width = broken.width;
    broken.values[3 * width..4 * width].copy_from_slice(&restarted.values[..width]);
    match prover().prove(&[air()], &[broken], &[vec![]]) {
        Err(ProveError::ConstraintViolation {
            instance: 0,
            row: 2,
            ..
        }) => {}
        other => panic!(
            "expected a broken chain at row 2, got {:?}",
            other.map(|_| ())
        ),
    }
}
