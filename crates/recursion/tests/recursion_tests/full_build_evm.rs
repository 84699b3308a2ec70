//! The whole verifier through `Build` on a real EVM shard proof (`fixtures/transfers.json`,
//! its small first shard, all 8 EVM chips, default settings): `Build`'s log and verdict equal
//! `Native`'s, and the program runs. Rows per recursion table go to stderr (`--nocapture`).
//! Not proven here (that is the leaf's test); the test-AIR programs are proven in
//! `full_build.rs`.

use slotproof_prover::{CpuShardProver, FriSettings, ShardProver};
use slotproof_recursion::build::Build;
use slotproof_recursion::config::Val;
use slotproof_recursion::tables::program::TABLE_NAMES;
use slotproof_recursion::{MirrorKey, Native, verify_generic};

use crate::common;
use common::evm::transfers_first_shard;

#[test]
fn the_evm_shard_verifier_builds_and_runs() {
    let shard = &transfers_first_shard();

    let settings = FriSettings::DEFAULT;
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves");
    let data = prover.setup(&shard.airs, &proof.degree_bits).expect("key");
    let key = MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common)
        .expect("mirror key");

    let mut native = Native::new(&settings);
    let native_verdict = verify_generic(&mut native, &key, &proof, &shard.public_values);
    let mut build = Build::for_settings(&settings);
    let verdict = verify_generic(&mut build, &key, &proof, &shard.public_values);
    assert_eq!(native_verdict, Ok(()));
    assert_eq!(verdict, native_verdict);
    assert_eq!(build.log(), native.log(), "Build's log equals Native's");
    let (program, values, publics) = build
        .finish_with_publics()
        .expect("every operation has rows");
    eprintln!(
        "EVM shard leaf program: {} Const, {} Hint, {} Alu, {} Poseidon2 ({} Merkle-mode) operations",
        program.constants.len(),
        program.hints.len(),
        program.alu().count(),
        program.poseidon2().count(),
        program
            .poseidon2()
            .filter(|p| p.direction.is_some())
            .count(),
    );
    let run = program
        .run_tables(&values, &publics)
        .expect("the program runs");
    let rows: Vec<String> = TABLE_NAMES
        .iter()
        .zip(run.rows())
        .map(|(name, rows)| format!("{name} {rows}"))
        .collect();
    eprintln!(
        "EVM shard leaf rows per table (padded): {}",
        rows.join(", ")
    );
}
