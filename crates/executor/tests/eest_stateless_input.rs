//! `statelessInputBytes` read through the witness path. The samples carry none, so this test
//! writes one for a sample block from the format's definition (an SSZ `StatelessInput` with a
//! Prague schema id: the payload, the complete pre-state as witness, the genesis header) and
//! puts it into the test: the runner must decode and execute it, and reject a tampered one.

mod common;

use alloy_consensus::{Block, TxEnvelope};
use alloy_eips::Encodable2718;
use alloy_primitives::{Bytes, hex};
use serde_json::Value;
use slotproof_executor::ExecuteOptions;
use slotproof_executor::blocktest::state::full_witness;
use slotproof_executor::blocktest::stateless::{StatelessInputError, decode};
use slotproof_executor::blocktest::{BlockTestError, decode_block, parse_file, run_chain};

/// One field of an SSZ container, serialised.
enum SszField {
    Fixed(Vec<u8>),
    Var(Vec<u8>),
}

/// SSZ container: the fixed parts (offsets for variable fields) in order, then the variable ones.
fn container(fields: &[SszField]) -> Vec<u8> {
    let fixed_len: usize = fields
        .iter()
        .map(|f| match f {
            SszField::Fixed(b) => b.len(),
            SszField::Var(_) => 4,
        })
        .sum();
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    for f in fields {
        match f {
            SszField::Fixed(b) => head.extend_from_slice(b),
            SszField::Var(b) => {
                head.extend_from_slice(&((fixed_len + tail.len()) as u32).to_le_bytes());
                tail.extend_from_slice(b);
            }
        }
    }
    head.extend(tail);
    head
}

fn fixed(b: &[u8]) -> SszField {
    SszField::Fixed(b.to_vec())
}

fn var(b: Vec<u8>) -> SszField {
    SszField::Var(b)
}

/// A list of variable-size items: the offset table, then the items.
fn var_list(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 4 * items.len();
    for i in items {
        out.extend_from_slice(&(at as u32).to_le_bytes());
        at += i.len();
    }
    for i in items {
        out.extend_from_slice(i);
    }
    out
}

fn stateless_input(
    block: &Block<TxEnvelope>,
    nodes: &[Bytes],
    codes: &[Bytes],
    parent_rlp: Vec<u8>,
) -> Vec<u8> {
    let h = &block.header;
    let txs: Vec<Vec<u8>> = block
        .body
        .transactions
        .iter()
        .map(|t| t.encoded_2718())
        .collect();
    let withdrawals: Vec<u8> = block
        .body
        .withdrawals
        .iter()
        .flatten()
        .flat_map(|w| {
            let mut b = w.index.to_le_bytes().to_vec();
            b.extend_from_slice(&w.validator_index.to_le_bytes());
            b.extend_from_slice(w.address.as_slice());
            b.extend_from_slice(&w.amount.to_le_bytes());
            b
        })
        .collect();
    let payload = container(&[
        fixed(h.parent_hash.as_slice()),
        fixed(h.beneficiary.as_slice()),
        fixed(h.state_root.as_slice()),
        fixed(h.receipts_root.as_slice()),
        fixed(h.logs_bloom.as_slice()),
        fixed(h.mix_hash.as_slice()),
        fixed(&h.number.to_le_bytes()),
        fixed(&h.gas_limit.to_le_bytes()),
        fixed(&h.gas_used.to_le_bytes()),
        fixed(&h.timestamp.to_le_bytes()),
        var(h.extra_data.to_vec()),
        fixed(&alloy_primitives::U256::from(h.base_fee_per_gas.unwrap()).to_le_bytes::<32>()),
        fixed(h.hash_slow().as_slice()),
        var(var_list(&txs)),
        var(withdrawals),
        fixed(&h.blob_gas_used.unwrap().to_le_bytes()),
        fixed(&h.excess_blob_gas.unwrap().to_le_bytes()),
    ]);
    // The samples' blocks carry no requests: three empty lists.
    let requests = container(&[var(vec![]), var(vec![]), var(vec![])]);
    let npr = container(&[
        var(payload),
        var(vec![]),
        fixed(h.parent_beacon_block_root.unwrap().as_slice()),
        var(requests),
    ]);
    let to_vecs = |b: &[Bytes]| b.iter().map(|x| x.to_vec()).collect::<Vec<_>>();
    let witness = container(&[
        var(var_list(&to_vecs(nodes))),
        var(var_list(&to_vecs(codes))),
        var(var_list(&[parent_rlp])),
    ]);
    let mut out = vec![0x11, 0x00]; // schema id: Prague, revision 0
    out.extend(container(&[
        var(npr),
        var(witness),
        fixed(&1u64.to_le_bytes()),
        var(vec![]),
    ]));
    out
}

/// The worst_jumps sample with a stateless input for its block.
fn sample_with_input() -> Option<(String, Value, Vec<u8>)> {
    let path = common::shared_fixture("eest/worst_jumps.json")?;
    let text = std::fs::read_to_string(path).unwrap();
    let test = parse_file(&text).unwrap().remove(0).1.unwrap();
    let block = decode_block(&test.blocks[0].rlp).unwrap();
    let (_, nodes, codes) = full_witness(&test.pre);
    let bytes = stateless_input(&block, &nodes, &codes, alloy_rlp::encode(&test.genesis));
    let Value::Object(map) = serde_json::from_str(&text).unwrap() else {
        panic!("a test file is an object")
    };
    let (id, json) = map.into_iter().next().unwrap();
    Some((id, json, bytes))
}

fn run(id: &str, mut json: Value, bytes: &[u8]) -> (usize, Result<(), BlockTestError>) {
    json["blocks"][0]["statelessInputBytes"] = Value::String(format!("0x{}", hex::encode(bytes)));
    let mut file = serde_json::Map::new();
    file.insert(id.to_string(), json);
    let test = parse_file(&Value::Object(file).to_string())
        .unwrap()
        .remove(0)
        .1
        .unwrap();
    let opts = ExecuteOptions {
        record_trace: false,
        ..ExecuteOptions::default()
    };
    let report = run_chain(&test, &opts, |_| {});
    (report.stateless_inputs, report.result)
}

#[test]
fn stateless_input_executes_through_the_witness_path() {
    let Some((id, json, bytes)) = sample_with_input() else {
        return;
    };
    let decoded = decode(&bytes).unwrap();
    assert_eq!(decoded.schema_id, Some(0x1100));
    assert_eq!((decoded.chain_id, decoded.ancestors.len()), (1, 1));
    let (checked, result) = run(&id, json, &bytes);
    result.unwrap();
    assert_eq!(checked, 1);
}

#[test]
fn tampered_stateless_input_is_rejected_naming_the_block() {
    let Some((id, json, mut bytes)) = sample_with_input() else {
        return;
    };
    // The payload's state root starts after the schema id (2), the input's fixed part (20),
    // the request's (44), and parent hash + fee recipient (52).
    bytes[2 + 20 + 44 + 52] ^= 1;
    assert!(matches!(
        decode(&bytes),
        Err(StatelessInputError::BlockHash { .. })
    ));
    match run(&id, json, &bytes) {
        (0, Err(e @ BlockTestError::StatelessInput { .. })) => {
            assert!(e.to_string().contains("blocks[0] (number 1)"), "{e}")
        }
        other => panic!("expected a stateless-input failure, got {other:?}"),
    }
}

#[test]
fn malformed_stateless_inputs_are_typed_errors() {
    assert!(decode(&[]).is_err());
    assert!(matches!(
        decode(&[0x15, 0x01, 0, 0]),
        Err(StatelessInputError::UnsupportedSchema(0x1501))
    ));
    assert!(matches!(
        decode(&[0x11, 0x00, 20, 0, 0]),
        Err(StatelessInputError::Ssz(_))
    ));
    // Offsets out of order.
    let mut bad = vec![0x11, 0x00, 20, 0, 0, 0, 10, 0, 0, 0];
    bad.extend_from_slice(&[0; 12]);
    assert!(matches!(decode(&bad), Err(StatelessInputError::Ssz(_))));
}
