//! The transcript sponge replayed as Poseidon2 calls: replaying the stock verifier's log
//! reproduces every sample and PoW verdict, the Poseidon2 table proves those calls, and a
//! changed sample in the log is caught at its index.

use slotproof_prover::test_airs::Shard;
use slotproof_prover::{CpuShardProver, FriSettings, ShardProver, proof_to_bytes};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::config::Val;
use slotproof_recursion::log::Event;
use slotproof_recursion::oracle::stock_run;
use slotproof_recursion::sponge::SpongeReplay;
use slotproof_recursion::tables::RecursionAir;
use slotproof_recursion::tables::poseidon2::Poseidon2Table;

/// Grinding at every site, so PoW checks are part of the transcript.
const SETTINGS: FriSettings = FriSettings {
    batch_pow_bits: 4,
    commit_pow_bits: 4,
    query_pow_bits: 4,
    lookup_pow_bits: 4,
    ood_pow_bits: 4,
    ..FriSettings::DEFAULT
};

fn stock_log() -> Vec<Event> {
    let shard = Shard::<Val>::three_tables(8, 6, 5, 1);
    let prover: CpuShardProver<Val> = ShardProver::cpu(SETTINGS);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves");
    let data = prover.setup(&shard.airs, &proof.degree_bits).expect("key");
    let key = MirrorKey::new(SETTINGS, &shard.airs, &proof.degree_bits, &data.common)
        .expect("mirror key");
    let bytes = proof_to_bytes(&proof).expect("encode");
    let run = stock_run(
        &key,
        &shard.airs,
        &bytes,
        &shard.public_values,
        &data.common,
    );
    assert_eq!(run.verdict, Ok(()));
    run.log
}

#[test]
fn replayed_transcript_reproduces_the_samples_and_the_table_proves_its_calls() {
    let log = stock_log();
    assert!(log.iter().any(|e| matches!(e, Event::Pow { bits: 4, .. })));
    let sponge = SpongeReplay::replay(&log).expect("every sample reproduced");
    assert!(!sponge.calls.is_empty());

    let table = Poseidon2Table::default();
    let trace = table.trace(&sponge.calls);
    let airs = [RecursionAir::Poseidon2(Box::new(table))];
    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let proof = prover.prove(&airs, &[trace], &[vec![]]).expect("proves");
    prover
        .verify(&airs, &proof, &[vec![]])
        .expect("the stock verifier accepts");
}

#[test]
fn a_changed_sample_is_caught_at_its_index() {
    let mut log = stock_log();
    let index = log
        .iter()
        .position(|e| matches!(e, Event::Sample(_)))
        .expect("a sample");
    let Event::Sample(v) = log[index] else {
        unreachable!()
    };
    log[index] = Event::Sample(v + Val::new(1));
    let err = SpongeReplay::replay(&log)
        .err()
        .expect("the changed sample is caught");
    assert_eq!(err.index, index);
}

/// The Poseidon2 table in sponge mode proves the replayed transcript as one chained sponge;
/// a call whose capacity does not continue the previous output (the row itself a valid
/// permutation) breaks the chain at that transition.
#[test]
fn sponge_mode_table_chains_the_transcript_calls() {
    use slotproof_prover::{ProveError, ProverOptions};
    use slotproof_recursion::tables::sponge_table::Poseidon2SpongeAir;

    let sponge = SpongeReplay::replay(&stock_log()).expect("replay");
    let rows = sponge.calls.len().next_power_of_two().max(4);
    let air = Poseidon2SpongeAir::new(&sponge.absorbed, rows);
    let airs = [RecursionAir::Poseidon2Sponge(Box::new(air.clone()))];
    let prover: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    let trace = air.table.trace(&sponge.calls);
    let proof = prover.prove(&airs, &[trace], &[vec![]]).expect("proves");
    prover
        .verify(&airs, &proof, &[vec![]])
        .expect("the stock verifier accepts");

    let mut calls = sponge.calls.clone();
    calls[5][12] += Val::new(1);
    let traces = [air.table.trace(&calls)];
    match prover.prove(&airs, &traces, &[vec![]]) {
        Err(ProveError::ConstraintViolation {
            instance: 0,
            row: 4,
            ..
        }) => {}
        other => panic!(
            "expected a broken chain at row 4, got {:?}",
            other.map(|_| ())
        ),
    }
    let unchecked = prover.with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&airs, &traces, &[vec![]])
        .expect("an unchecked prover proves anything");
    let checked: CpuShardProver<Val> = ShardProver::cpu(FriSettings::DEFAULT);
    assert!(checked.verify(&airs, &proof, &[vec![]]).is_err());
}
