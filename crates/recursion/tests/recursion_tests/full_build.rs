//! The whole verifier through `Build`: on proofs of the test AIRs (with and without grinding,
//! with a preprocessed table, with every FRI knob changed) `finish()` succeeds, the build's
//! transcript and Merkle log and its verdict equal `Native`'s, the program runs, and all its
//! tables prove in one batch with the stock verifier accepting. Two proofs of one shape give
//! the same program. A flipped Merkle sibling or opened row is a failed assertion when the
//! program runs, and forced through, the recursion proof does not verify. The Poseidon2 bus
//! table refuses a flipped cell.

use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_prover::test_airs::Shard;
use slotproof_prover::{
    CpuShardProver, FriSettings, ProveError, ProverOptions, ShardProver, VerifyError,
};
use slotproof_recursion::build::Build;
use slotproof_recursion::config::{Challenge, ShardProof, Val};
use slotproof_recursion::tables::program::{Op, Program, ProgramError, ProgramRun, TABLE_NAMES};
use slotproof_recursion::{MirrorError, MirrorKey, Native, OpenedCommitment, verify_generic};

/// Grinding at every site, a Merkle cap, arity 4 and a longer final polynomial (the mirror
/// tests' stress settings, with fewer queries).
const STRESS: FriSettings = FriSettings {
    log_blowup: 2,
    log_final_poly_len: 2,
    max_log_arity: 2,
    num_queries: 6,
    batch_pow_bits: 4,
    commit_pow_bits: 4,
    query_pow_bits: 4,
    lookup_pow_bits: 4,
    ood_pow_bits: 4,
    merkle_cap_height: 1,
};

/// Few queries, no grinding but the query PoW at zero bits too: the program stays small.
const SMALL: FriSettings = FriSettings {
    num_queries: 4,
    query_pow_bits: 0,
    ..FriSettings::DEFAULT
};

fn prove(settings: FriSettings, shard: &Shard<Val>) -> ShardProof {
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves")
}

fn key_for(settings: FriSettings, shard: &Shard<Val>, proof: &ShardProof) -> MirrorKey {
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let data = prover
        .setup(&shard.airs, &proof.degree_bits)
        .expect("key for the proof's heights");
    MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common).expect("mirror key")
}

/// `verify_generic` through `Native` and through `Build`: both verdicts, both logs agree.
struct Built {
    verdict: Result<(), MirrorError>,
    program: Program,
    hints: Vec<Challenge>,
    /// The verified proof's public values, as the program reads them.
    publics: Vec<Val>,
}

fn build(
    settings: FriSettings,
    shard: &Shard<Val>,
    proof: &ShardProof,
    public_values: &[Vec<Val>],
) -> Built {
    let key = key_for(settings, shard, proof);
    let mut native = Native::new(&settings);
    let native_verdict = verify_generic(&mut native, &key, proof, public_values);
    let mut build = Build::for_settings(&settings);
    let verdict = verify_generic(&mut build, &key, proof, public_values);
    assert_eq!(verdict, native_verdict, "Build and Native verdicts");
    assert_eq!(
        build.log(),
        native.log(),
        "every observe, sample, PoW and Merkle opening equals Native's"
    );
    let (program, hints, publics) = build
        .finish_with_publics()
        .expect("every operation has rows");
    Built {
        verdict,
        program,
        hints,
        publics,
    }
}

/// The recursion proof's settings: the default security with few queries (tests stay fast).
const RECURSION: FriSettings = FriSettings {
    num_queries: 20,
    ..FriSettings::DEFAULT
};

fn recursion_prover() -> CpuShardProver<Val> {
    ShardProver::cpu(RECURSION)
}

fn prove_and_verify(run: &ProgramRun) -> Result<(), String> {
    let prover = recursion_prover();
    let proof = prover
        .prove(&run.airs, &run.traces, &run.public_values)
        .map_err(|e| format!("prove: {e}"))?;
    prover
        .verify(&run.airs, &proof, &run.public_values)
        .map_err(|e| format!("verify: {e}"))
}

/// The unchecked prover's proof of (possibly bad) tables, and the stock verifier's answer.
fn forced_proof_verifies(run: &ProgramRun) -> bool {
    let unchecked = recursion_prover().with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&run.airs, &run.traces, &run.public_values)
        .expect("an unchecked prover proves anything");
    match recursion_prover().verify(&run.airs, &proof, &run.public_values) {
        Ok(()) => true,
        Err(VerifyError::Rejected(_)) => false,
        Err(e) => panic!("unexpected verifier error {e}"),
    }
}

fn report(what: &str, run: &ProgramRun) {
    let rows: Vec<String> = TABLE_NAMES
        .iter()
        .zip(run.rows())
        .map(|(name, rows)| format!("{name} {rows}"))
        .collect();
    eprintln!("{what}: rows per table (padded): {}", rows.join(", "));
}

fn accepts_and_proves(what: &str, settings: FriSettings, shard: &Shard<Val>) {
    let proof = prove(settings, shard);
    let built = build(settings, shard, &proof, &shard.public_values);
    assert_eq!(built.verdict, Ok(()), "{what}: the proof verifies");
    let p = &built.program;
    eprintln!(
        "{what}: {} Const, {} Hint, {} Alu, {} Poseidon2 operations",
        p.constants.len(),
        p.hints.len(),
        p.alu().count(),
        p.poseidon2().count()
    );
    let run = match p.run_tables(&built.hints, &built.publics) {
        Ok(run) => run,
        Err(e) => {
            // Name the failing operation and the ones before it (what computed its operands).
            if let ProgramError::AssertionFailed { op, .. } = e {
                for i in op.saturating_sub(6)..=op {
                    eprintln!("operation {i}: {:?}", p.ops[i]);
                }
            }
            panic!("{what}: the program does not run: {e}");
        }
    };
    report(what, &run);
    prove_and_verify(&run).unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn two_tables_without_grinding() {
    accepts_and_proves("two tables, 4 queries", SMALL, &Shard::two_tables(6, 5, 1));
}

#[test]
fn default_settings_with_query_grinding() {
    let settings = FriSettings {
        num_queries: 4,
        ..FriSettings::DEFAULT
    };
    accepts_and_proves(
        "two tables, query PoW 16",
        settings,
        &Shard::two_tables(6, 5, 2),
    );
}

#[test]
fn preprocessed_table() {
    accepts_and_proves("fixed range", SMALL, &Shard::fixed_range(6, 4, 3, true));
}

#[test]
fn every_fri_knob_changed() {
    accepts_and_proves("stress", STRESS, &Shard::three_tables(6, 4, 4, 5));
}

/// Two proofs of one shape (different witnesses) give the same program: every preprocessed
/// trace is equal.
#[test]
fn the_program_is_fixed_by_the_shape() {
    let programs: Vec<Program> = [1u64, 2]
        .iter()
        .map(|&seed| {
            let shard = Shard::two_tables(6, 5, seed);
            let proof = prove(STRESS, &shard);
            let built = build(STRESS, &shard, &proof, &shard.public_values);
            assert_eq!(built.verdict, Ok(()));
            built.program
        })
        .collect();
    let (a, b) = (&programs[0], &programs[1]);
    if let Some(i) = a.ops.iter().zip(&b.ops).position(|(x, y)| x != y) {
        panic!("operation {i} differs: {:?} vs {:?}", a.ops[i], b.ops[i]);
    }
    assert_eq!(a.ops.len(), b.ops.len());
    assert_eq!(a.constants, b.constants);
    assert_eq!(a.hints, b.hints);
    assert_eq!(a.publics, b.publics);
    for (x, y) in a.all_airs(0).iter().zip(b.all_airs(0)) {
        assert_eq!(
            p3_air::BaseAir::<Val>::preprocessed_trace(x),
            p3_air::BaseAir::<Val>::preprocessed_trace(&y)
        );
    }
}

/// A flipped proof element the verifier catches at a Merkle opening: `Build` rejects as
/// `Native` does, the program's run fails the path's digest check, and forced through, the recursion
/// proof does not verify.
fn merkle_mutation(what: &str, apply: fn(&mut ShardProof)) {
    let shard = Shard::two_tables(6, 5, 3);
    let mut proof = prove(SMALL, &shard);
    apply(&mut proof);
    let built = build(SMALL, &shard, &proof, &shard.public_values);
    assert_eq!(
        built.verdict,
        Err(MirrorError::MerkleOpening(OpenedCommitment::Input(0))),
        "{what}"
    );
    let p = &built.program;
    match p.run_tables(&built.hints, &built.publics) {
        Err(ProgramError::DigestMismatch { op, .. }) => {
            assert!(
                matches!(p.ops[op], Op::Poseidon2(p) if p.check_digest),
                "{what}: the failing operation {op} is the path's digest check"
            );
        }
        other => panic!(
            "{what}: expected a failed digest check, got {:?}",
            other.map(|_| ())
        ),
    }
    let forced = p
        .run_tables_forced(&built.hints, &built.publics)
        .expect("forced run");
    match recursion_prover().prove(&forced.airs, &forced.traces, &forced.public_values) {
        Err(ProveError::LookupImbalance(_)) => {}
        other => panic!(
            "{what}: expected a lookup imbalance, got {:?}",
            other.map(|_| ())
        ),
    }
    assert!(
        !forced_proof_verifies(&forced),
        "{what}: forced proof verifies"
    );
}

#[test]
fn a_flipped_merkle_sibling_fails_an_assertion() {
    merkle_mutation("input Merkle sibling", |p| {
        p.opening_proof.input_openings[0]
            .opening_proof
            .sibling_hashes[0][0] += Val::ONE
    });
}

#[test]
fn a_flipped_opened_row_fails_an_assertion() {
    merkle_mutation("opened row", |p| {
        p.opening_proof.input_openings[0].opened_values[0][0][0] += Val::ONE
    });
}

/// One flipped cell of the Poseidon2 bus table (a round's state, a lane read, the direction)
/// is refused by the checked prover, and the unchecked prover's proof does not verify.
#[test]
fn the_poseidon2_bus_table_refuses_a_flipped_cell() {
    let shard = Shard::two_tables(6, 5, 4);
    let proof = prove(SMALL, &shard);
    let built = build(SMALL, &shard, &proof, &shard.public_values);
    let run = built
        .program
        .run_tables(&built.hints, &built.publics)
        .expect("the program runs");
    let table = TABLE_NAMES
        .iter()
        .position(|&n| n == "Poseidon2Bus")
        .expect("the table is in the batch");
    let width = run.traces[table].width;
    let permutation_width = slotproof_recursion::tables::poseidon2_bus::permutation_width();
    // Row 0's first S-box state, row 1's lane-3 read, and the direction of the first
    // Merkle-mode row.
    let merkle_row = built
        .program
        .poseidon2()
        .position(|p| p.direction.is_some())
        .expect("a Merkle row");
    for (row, col) in [
        (0, 20),
        (1, permutation_width + 3),
        (merkle_row, permutation_width + 16),
    ] {
        let mut bad = run.clone();
        let t: &mut RowMajorMatrix<Val> = &mut bad.traces[table];
        t.values[row * width + col] += Val::ONE;
        match recursion_prover().prove(&bad.airs, &bad.traces, &bad.public_values) {
            Err(ProveError::ConstraintViolation { .. } | ProveError::LookupImbalance(_)) => {}
            other => panic!(
                "cell ({row}, {col}): expected a rejection, got {:?}",
                other.map(|_| ())
            ),
        }
        assert!(!forced_proof_verifies(&bad), "cell ({row}, {col})");
    }
}

/// The in-circuit bit decomposition accepts only the canonical one: `5` decomposed as `5 + p`
/// (31 boolean bits that recompose to 5 mod p, bits 24..30 all one) fails the canonicity
/// assertion, the last operation; forced through, the tables do not verify.
#[test]
fn a_non_canonical_bit_decomposition_fails_an_assertion() {
    use slotproof_recursion::Ops;
    const P: u64 = (1 << 31) - (1 << 24) + 1;
    let mut build = Build::new();
    let x = build.input(Val::from_u32(5));
    let bits = build.decompose(x);
    assert_eq!(build.bits_value(&bits), 5);
    let (program, mut hints) = build.finish().expect("all supported");
    program
        .run_tables(&hints, &[])
        .expect("the canonical decomposition runs");
    // Hints: the value, then its 31 bits.
    assert_eq!(hints.len(), 32);
    for (k, h) in hints[1..].iter_mut().enumerate() {
        *h = Challenge::from(Val::from_bool((5 + P) >> k & 1 == 1));
    }
    let canonicity = program.ops.len() - 1;
    assert_eq!(
        program
            .run_tables(&hints, &[])
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(ProgramError::AssertionFailed {
            op: canonicity,
            addr: match program.ops[canonicity] {
                Op::Alu(a) => a.out,
                Op::Poseidon2(_) | Op::Horner(_) | Op::Decompose(_) => {
                    unreachable!("the last operation is the canonicity row")
                }
            }
        }
        .to_string())
    );
    let forced = program.run_tables_forced(&hints, &[]).expect("forced");
    assert!(!forced_proof_verifies(&forced));
}

/// The Poseidon2 bus table's 33 interactions per row (16 reads, 16 writes, the direction) take
/// 17 LogUp columns: p3-batch-stark packs two per column at constraint degree 3.
#[test]
fn poseidon2_bus_interactions_pack_two_per_column() {
    use p3_lookup::{LogUpGadget, Lookups};
    let air = Program::default().poseidon2_air();
    let lookups = Lookups::<Val>::from_air::<Challenge, _>(&air);
    let interactions: usize = lookups.iter().map(|l| l.elements.len()).sum();
    assert_eq!(interactions, 33);
    let packed = lookups.pack_same_bus(&LogUpGadget::new(), 3);
    assert_eq!(packed.len(), 17);
}

/// The shard prover's default settings (100 queries, 16-bit query PoW): the program builds,
/// agrees with `Native` and runs (not proven here, to keep the test fast); prints its rows.
#[test]
fn default_settings_build_and_run() {
    let shard = Shard::two_tables(6, 5, 6);
    let proof = prove(FriSettings::DEFAULT, &shard);
    let built = build(FriSettings::DEFAULT, &shard, &proof, &shard.public_values);
    assert_eq!(built.verdict, Ok(()));
    let p = &built.program;
    eprintln!(
        "default settings: {} Const, {} Hint, {} Alu, {} Poseidon2 operations",
        p.constants.len(),
        p.hints.len(),
        p.alu().count(),
        p.poseidon2().count()
    );
    let run = p
        .run_tables(&built.hints, &built.publics)
        .expect("the program runs");
    report("default settings", &run);
}
