//! The flat pre-state path and the MPT-witness path execute a block identically: the same block
//! with its witness replaced by the fixture's flat `extra.preState` gives the same receipts,
//! gas and bloom. (This is what makes a flat block's receipts-root check meaningful.)

mod common;

use alloy_primitives::{Address, Bytes, U256};
use slotproof_executor::fixture::{FlatAccount, PreState};
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};
use std::collections::BTreeMap;

fn flat_from_prestate(json: &serde_json::Value) -> BTreeMap<Address, FlatAccount> {
    let mut out = BTreeMap::new();
    for (addr, acc) in json["extra"]["preState"].as_object().unwrap() {
        if acc.is_null() {
            continue; // absent before the block
        }
        let get = |k: &str| acc.get(k).filter(|v| !v.is_null()).cloned();
        let storage: BTreeMap<U256, U256> = get("storage")
            .map(|s| serde_json::from_value(s).unwrap())
            .unwrap_or_default();
        out.insert(
            addr.parse().unwrap(),
            FlatAccount {
                balance: serde_json::from_value(get("balance").unwrap()).unwrap(),
                nonce: serde_json::from_value::<U256>(get("nonce").unwrap())
                    .unwrap()
                    .to(),
                code: get("code")
                    .map(|c| serde_json::from_value::<Bytes>(c).unwrap())
                    .unwrap_or_default(),
                storage,
            },
        );
    }
    out
}

#[test]
fn flat_prestate_executes_like_the_witness() {
    for rel in ["mainnet/21688509.json", "mainnet/22615247.json"] {
        let Some(path) = common::shared_fixture(rel) else {
            return;
        };
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let witness_input = BlockInput::from_path(&path).unwrap();
        let mut flat_input = witness_input.clone();
        flat_input.pre_state = PreState::Flat(flat_from_prestate(&json));
        let a = execute_block(&witness_input, &ExecuteOptions::default()).unwrap();
        let b = execute_block(&flat_input, &ExecuteOptions::default()).unwrap();
        assert_eq!(a.receipts, b.receipts, "{rel}: receipts differ");
        assert_eq!(a.steps(), b.steps());
        for name in ["gas_used", "receipts_root", "logs_bloom"] {
            let c = b.checks.iter().find(|c| c.name == name).unwrap();
            assert!(c.passed, "{rel} flat: {name}");
        }
    }
}
