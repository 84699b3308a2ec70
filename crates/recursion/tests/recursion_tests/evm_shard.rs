//! The native mirror on a real EVM shard proof (`fixtures/transfers.json`, a small first shard):
//! identical logs and verdicts to the stock verifier, its transcript replayed as Poseidon2 calls
//! and proven by the Poseidon2 table, and a refused mutation.
//!
//! Log length and both verifiers' times go to stderr (`--nocapture`); nothing depends on them.

use std::time::Instant;

use p3_field::PrimeCharacteristicRing;
use slotproof_prover::{
    CpuShardProver, FriSettings, ShardProver, proof_from_bytes, proof_to_bytes,
};
use slotproof_recursion::build::Build;
use slotproof_recursion::config::Challenge;
use slotproof_recursion::config::{ShardConfig, Val};
use slotproof_recursion::oracle::{compare, native_run, stock_run};
use slotproof_recursion::sponge::SpongeReplay;
use slotproof_recursion::tables::RecursionAir;
use slotproof_recursion::tables::poseidon2::Poseidon2Table;
use slotproof_recursion::verifier::{PlaceholderInputs, fold_constraints};
use slotproof_recursion::{Event, MirrorKey};

use crate::common;
use common::evm::transfers_first_shard;

#[test]
fn evm_shard_logs_are_identical() {
    let shard = &transfers_first_shard();

    let settings = FriSettings::DEFAULT;
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("proves");
    let bytes = proof_to_bytes(&proof).expect("encode");
    let data = prover.setup(&shard.airs, &proof.degree_bits).expect("key");
    let key = MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common)
        .expect("mirror key");

    let t = Instant::now();
    let stock = stock_run(
        &key,
        &shard.airs,
        &bytes,
        &shard.public_values,
        &data.common,
    );
    let stock_time = t.elapsed();
    let t = Instant::now();
    let native = native_run(&key, &proof, &shard.public_values);
    let native_time = t.elapsed();

    let cmp = compare(&stock, &native);
    assert!(
        cmp.divergence.is_none(),
        "logs differ: {:?}",
        cmp.divergence
    );
    assert_eq!(stock.verdict, Ok(()));
    assert_eq!(native.verdict, Ok(()));
    let openings = stock
        .log
        .iter()
        .filter(|e| matches!(e, Event::MerkleOpening(_)))
        .count();
    eprintln!(
        "transfers.json shard 0 ({} steps, {} tables, {} proof bytes): {} events ({} Merkle \
         multi-openings); stock verify (recording) {:.1} ms, native mirror {:.1} ms",
        shard.steps.len(),
        shard.airs.len(),
        bytes.len(),
        stock.log.len(),
        openings,
        stock_time.as_secs_f64() * 1e3,
        native_time.as_secs_f64() * 1e3,
    );

    // The transcript as Poseidon2 calls: replaying the log reproduces every sample, and the
    // Poseidon2 table proves the calls.
    let sponge = SpongeReplay::replay(&stock.log).expect("the replay reproduces the transcript");
    let table = Poseidon2Table::default();
    let trace = table.trace(&sponge.calls);
    let rows = trace.values.len() / trace.width;
    let t = Instant::now();
    let table_airs = [RecursionAir::Poseidon2(Box::new(table))];
    let table_proof = prover
        .prove(&table_airs, &[trace], &[vec![]])
        .expect("the Poseidon2 table proves");
    let table_time = t.elapsed();
    prover
        .verify(&table_airs, &table_proof, &[vec![]])
        .expect("and verifies");
    eprintln!(
        "transcript: {} Poseidon2 calls ({rows} table rows), table proved in {:.0} ms",
        sponge.calls.len(),
        table_time.as_secs_f64() * 1e3
    );

    // Rows the `Build` backend emits for folding every chip's constraints at zeta (the
    // arithmetic share of the out-of-domain check): the row count does not depend on the
    // values, so every input is zero here.
    let mut alu_rows = Vec::new();
    for inst in &key.instances {
        let mut build = Build::new();
        let inputs = PlaceholderInputs::zeros(&mut build, &inst.program.inputs);
        fold_constraints(&mut build, &inst.program, &inputs.inputs())
            .expect("the inputs cover the program");
        let (program, _) = build.finish().expect("arithmetic only");
        alu_rows.push(program.alu().count());
    }
    eprintln!(
        "constraint fold at zeta, Alu rows per chip: {alu_rows:?} (total {})",
        alu_rows.iter().sum::<usize>()
    );

    // A flipped public value (the shard's binding) is refused by both, at the same step.
    let mut public_values = shard.public_values.clone();
    public_values[0][0] += Val::ONE;
    let proof = proof_from_bytes::<ShardConfig>(&bytes).expect("decode");
    let stock = stock_run(&key, &shard.airs, &bytes, &public_values, &data.common);
    let native = native_run(&key, &proof, &public_values);
    assert!(stock.verdict.is_err());
    assert!(native.verdict.is_err());
    assert!(compare(&stock, &native).divergence.is_none());
}

/// The leaf circuit of a proof of `airs` on `traces` (no public values unless given).
fn leaf_rows<A>(
    airs: &[A],
    traces: &[p3_matrix::dense::RowMajorMatrix<Val>],
    public_values: &[Vec<Val>],
) -> Vec<(&'static str, usize)>
where
    A: p3_air::Air<p3_lookup::InteractionSymbolicBuilder<Val, Challenge>> + Sync,
{
    let settings = FriSettings {
        num_queries: 8,
        query_pow_bits: 2,
        ..FriSettings::DEFAULT
    };
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover.prove(airs, traces, public_values).expect("proves");
    let data = prover.setup(airs, &proof.degree_bits).expect("key");
    let key = MirrorKey::new(settings, airs, &proof.degree_bits, &data.common).expect("mirror key");
    let (circuit, _) =
        slotproof_recursion::leaf::build_leaf(&key, &proof, public_values).expect("leaf");
    circuit.rows().iter().map(|t| (t.table, t.rows)).collect()
}

/// The leaf of a proof of the Keccak permutation and sponge tables (not yet tables of a shard;
/// here empty: one zero-state permutation, no exports) builds, i.e. the recursion verifier takes
/// their constraints; its rows are printed beside the transfers fixture's first shard's
/// (`--nocapture`): what the Keccak chips would add to every leaf.
#[test]
fn a_leaf_of_the_keccak_tables_builds() {
    use slotproof_air::chips::keccak::trace as perm_trace;
    use slotproof_air::{EvmAir, KeccakPermAir, KeccakSpongeAir};
    let airs = vec![
        EvmAir::KeccakPerm(KeccakPermAir),
        EvmAir::KeccakSponge(KeccakSpongeAir),
    ];
    let width = p3_air::BaseAir::<Val>::width(&airs[1]);
    let traces = vec![
        perm_trace::generate::<Val>(&[], 32),
        p3_matrix::dense::RowMajorMatrix::new(vec![Val::ZERO; 4 * width], width),
    ];
    let keccak = leaf_rows(&airs, &traces, &[vec![], vec![]]);
    let shard = &transfers_first_shard();
    let evm = leaf_rows(&shard.airs, &shard.traces, &shard.public_values);
    eprintln!("leaf of the Keccak tables: {keccak:?}");
    eprintln!("leaf of the transfers shard: {evm:?}");
}
