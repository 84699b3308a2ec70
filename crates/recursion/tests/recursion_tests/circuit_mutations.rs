//! The mutation corpus through the circuit: every flipped proof field that the stock verifier
//! and the native mirror refuse is refused by `Build` at the same step (identical logs); the
//! emitted program then fails to run with a typed error naming a failed assertion (or a Merkle
//! path's failed digest check), and with the failure forced through, the recursion tables do
//! not verify. Under grinding at every site
//! (every challenge guarded by a proof of work) and without grinding (the flips travel on to the
//! Merkle, FRI and final checks, and zero-bit witnesses must be zero).

use slotproof_prover::test_airs::Shard;
use slotproof_prover::{CpuShardProver, FriSettings, ProverOptions, ShardProver};
use slotproof_recursion::build::Build;
use slotproof_recursion::config::{ShardProof, Val};
use slotproof_recursion::tables::program::{Op, ProgramError, ProgramRun};
use slotproof_recursion::{MirrorError, MirrorKey, Native, PowStep, verify_generic};

use crate::common;
use common::mutations::mutations;

const STRESS: FriSettings = FriSettings {
    log_blowup: 2,
    log_final_poly_len: 2,
    max_log_arity: 2,
    num_queries: 10,
    batch_pow_bits: 4,
    commit_pow_bits: 4,
    query_pow_bits: 4,
    lookup_pow_bits: 4,
    ood_pow_bits: 4,
    merkle_cap_height: 1,
};

const NO_POW: FriSettings = FriSettings {
    batch_pow_bits: 0,
    commit_pow_bits: 0,
    query_pow_bits: 0,
    lookup_pow_bits: 0,
    ood_pow_bits: 0,
    ..STRESS
};

/// The recursion proof's settings (few queries: the tests stay fast).
const RECURSION: FriSettings = FriSettings {
    num_queries: 12,
    ..FriSettings::DEFAULT
};

fn key_for(settings: FriSettings, shard: &Shard<Val>, proof: &ShardProof) -> MirrorKey {
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let data = prover
        .setup(&shard.airs, &proof.degree_bits)
        .expect("key for the proof's heights");
    MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common).expect("mirror key")
}

/// The unchecked prover's proof of the forced tables, and whether the stock verifier accepts.
fn forced_tables_verify(run: &ProgramRun) -> bool {
    let unchecked: CpuShardProver<Val> = ShardProver::cpu(RECURSION).with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&run.airs, &run.traces, &run.public_values)
        .expect("an unchecked prover proves anything");
    let prover: CpuShardProver<Val> = ShardProver::cpu(RECURSION);
    prover.verify(&run.airs, &proof, &run.public_values).is_ok()
}

fn corpus(settings: FriSettings, shard: &Shard<Val>, expected_steps: bool) {
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves");
    for m in mutations() {
        let mut proof = proof.clone_via_bytes();
        let mut public_values = shard.public_values.clone();
        (m.apply)(&mut proof, &mut public_values);
        let key = key_for(settings, shard, &proof);

        let mut native = Native::new(&settings);
        let native_verdict = verify_generic(&mut native, &key, &proof, &public_values);
        let err = native_verdict.clone().expect_err(m.name);
        if expected_steps {
            assert!((m.expect)(&err), "{}: unexpected step {err:?}", m.name);
        }
        let mut build = Build::for_settings(&settings);
        let verdict = verify_generic(&mut build, &key, &proof, &public_values);
        assert_eq!(
            verdict, native_verdict,
            "{}: Build and Native stop at one step",
            m.name
        );
        assert_eq!(build.log(), native.log(), "{}: identical logs", m.name);
        if matches!(err, MirrorError::Shape(_)) {
            // A proof of another shape: no circuit of this shape can take it.
            continue;
        }

        let (program, hints, publics) = build.finish_with_publics().expect("every op has rows");
        match program.run_tables(&hints, &publics) {
            Err(ProgramError::AssertionFailed { op, .. }) => assert!(
                matches!(program.ops[op], Op::Alu(a) if a.assert),
                "{}: operation {op} is an assertion",
                m.name
            ),
            // A Merkle path that misses its root fails at the path's digest-check row.
            Err(ProgramError::DigestMismatch { op, .. }) => assert!(
                matches!(program.ops[op], Op::Poseidon2(p) if p.check_digest),
                "{}: operation {op} is a digest check",
                m.name
            ),
            Err(e) => panic!(
                "{}: expected a failed assertion or digest check, got {e}",
                m.name
            ),
            Ok(_) => panic!("{}: the circuit's witness generation accepted", m.name),
        }
        let forced = program
            .run_tables_forced(&hints, &publics)
            .expect("a forced run");
        assert!(
            !forced_tables_verify(&forced),
            "{}: the forced recursion proof verified",
            m.name
        );
    }
}

trait CloneViaBytes {
    fn clone_via_bytes(&self) -> Self;
}

impl CloneViaBytes for ShardProof {
    fn clone_via_bytes(&self) -> Self {
        let bytes = slotproof_prover::proof_to_bytes(self).expect("encode");
        slotproof_prover::proof_from_bytes(&bytes).expect("decode")
    }
}

#[test]
fn mutations_are_refused_by_the_circuit_under_grinding() {
    corpus(STRESS, &Shard::three_tables(7, 5, 5, 7), true);
}

#[test]
fn mutations_are_refused_by_the_circuit_without_grinding() {
    corpus(NO_POW, &Shard::three_tables(7, 5, 5, 7), false);
}

#[test]
fn a_nonzero_witness_of_a_zero_bit_grind_is_refused_by_the_circuit() {
    let shard = Shard::two_tables(7, 5, 9);
    let prover: CpuShardProver<Val> = ShardProver::cpu(NO_POW);
    let mut proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves");
    proof.ood_pow_witness = Val::new(1);
    let key = key_for(NO_POW, &shard, &proof);
    let mut build = Build::for_settings(&NO_POW);
    assert_eq!(
        verify_generic(&mut build, &key, &proof, &shard.public_values),
        Err(MirrorError::NonCanonicalPow(PowStep::OutOfDomain))
    );
    let (program, hints, publics) = build.finish_with_publics().expect("every op has rows");
    assert!(matches!(
        program.run_tables(&hints, &publics),
        Err(ProgramError::AssertionFailed { .. })
    ));
}
