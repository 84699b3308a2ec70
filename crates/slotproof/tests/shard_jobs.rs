//! Distributed proving's library half (`slotproof::shard_jobs`): a block planned once, its
//! shards proven in disjoint subsets (as separate workers would, each re-executing the block),
//! and the assembled block proof is byte for byte the single-process proof. The block:
//! `transfers.json` (188 steps) in 64-step shards over two subblocks (a few seconds).

use slotproof::executor::BlockInput;
use slotproof::shard_jobs::ShardJobError;
use slotproof::{BlockProver, CancelToken, ProveError, verify_block_proof};

fn transfers() -> BlockInput {
    BlockInput::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/transfers.json"
    ))
    .unwrap()
}

fn prover() -> BlockProver {
    BlockProver::builder()
        .max_shard_rows(64)
        .subblock_gas(100_000)
        .build()
}

#[test]
fn shards_proven_in_subsets_assemble_into_the_single_process_proof() {
    let input = transfers();
    let cancel = CancelToken::new();
    let plan = prover().plan_shards(&input, &cancel).unwrap();
    let n = plan.shard_count();
    assert!(n >= 3, "{n} shards");
    assert!(plan.shard_subblocks.first() != plan.shard_subblocks.last());

    // Two "workers" (fresh provers) with interleaved subsets, proven out of order.
    let odd: Vec<usize> = (0..n).filter(|k| k % 2 == 1).collect();
    let even: Vec<usize> = (0..n).rev().filter(|k| k % 2 == 0).collect();
    let mut proofs = vec![None; n];
    for subset in [odd, even] {
        let proven = prover()
            .prove_shard_subset(&input, &subset, &cancel)
            .unwrap();
        plan.check_same(&proven.plan).unwrap();
        let mut got: Vec<usize> = proven.shards.iter().map(|(k, _)| *k).collect();
        let mut asked = subset.clone();
        asked.sort();
        got.sort();
        assert_eq!(got, asked, "exactly the shards asked for are proven");
        for (k, proof) in proven.shards {
            assert!(proofs[k].replace(proof).is_none());
        }
    }
    let shards: Vec<_> = proofs.into_iter().map(Option::unwrap).collect();

    // Assembly checks the count and each shard's subblock.
    assert!(matches!(
        plan.assemble(shards[1..].to_vec()),
        Err(ShardJobError::ShardCount { .. })
    ));
    let last = *plan.shard_subblocks.last().unwrap();
    let mut misplaced = shards.clone();
    misplaced.swap(0, n - 1);
    assert!(matches!(
        plan.assemble(misplaced),
        Err(ShardJobError::WrongSubblock { shard: 0, got, .. }) if got == last
    ));

    let assembled = plan.assemble(shards).unwrap().to_bytes().unwrap();
    let single = prover().prove(&input).unwrap().proof.to_bytes().unwrap();
    assert_eq!(
        assembled, single,
        "the assembled proof is the single-process one"
    );
    verify_block_proof(&assembled).unwrap();
}

#[test]
fn bad_shard_requests_and_other_plans_are_typed_errors() {
    let input = transfers();
    let cancel = CancelToken::new();
    let plan = prover().plan_shards(&input, &cancel).unwrap();
    let n = plan.shard_count();
    assert!(matches!(
        prover().prove_shard_subset(&input, &[n], &cancel),
        Err(ShardJobError::NoSuchShard { shard, shards }) if shard == n && shards == n
    ));
    // Other settings cut the block otherwise: a worker with them refuses the job.
    let other = BlockProver::builder()
        .max_shard_rows(128)
        .subblock_gas(100_000)
        .build()
        .plan_shards(&input, &cancel)
        .unwrap();
    assert!(matches!(
        plan.check_same(&other),
        Err(ShardJobError::PlanMismatch { .. })
    ));
    let cancelled = CancelToken::new();
    cancelled.cancel();
    assert!(matches!(
        prover().prove_shard_subset(&input, &[0], &cancelled),
        Err(ShardJobError::Prove(ProveError::Cancelled))
    ));
}
