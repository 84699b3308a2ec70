//! Tampered inputs are rejected with the right typed error.

mod common;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use slotproof_executor::fixture::PreState;
use slotproof_executor::witness::{WitnessDb, node_store};
use slotproof_executor::{BlockInput, ExecError, ExecuteOptions, WitnessError, execute_block};
use std::collections::HashMap;

fn load(rel: &str) -> Option<(BlockInput, serde_json::Value)> {
    let path = common::shared_fixture(rel)?;
    let text = std::fs::read_to_string(&path).unwrap();
    Some((
        BlockInput::from_path(&path).unwrap(),
        serde_json::from_str(&text).unwrap(),
    ))
}

fn nodes(input: &BlockInput) -> Vec<Bytes> {
    match &input.pre_state {
        PreState::Witness { nodes, .. } => nodes.clone(),
        PreState::Flat(_) => panic!("witness fixture expected"),
    }
}

fn set_nodes(input: &mut BlockInput, new: Vec<Bytes>) {
    if let PreState::Witness { nodes, .. } = &mut input.pre_state {
        *nodes = new;
    }
}

/// The proof nodes (root first) of `key` in the trie with `root`, found by walking the witness.
fn proof(nodes_list: &[Bytes], root: B256, key: B256) -> Vec<Bytes> {
    use eth_trie::{EthTrie, Trie};
    let mut t = EthTrie::from(node_store(nodes_list), root).unwrap();
    t.get_proof(key.as_slice())
        .unwrap()
        .into_iter()
        .map(Bytes::from)
        .collect()
}

#[test]
fn missing_account_node_names_the_account() {
    let Some((mut input, _)) = load("mainnet/22615247.json") else {
        return;
    };
    let all = nodes(&input);
    let root = input.parent().unwrap().state_root;
    // The first transaction's sender is certainly read.
    use alloy_consensus::transaction::SignerRecoverable;
    let sender: Address = input.transactions[0].recover_signer().unwrap();
    let leaf = proof(&all, root, keccak256(sender)).pop().unwrap();
    set_nodes(&mut input, all.into_iter().filter(|n| *n != leaf).collect());
    match execute_block(&input, &ExecuteOptions::default()) {
        Err(ExecError::Witness(WitnessError::MissingAccountNode { address, node, .. })) => {
            assert_eq!(address, sender);
            assert_eq!(node, keccak256(&leaf));
        }
        other => panic!("expected MissingAccountNode, got {other:?}"),
    }
}

#[test]
fn changed_storage_value_in_witness_is_rejected_naming_the_slot() {
    let Some((mut input, json)) = load("mainnet/22615247.json") else {
        return;
    };
    let all = nodes(&input);
    let root = input.parent().unwrap().state_root;
    let db = WitnessDb::new(node_store(&all), root, &[], HashMap::new());
    // A nonzero slot the block reads: the EIP-4788 contract's timestamp ring (from stateDiffs).
    let diff = &json["extra"]["stateDiffs"][0];
    let address: Address = serde_json::from_value(diff["address"].clone()).unwrap();
    let slot: U256 = serde_json::from_value(diff["storage"][0]["storageKey"].clone()).unwrap();
    let value: U256 = serde_json::from_value(diff["storage"][0]["preValue"].clone()).unwrap();
    assert!(!value.is_zero());
    let storage_root = db.account(address).unwrap().unwrap().storage_root;
    let leaf = proof(&all, storage_root, keccak256(B256::from(slot)))
        .pop()
        .unwrap();
    // Change the value's last byte inside the leaf node.
    let enc = alloy_rlp::encode(value);
    let pos = leaf
        .windows(enc.len())
        .rposition(|w| w == enc.as_slice())
        .expect("value in leaf");
    let mut tampered = leaf.to_vec();
    tampered[pos + enc.len() - 1] ^= 1;
    let new: Vec<Bytes> = all
        .into_iter()
        .map(|n| {
            if n == leaf {
                Bytes::from(tampered.clone())
            } else {
                n
            }
        })
        .collect();
    set_nodes(&mut input, new);
    match execute_block(&input, &ExecuteOptions::default()) {
        Err(ExecError::Witness(WitnessError::MissingStorageNode {
            address: a,
            slot: s,
            ..
        })) => {
            assert_eq!(a, address);
            assert_eq!(s, slot);
        }
        other => panic!("expected MissingStorageNode, got {other:?}"),
    }
}

#[test]
fn changed_transaction_is_rejected() {
    let Some((_, mut json)) = load("mainnet/22615247.json") else {
        return;
    };
    // Raise the value of the first transaction: its hash, signer and the transactions root change.
    json["blocks"][0]["transaction"][0]["value"] = serde_json::json!("0x16345785d8a0001");
    let input = BlockInput::from_json_str(&json.to_string()).unwrap();
    match execute_block(&input, &ExecuteOptions::default()) {
        Ok(exec) => match exec.ensure_checks_pass() {
            Err(ExecError::HeaderMismatch { check, .. }) => {
                assert!(
                    ["block_hash", "transactions_root"].contains(&check),
                    "{check}"
                )
            }
            other => panic!("expected a header mismatch, got {other:?}"),
        },
        // The recovered sender is now an unknown account: rejected before any check.
        Err(
            ExecError::Execution(_)
            | ExecError::InvalidTransaction { .. }
            | ExecError::Witness(_)
            | ExecError::Signature { .. },
        ) => {}
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn wrong_header_gas_used_fails_its_check() {
    let Some((_, mut json)) = load("mainnet/21688509.json") else {
        return;
    };
    json["blocks"][0]["header"]["gasUsed"] = serde_json::json!("0xf4241");
    json["blocks"][0]["header"]
        .as_object_mut()
        .unwrap()
        .remove("hash");
    let input = BlockInput::from_json_str(&json.to_string()).unwrap();
    let exec = execute_block(&input, &ExecuteOptions::default()).unwrap();
    let c = exec.checks.iter().find(|c| c.name == "gas_used").unwrap();
    assert!(!c.passed);
    assert_eq!(c.expected, "1000001");
    assert_eq!(c.computed, "999962");
    match exec.ensure_checks_pass() {
        Err(ExecError::HeaderMismatch {
            check: "gas_used", ..
        }) => {}
        other => panic!("expected gas_used mismatch, got {other:?}"),
    }
}

#[test]
fn broken_ancestor_chain_is_rejected() {
    let Some((_, mut json)) = load("mainnet/21688509.json") else {
        return;
    };
    json["witness"]["ancestors"][0]["stateRoot"] =
        serde_json::json!("0x0000000000000000000000000000000000000000000000000000000000000001");
    let input = BlockInput::from_json_str(&json.to_string()).unwrap();
    assert!(matches!(
        execute_block(&input, &ExecuteOptions::default()),
        Err(ExecError::Witness(WitnessError::BrokenAncestorChain { .. }))
    ));
}

#[test]
fn malformed_fixtures_give_typed_errors() {
    assert!(matches!(
        BlockInput::from_json_str("{not json"),
        Err(ExecError::Json { .. })
    ));
    assert!(matches!(
        BlockInput::from_json_str("[1,2]"),
        Err(ExecError::Malformed { .. })
    ));
    match BlockInput::from_json_str(r#"{"blocks": [], "witness": {}}"#) {
        Err(ExecError::Malformed { field, .. }) => assert_eq!(field, "blocks"),
        other => panic!("{other:?}"),
    }
    let Some((_, mut json)) = load("mainnet/21688509.json") else {
        return;
    };
    json["blocks"][0]["transaction"][1]["nonce"] = serde_json::json!("not a number");
    match BlockInput::from_json_str(&json.to_string()) {
        Err(ExecError::Malformed { field, .. }) => assert_eq!(field, "blocks[0].transaction[1]"),
        other => panic!("{other:?}"),
    }
    json["witness"]["state"][3] = serde_json::json!(17);
    assert!(BlockInput::from_json_str(&json.to_string()).is_err());
}

#[test]
fn missing_file_is_an_io_error() {
    assert!(matches!(
        BlockInput::from_path("/nonexistent/block.json"),
        Err(ExecError::Io { .. })
    ));
}
