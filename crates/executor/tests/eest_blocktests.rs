//! EEST blockchain tests: the shared benchmark samples run with every check passing, and
//! tampered copies of them fail, naming the block.

// The tests match on `BlockTestError` by value, as callers do.
#![allow(clippy::result_large_err)]

mod common;

use alloy_primitives::{B256, Bytes, hex};
use serde_json::Value;
use slotproof_executor::ExecuteOptions;
use slotproof_executor::blocktest::{
    BlockTestError, BlockchainTest, decode_block, parse_file, run_blocktest_file, run_chain,
};
use std::path::PathBuf;

const SAMPLES: &[&str] = &[
    "worst_calldataload.json",
    "worst_jumps.json",
    "worst_memory_access.json",
    "worst_storage_access_cold.json",
];

fn sample(name: &str) -> Option<PathBuf> {
    common::shared_fixture(&format!("eest/{name}"))
}

/// The one test of a sample file, as JSON (to tamper with) and its id.
fn sample_json(name: &str) -> Option<(String, Value)> {
    let text = std::fs::read_to_string(sample(name)?).unwrap();
    let Value::Object(map) = serde_json::from_str(&text).unwrap() else {
        panic!("a test file is an object")
    };
    map.into_iter().next()
}

/// Runs the tests of `json` (a whole file) and returns the first test's result.
fn run_json(json: &Value) -> Result<(), BlockTestError> {
    let mut tests = parse_file(&json.to_string()).unwrap();
    let test: BlockchainTest = tests.remove(0).1?;
    let opts = ExecuteOptions {
        record_trace: false,
        ..ExecuteOptions::default()
    };
    run_chain(&test, &opts, |_| {}).result
}

fn file_of(id: &str, test: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(id.to_string(), test);
    Value::Object(map)
}

/// Re-encodes block `index` after `edit` changed its decoded form, and updates its stated hash;
/// returns the new block hash.
fn edit_block(
    test: &mut Value,
    index: usize,
    edit: impl FnOnce(&mut alloy_consensus::Block<alloy_consensus::TxEnvelope>),
) -> B256 {
    let rlp: Bytes = serde_json::from_value(test["blocks"][index]["rlp"].clone()).unwrap();
    let mut block = decode_block(&rlp).unwrap();
    edit(&mut block);
    let hash = block.header.hash_slow();
    test["blocks"][index]["rlp"] =
        Value::String(format!("0x{}", hex::encode(alloy_rlp::encode(&block))));
    test["blocks"][index]["blockHeader"]["hash"] = Value::String(hash.to_string());
    hash
}

#[test]
fn every_sample_passes_every_check() {
    for name in SAMPLES {
        let Some(path) = sample(name) else { return };
        let s = run_blocktest_file(&path);
        assert_eq!(
            (s.passed, s.failed, s.skipped),
            (1, 0, 0),
            "{name}: {:?}",
            s.failures
        );
    }
}

#[test]
fn multi_block_chain_carries_state_into_the_next_block() {
    let Some((id, test)) = sample_json("worst_storage_access_cold.json") else {
        return;
    };
    let mut tests = parse_file(&file_of(&id, test).to_string()).unwrap();
    let test = tests.remove(0).1.unwrap();
    assert_eq!(test.blocks.len(), 2);
    let mut seen = Vec::new();
    let report = run_chain(&test, &ExecuteOptions::default(), |b| {
        seen.push((
            b.index,
            b.execution.number,
            b.execution.gas_used,
            b.execution.fork,
        ));
        assert!(b.execution.all_checks_pass());
        assert!(b.execution.checks.iter().any(|c| c.name == "state_root"));
    });
    report.result.unwrap();
    assert_eq!(
        seen,
        vec![(0, 1, 8_809_135, "Prague"), (1, 2, 2_000_000, "Prague")]
    );
}

#[test]
fn tampered_post_state_hash_fails_naming_the_block() {
    let Some((id, mut test)) = sample_json("worst_storage_access_cold.json") else {
        return;
    };
    test["postStateHash"] = Value::String(B256::repeat_byte(0x11).to_string());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::PostStateHash { .. }) => {
            assert!(e.to_string().contains("blocks[1] (number 2)"), "{e}")
        }
        other => panic!("expected a postStateHash failure, got {other:?}"),
    }
}

#[test]
fn tampered_post_state_fails_naming_account_and_block() {
    let Some((id, mut test)) = sample_json("worst_jumps.json") else {
        return;
    };
    let post = test["postState"].as_object_mut().unwrap();
    let (address, account) = post.iter_mut().next().unwrap();
    let address = address.clone();
    account["balance"] = Value::String("0x123456789".into());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::PostState { .. }) => {
            let text = e.to_string().to_lowercase();
            assert!(
                text.contains(&address.to_lowercase()) && text.contains("blocks[0] (number 1)"),
                "{e}"
            )
        }
        other => panic!("expected a postState failure, got {other:?}"),
    }
}

#[test]
fn wrong_last_block_hash_fails_naming_the_block() {
    let Some((id, mut test)) = sample_json("worst_calldataload.json") else {
        return;
    };
    test["lastblockhash"] = Value::String(B256::repeat_byte(0x22).to_string());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::LastBlockHash { .. }) => {
            assert!(e.to_string().contains("blocks[0] (number 1)"), "{e}")
        }
        other => panic!("expected a lastblockhash failure, got {other:?}"),
    }
}

#[test]
fn altered_block_state_root_fails_naming_the_block() {
    let Some((id, mut test)) = sample_json("worst_storage_access_cold.json") else {
        return;
    };
    let hash = edit_block(&mut test, 1, |b| {
        b.header.state_root = B256::repeat_byte(0x33)
    });
    test["lastblockhash"] = Value::String(hash.to_string());
    match run_json(&file_of(&id, test)) {
        Err(
            e @ BlockTestError::CheckFailed {
                check: "state_root",
                ..
            },
        ) => {
            assert!(e.to_string().contains("blocks[1] (number 2)"), "{e}")
        }
        other => panic!("expected a state root failure, got {other:?}"),
    }
}

#[test]
fn pre_state_that_misses_the_genesis_root_is_refused() {
    let Some((id, mut test)) = sample_json("worst_jumps.json") else {
        return;
    };
    let pre = test["pre"].as_object_mut().unwrap();
    let first = pre.keys().next().unwrap().clone();
    pre.remove(&first);
    match run_json(&file_of(&id, test)) {
        Err(BlockTestError::Genesis { check, .. }) => assert_eq!(check, "state root of `pre`"),
        other => panic!("expected a genesis failure, got {other:?}"),
    }
}

/// Block 2 made invalid (its state root altered) and marked so: the chain ends at block 1,
/// whose state and hash the test now expects.
fn invalid_second_block(expect: &str) -> Option<(String, Value)> {
    let (id, mut test) = sample_json("worst_storage_access_cold.json")?;
    let block1_root = test["blocks"][0]["blockHeader"]["stateRoot"].clone();
    let block1_hash = test["blocks"][0]["blockHeader"]["hash"].clone();
    edit_block(&mut test, 1, |b| {
        b.header.state_root = B256::repeat_byte(0x44)
    });
    test["blocks"][1]["expectException"] = Value::String(expect.into());
    test["postStateHash"] = block1_root;
    test["lastblockhash"] = block1_hash;
    Some((id, test))
}

#[test]
fn invalid_block_is_rejected_with_the_expected_kind() {
    let Some((id, test)) = invalid_second_block("BlockException.INVALID_STATE_ROOT") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("slotproof-eest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("invalid_block.json");
    std::fs::write(&path, file_of(&id, test).to_string()).unwrap();
    let s = run_blocktest_file(&path);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!((s.passed, s.failed), (1, 0), "{:?}", s.failures);
    assert_eq!((s.invalid_blocks, s.invalid_rejected_as_expected), (1, 1));
}

#[test]
fn invalid_block_rejected_for_another_reason_fails() {
    let Some((id, test)) = invalid_second_block("TransactionException.INSUFFICIENT_ACCOUNT_FUNDS")
    else {
        return;
    };
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::WrongRejection { .. }) => {
            assert!(e.to_string().contains("blocks[1]"), "{e}")
        }
        other => panic!("expected a wrong-kind rejection, got {other:?}"),
    }
}

#[test]
fn invalid_block_that_executes_cleanly_fails() {
    let Some((id, mut test)) = sample_json("worst_jumps.json") else {
        return;
    };
    test["blocks"][0]["expectException"] =
        Value::String("TransactionException.INTRINSIC_GAS_TOO_LOW".into());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::InvalidBlockAccepted { .. }) => {
            assert!(e.to_string().contains("blocks[0] (number 1)"), "{e}")
        }
        other => panic!("expected an accepted-invalid-block failure, got {other:?}"),
    }
}

#[test]
fn header_against_parent_is_checked() {
    let Some((id, mut test)) = sample_json("worst_jumps.json") else {
        return;
    };
    let hash = edit_block(&mut test, 0, |b| {
        b.header.base_fee_per_gas = b.header.base_fee_per_gas.map(|f| f + 1)
    });
    test["lastblockhash"] = Value::String(hash.to_string());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::InvalidHeader { .. }) => {
            assert!(e.to_string().contains("base fee"), "{e}")
        }
        other => panic!("expected a header failure, got {other:?}"),
    }
}

#[test]
fn malformed_tests_are_typed_errors() {
    assert!(parse_file("{not json").is_err());
    assert!(parse_file("[]").is_err());
    let tests = parse_file(r#"{"t": {"network": "Prague"}}"#).unwrap();
    assert!(matches!(tests[0].1, Err(BlockTestError::Malformed { .. })));
    let Some((id, mut test)) = sample_json("worst_jumps.json") else {
        return;
    };
    test["network"] = Value::String("Frontier".into());
    let tests = parse_file(&file_of(&id, test.clone()).to_string()).unwrap();
    assert!(matches!(&tests[0].1, Err(e) if e.is_unsupported()));
    test["network"] = Value::String("Prague".into());
    test["blocks"][0]["rlp"] = Value::String("0xc0ffee".into());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::BlockRlp { .. }) => assert!(e.to_string().contains("blocks[0]")),
        other => panic!("expected an RLP failure, got {other:?}"),
    }
}

/// The fork comes from the test's `network` and the block's timestamp (1000 here), never from
/// mainnet's schedule.
#[test]
fn fork_follows_the_network_and_its_transition_time() {
    let Some((id, test)) = sample_json("worst_jumps.json") else {
        return;
    };
    let with_network = |network: &str| {
        let mut t = test.clone();
        t["network"] = Value::String(network.into());
        run_json(&file_of(&id, t))
    };
    // Before the transition at 15,000 the block is a Prague block, as filled.
    with_network("PragueToOsakaAtTime15k").unwrap();
    // As a Cancun block (Prague only from 15,000) it lacks Prague's system calls: its state
    // root is not the filled one.
    match with_network("CancunToPragueAtTime15k") {
        Err(e @ BlockTestError::CheckFailed { .. }) => {
            assert!(e.to_string().contains("blocks[0] (number 1)"), "{e}")
        }
        other => panic!("expected a failed check, got {other:?}"),
    }
}

#[test]
fn osaka_rules_apply_on_an_osaka_network() {
    let Some((id, mut test)) = sample_json("worst_storage_access_cold.json") else {
        return;
    };
    // The setup transaction's gas limit (100 billion) is above Osaka's per-transaction cap.
    test["network"] = Value::String("Osaka".into());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::Execution { .. }) => {
            assert!(e.to_string().contains("blocks[0] (number 1)"), "{e}")
        }
        other => panic!("expected an invalid transaction, got {other:?}"),
    }
}

#[test]
fn chain_id_comes_from_the_test() {
    let Some((id, mut test)) = sample_json("worst_jumps.json") else {
        return;
    };
    // The transaction is signed for chain 1: on chain 2 it is invalid.
    test["config"]["chainid"] = Value::String("0x02".into());
    match run_json(&file_of(&id, test)) {
        Err(e @ BlockTestError::Execution { .. }) => {
            assert!(e.to_string().contains("blocks[0] (number 1)"), "{e}")
        }
        other => panic!("expected an invalid transaction, got {other:?}"),
    }
}
