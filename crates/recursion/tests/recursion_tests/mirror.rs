//! The native mirror against the stock verifier: identical logs and verdicts on valid proofs of
//! the test AIRs (with lookups, a lookup-free table, preprocessed columns, every FRI knob
//! changed) and on an EVM shard, and on a corpus of proofs with one element flipped, where both
//! must reject at the same step.

use p3_batch_stark::CommonData;
use p3_field::PrimeCharacteristicRing;
use slotproof_prover::test_airs::{Shard, ShardAir};
use slotproof_prover::{
    CpuShardProver, FriSettings, ShardProver, proof_from_bytes, proof_to_bytes,
};
use slotproof_recursion::config::{ShardConfig, ShardProof, Val};
use slotproof_recursion::oracle::{Run, compare, native_run, stock_run};
use slotproof_recursion::{Event, MirrorError, MirrorKey, PowStep};

use crate::common;
use common::mutations::{bump_ext, mutations};

/// Grinding at every site, a Merkle cap, arity 4 and a longer final polynomial, so that every
/// proof field a mutation can touch exists and every check runs.
const STRESS: FriSettings = FriSettings {
    log_blowup: 2,
    log_final_poly_len: 2,
    max_log_arity: 2,
    num_queries: 20,
    batch_pow_bits: 6,
    commit_pow_bits: 6,
    query_pow_bits: 6,
    lookup_pow_bits: 6,
    ood_pow_bits: 6,
    merkle_cap_height: 1,
};

struct Case {
    settings: FriSettings,
    airs: Vec<ShardAir>,
    public_values: Vec<Vec<Val>>,
    bytes: Vec<u8>,
}

fn prove(settings: FriSettings, shard: &Shard<Val>) -> Case {
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves");
    Case {
        settings,
        airs: shard.airs.clone(),
        public_values: shard.public_values.clone(),
        bytes: proof_to_bytes(&proof).expect("encode"),
    }
}

/// Both verifiers on `proof` (encoded for the stock one), with the verifying key derived from
/// the AIRs at the proof's degree bits, as `ShardProver::verify` derives it.
fn run_both(
    case: &Case,
    proof: &ShardProof,
    public_values: &[Vec<Val>],
) -> (Run<String>, Run<MirrorError>) {
    let prover: CpuShardProver<Val> = ShardProver::cpu(case.settings);
    let data = prover
        .setup(&case.airs, &proof.degree_bits)
        .expect("key for the proof's heights");
    let common: &CommonData<ShardConfig> = &data.common;
    let key =
        MirrorKey::new(case.settings, &case.airs, &proof.degree_bits, common).expect("mirror key");
    let bytes = proof_to_bytes(proof).expect("encode");
    let stock = stock_run(&key, &case.airs, &bytes, public_values, common);
    let native = native_run(&key, proof, public_values);
    (stock, native)
}

fn decode(case: &Case) -> ShardProof {
    proof_from_bytes::<ShardConfig>(&case.bytes).expect("decode")
}

fn assert_agree_and_accept(case: &Case) -> usize {
    let proof = decode(case);
    let (stock, native) = run_both(case, &proof, &case.public_values);
    let cmp = compare(&stock, &native);
    assert!(
        cmp.divergence.is_none(),
        "logs differ: {:?}",
        cmp.divergence
    );
    assert_eq!(stock.verdict, Ok(()));
    assert_eq!(native.verdict, Ok(()));
    assert!(
        stock
            .log
            .iter()
            .any(|e| matches!(e, Event::MerkleOpening(_)))
    );
    stock.log.len()
}

#[test]
fn identical_logs_on_two_tables() {
    assert_agree_and_accept(&prove(FriSettings::DEFAULT, &Shard::two_tables(8, 8, 1)));
}

#[test]
fn identical_logs_with_a_lookup_free_table() {
    assert_agree_and_accept(&prove(
        FriSettings::DEFAULT,
        &Shard::three_tables(9, 6, 5, 2),
    ));
}

#[test]
fn identical_logs_with_preprocessed_columns() {
    assert_agree_and_accept(&prove(
        FriSettings::DEFAULT,
        &Shard::fixed_range(7, 6, 3, true),
    ));
    assert_agree_and_accept(&prove(
        FriSettings::DEFAULT,
        &Shard::fixed_range(9, 5, 4, false),
    ));
}

#[test]
fn identical_logs_with_every_fri_knob_changed() {
    assert_agree_and_accept(&prove(STRESS, &Shard::three_tables(8, 7, 5, 5)));
    assert_agree_and_accept(&prove(STRESS, &Shard::fixed_range(8, 6, 6, true)));
}

/// Every mutation of a proof of `shard` is refused by both verifiers, with identical logs (the
/// step where they stop is the same) and, with `expected_steps`, the expected typed error from
/// the mirror (the steps listed are those of `STRESS`, where a proof of work guards every
/// challenge).
fn mutation_corpus(settings: FriSettings, shard: &Shard<Val>, expected_steps: bool) {
    let case = prove(settings, shard);
    for m in mutations() {
        let mut proof = decode(&case);
        let mut public_values = case.public_values.clone();
        (m.apply)(&mut proof, &mut public_values);
        let (stock, native) = run_both(&case, &proof, &public_values);
        let cmp = compare(&stock, &native);
        assert!(
            stock.verdict.is_err(),
            "{}: the stock verifier accepted",
            m.name
        );
        let err = native.verdict.as_ref().expect_err(m.name);
        assert!(
            cmp.divergence.is_none(),
            "{}: logs part at {:?} (stock: {:?}, native: {err})",
            m.name,
            cmp.divergence,
            stock.verdict
        );
        if expected_steps {
            assert!((m.expect)(err), "{}: unexpected step {err:?}", m.name);
        }
    }
}

#[test]
fn mutations_are_refused_at_the_same_step() {
    mutation_corpus(STRESS, &Shard::three_tables(8, 6, 5, 7), true);
}

/// Without grinding the flips travel further: to the Merkle, FRI and final checks.
#[test]
fn mutations_without_grinding_are_refused_at_the_same_step() {
    let no_pow = FriSettings {
        batch_pow_bits: 0,
        commit_pow_bits: 0,
        query_pow_bits: 0,
        lookup_pow_bits: 0,
        ood_pow_bits: 0,
        ..STRESS
    };
    mutation_corpus(no_pow, &Shard::three_tables(8, 6, 5, 7), false);
}

/// A proof of a witness that breaks a constraint passes FRI (the quotient chunks are low-degree
/// by construction) and is refused at the out-of-domain check, by both.
#[test]
fn a_broken_constraint_is_refused_at_the_ood_check() {
    let mut shard = Shard::<Val>::two_tables(7, 6, 10);
    let width = shard.traces[0].width;
    shard.traces[0].values[5 * width + width - 1] += Val::ONE;
    let prover: CpuShardProver<Val> =
        ShardProver::cpu(FriSettings::DEFAULT).with_options(slotproof_prover::ProverOptions {
            check_witness: false,
        });
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("an unchecked prover proves anything");
    let case = Case {
        settings: FriSettings::DEFAULT,
        airs: shard.airs.clone(),
        public_values: shard.public_values.clone(),
        bytes: proof_to_bytes(&proof).expect("encode"),
    };
    let (stock, native) = run_both(&case, &decode(&case), &case.public_values);
    assert!(stock.verdict.is_err());
    assert_eq!(
        native.verdict,
        Err(MirrorError::OutOfDomainEvaluation { instance: 0 })
    );
    assert!(compare(&stock, &native).divergence.is_none());
}

/// A range table that claims one use too many: every constraint holds, the bus does not
/// balance, and both refuse at the terminal sum.
#[test]
fn an_unbalanced_bus_is_refused_at_the_terminal_sum() {
    let mut shard = Shard::<Val>::two_tables(7, 6, 11);
    // Row 2 of the range table: [value, multiplicity].
    shard.traces[1].values[2 * 2 + 1] += Val::ONE;
    let prover: CpuShardProver<Val> =
        ShardProver::cpu(FriSettings::DEFAULT).with_options(slotproof_prover::ProverOptions {
            check_witness: false,
        });
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("an unchecked prover proves anything");
    let case = Case {
        settings: FriSettings::DEFAULT,
        airs: shard.airs.clone(),
        public_values: shard.public_values.clone(),
        bytes: proof_to_bytes(&proof).expect("encode"),
    };
    let (stock, native) = run_both(&case, &decode(&case), &case.public_values);
    assert!(stock.verdict.is_err());
    assert_eq!(native.verdict, Err(MirrorError::LookupTerminalSum));
    assert!(compare(&stock, &native).divergence.is_none());
}

#[test]
fn preprocessed_mutations_are_refused_at_the_same_step() {
    let case = prove(STRESS, &Shard::fixed_range(8, 5, 8, true));
    for next in [false, true] {
        let mut proof = decode(&case);
        let opened = proof.opened_values.instances[1]
            .base_opened_values
            .preprocessed
            .as_mut()
            .expect("preprocessed openings");
        if next {
            bump_ext(&mut opened.next.as_mut().expect("next row")[0]);
        } else {
            bump_ext(&mut opened.local[0]);
        }
        let (stock, native) = run_both(&case, &proof, &case.public_values);
        assert!(stock.verdict.is_err());
        assert!(native.verdict.is_err());
        assert!(compare(&stock, &native).divergence.is_none());
    }
}

#[test]
fn zero_bit_grinding_pins_the_witness_to_zero() {
    let case = prove(FriSettings::DEFAULT, &Shard::two_tables(7, 5, 9));
    let mut proof = decode(&case);
    proof.ood_pow_witness = Val::ONE;
    let (stock, native) = run_both(&case, &proof, &case.public_values);
    assert!(stock.verdict.is_err());
    assert_eq!(
        native.verdict,
        Err(MirrorError::NonCanonicalPow(PowStep::OutOfDomain))
    );
    assert!(compare(&stock, &native).divergence.is_none());
}
