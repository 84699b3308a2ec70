//! The aggregation tree's chaining checks ([`slotproof_recursion::chain`]) on real EVM shards'
//! public values, run natively: a block's shards chain into one root, and each way of
//! breaking the chain (swapped, dropped, duplicated shards, a shard of another block, an
//! altered binding) is rejected with its own error or changes what the root publishes.

use slotproof_air::shard::{BLOCK_BINDING_LEN, OPCODE_TABLE, block_binding, subblock_binding};
use slotproof_recursion::chain::ChainError;
use slotproof_recursion::config::Val;
use slotproof_recursion::tree::native::{expected_root_values, root_values};

use crate::common;
use common::evm::{BoundShards, bound_shards};

/// Steps per shard: small, so one subblock has several shards.
const ROWS: usize = 64;
/// Gas per subblock: small, so the block has several subblocks.
const SUBBLOCK_GAS: u64 = 100_000;

fn public_values(b: &BoundShards) -> Vec<Vec<Vec<Val>>> {
    b.shards
        .iter()
        .map(|(_, s)| s.public_values.clone())
        .collect()
}

fn expected(b: &BoundShards) -> slotproof_recursion::chain::RootValues<Val> {
    let bindings: Vec<Vec<Val>> = b
        .shards
        .iter()
        .map(|(i, _)| subblock_binding(&b.subblocks[*i as usize]))
        .collect();
    expected_root_values(&block_binding(&b.block), &b.context, &bindings).expect("shards")
}

#[test]
fn a_blocks_shards_chain_into_the_root_the_claims_give() {
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    eprintln!(
        "shards per subblock: {:?}",
        b.shards.iter().map(|(i, _)| *i).collect::<Vec<_>>()
    );
    assert!(b.shards.len() >= 3, "the test needs several shards");
    let root = root_values(&public_values(&b)).expect("the shards chain");
    assert_eq!(root, expected(&b));
}

/// The shards of one subblock with at least three shards: their range in the block's list.
fn long_subblock(b: &BoundShards) -> std::ops::Range<usize> {
    let mut start = 0;
    while start < b.shards.len() {
        let sub = b.shards[start].0;
        let end = start
            + b.shards[start..]
                .iter()
                .take_while(|(s, _)| *s == sub)
                .count();
        if end - start >= 3 {
            return start..end;
        }
        start = end;
    }
    panic!("no subblock with three shards");
}

#[test]
fn swapped_shards_are_rejected() {
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let r = long_subblock(&b);
    let mut pv = public_values(&b);
    pv.swap(r.start + 1, r.start + 2);
    let err = root_values(&pv).expect_err("swapped shards chain");
    assert!(
        matches!(
            err,
            ChainError::StepsSkipped { .. } | ChainError::StepsRepeated { .. }
        ),
        "{err}"
    );
}

#[test]
fn a_dropped_shard_is_rejected() {
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let r = long_subblock(&b);
    let mut pv = public_values(&b);
    pv.remove(r.start + 1);
    let err = root_values(&pv).expect_err("a dropped shard chains");
    assert!(matches!(err, ChainError::StepsSkipped { .. }), "{err}");
    // The last shard of a subblock dropped: the one before does not end it.
    let mut pv = public_values(&b);
    pv.remove(r.end - 1);
    let err = root_values(&pv).expect_err("a dropped last shard chains");
    assert!(
        matches!(
            err,
            ChainError::SubblockNotEnded { .. } | ChainError::StepCount { .. }
        ),
        "{err}"
    );
}

#[test]
fn a_duplicated_shard_is_rejected() {
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let r = long_subblock(&b);
    let mut pv = public_values(&b);
    pv.insert(r.start + 1, pv[r.start + 1].clone());
    let err = root_values(&pv).expect_err("a duplicated shard chains");
    assert!(matches!(err, ChainError::StepsRepeated { .. }), "{err}");
}

#[test]
fn a_shard_of_another_block_is_rejected() {
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let other = bound_shards("token.json", SUBBLOCK_GAS, ROWS);
    let mut pv = public_values(&b);
    let k = pv.len() / 2;
    pv[k] = other.shards[0].1.public_values.clone();
    assert_eq!(root_values(&pv), Err(ChainError::BlockMismatch));
}

#[test]
fn an_altered_binding_is_rejected_or_changes_the_root() {
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let r = long_subblock(&b);
    // An altered block binding in one shard: the children disagree on the block.
    let mut pv = public_values(&b);
    pv[r.start + 1][OPCODE_TABLE][0] += Val::new(1);
    assert_eq!(root_values(&pv), Err(ChainError::BlockMismatch));
    // An altered subblock binding in every shard of a subblock (the step count kept): the
    // shards chain, but the root's digest is not the claims'.
    let mut pv = public_values(&b);
    for shard in &mut pv[r.clone()] {
        shard[OPCODE_TABLE][BLOCK_BINDING_LEN + 8] += Val::new(1);
    }
    let root = root_values(&pv).expect("consistent bindings chain");
    assert_ne!(root.digest, expected(&b).digest);
    // In one shard only: it no longer belongs to its neighbours' subblock.
    let mut pv = public_values(&b);
    pv[r.start + 1][OPCODE_TABLE][BLOCK_BINDING_LEN + 8] += Val::new(1);
    assert!(root_values(&pv).is_err());
    // Other block-context values in one shard (the leaf hashes them into its digest): the
    // shards chain, but the root's digest is not the one the claim's context gives.
    let mut pv = public_values(&b);
    *pv[r.start + 1][OPCODE_TABLE].last_mut().unwrap() += Val::new(1);
    let root = root_values(&pv).expect("the context is not a chaining value");
    assert_ne!(root.digest, expected(&b).digest);
}

#[test]
fn claims_of_another_block_do_not_match_the_root() {
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let other = bound_shards("token.json", SUBBLOCK_GAS, ROWS);
    let root = root_values(&public_values(&b)).expect("chains");
    assert_ne!(root, expected(&other));
}

#[test]
fn a_changed_call_count_or_memory_size_across_a_cut_is_rejected() {
    use core::mem::offset_of;
    use slotproof_air::CpuPublic;
    use slotproof_air::shard::CPU;
    type P = CpuPublic<u8>;
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let pv = public_values(&b);
    // A cut inside a context: the next shard continues it.
    let k = (1..pv.len())
        .find(|&k| {
            b.shards[k - 1].0 == b.shards[k].0
                && pv[k - 1][CPU][offset_of!(P, last_cont)] == Val::new(1)
        })
        .expect("a cut inside a context");
    for field in [offset_of!(P, first_ncalls), offset_of!(P, first_mw)] {
        let mut pv = pv.clone();
        pv[k][CPU][field] += Val::new(1);
        assert_eq!(root_values(&pv), Err(ChainError::ContextBroken), "{field}");
    }
}

#[test]
fn a_changed_carried_state_commitment_is_rejected() {
    use slotproof_air::chips::carry::RATE;
    use slotproof_air::shard::CARRY;
    let b = bound_shards("transfers.json", SUBBLOCK_GAS, ROWS);
    let pv = public_values(&b);
    // A cut inside a transaction that carries stack items or calls: a non-empty commitment.
    let k = (1..pv.len())
        .find(|&k| {
            b.shards[k - 1].0 == b.shards[k].0 && pv[k][CARRY][..RATE] != [Val::new(0); RATE]
        })
        .expect("a cut carrying state");
    assert_eq!(pv[k - 1][CARRY][RATE..], pv[k][CARRY][..RATE]);
    // The later shard takes in other state (its in commitment), or the earlier one hands on
    // other state (its out commitment).
    for (shard, at) in [(k, 0), (k - 1, RATE)] {
        let mut pv = pv.clone();
        pv[shard][CARRY][at + 3] += Val::new(1);
        assert_eq!(
            root_values(&pv),
            Err(ChainError::CarriedStateMismatch),
            "shard {shard}"
        );
    }
    // A subblock's first shard taking state in, its last handing state on.
    let first = (0..pv.len())
        .find(|&k| k == 0 || b.shards[k - 1].0 != b.shards[k].0)
        .unwrap();
    let mut bad = pv.clone();
    bad[first][CARRY][0] += Val::new(1);
    assert!(matches!(
        root_values(&bad),
        Err(ChainError::SubblockNotStarted { .. })
    ));
    let last = pv.len() - 1;
    let mut bad = pv.clone();
    bad[last][CARRY][RATE] += Val::new(1);
    assert!(matches!(
        root_values(&bad),
        Err(ChainError::SubblockNotEnded { .. })
    ));
}
