//! The transaction plans of the fixture kinds. Everything is derived from indices and fixed
//! labels, never from randomness, so the same plan (and the same fixture bytes) comes out of
//! every run.

use super::block::{BlockPlan, TxSpec, TxType};
use super::contracts::{
    self, HASHER_ADDRESS, RELAY_ADDRESS, TOKEN_ADDRESS, hasher_calldata, relay_calldata,
    transfer_calldata,
};
use super::genesis::{EOA_COUNT, Genesis, POOR_TOKEN_BALANCE};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_eips::eip4895::Withdrawal;
use alloy_primitives::{Address, Bytes, U256, keccak256};

const ETHER_MILLI: u128 = 10u128.pow(15);
const TOKEN_UNIT: u128 = 10u128.pow(18);
/// Gas limits: generous enough that no transaction runs out, the unused rest is refunded.
const TRANSFER_GAS: u64 = 21_000;
const ACCESS_LIST_TRANSFER_GAS: u64 = 30_000;
const TOKEN_GAS: u64 = 120_000;
const HEAVY_GAS: u64 = 4_000_000;
/// Senders 0..SENDERS of ordinary transactions (the last EOA is the token-poor one).
const SENDERS: usize = 40;

/// A fresh address (absent from genesis) for recipients that the block creates.
fn fresh(label: &str, i: usize) -> Address {
    Address::from_slice(&keccak256(format!("slotproof/{label}/{i}"))[12..])
}

/// The EOA or fresh address that receives the `i`-th transfer of a kind: every third one is new.
/// Never the token-poor last EOA, whose transfer must keep failing.
fn recipient(genesis: &Genesis, label: &str, i: usize) -> Address {
    if i % 3 == 2 {
        fresh(label, i)
    } else {
        genesis.eoas[(i * 7 + 3) % (EOA_COUNT - 1)].address
    }
}

/// Four withdrawals: two to funded EOAs, two to fresh addresses.
fn withdrawals(genesis: &Genesis) -> Vec<Withdrawal> {
    let to = [
        genesis.eoas[0].address,
        fresh("withdrawal", 1),
        genesis.eoas[1].address,
        fresh("withdrawal", 3),
    ];
    to.iter()
        .enumerate()
        .map(|(i, address)| Withdrawal {
            index: i as u64,
            validator_index: 1_000 + i as u64,
            address: *address,
            amount: 32_000_000 + 1_000 * i as u64, // gwei
        })
        .collect()
}

/// The `i`-th ether transfer; a mix of legacy, EIP-2930 and EIP-1559 envelopes.
fn ether_transfer(genesis: &Genesis, i: usize) -> TxSpec {
    let to = recipient(genesis, "transfer", i);
    let value = U256::from((i as u128 + 1) * 10 * ETHER_MILLI);
    let mut tx = TxSpec::call(i % SENDERS, to, value, Bytes::new(), TRANSFER_GAS);
    match i % 10 {
        0 => tx.ty = TxType::Legacy,
        5 => {
            tx.ty = TxType::AccessList;
            tx.gas_limit = ACCESS_LIST_TRANSFER_GAS;
            tx.access_list = AccessList(vec![AccessListItem {
                address: to,
                storage_keys: vec![],
            }]);
        }
        _ => {}
    }
    tx
}

/// The `i`-th token transfer (always succeeds: senders hold a million tokens).
fn token_transfer(genesis: &Genesis, i: usize) -> TxSpec {
    let to = recipient(genesis, "token", i);
    let amount = U256::from((i as u128 + 1) * TOKEN_UNIT);
    TxSpec::call(
        (i + 11) % SENDERS,
        TOKEN_ADDRESS,
        U256::ZERO,
        transfer_calldata(to, amount),
        TOKEN_GAS,
    )
}

/// A token transfer by the token-poor last EOA of more than it holds: reverts.
fn failing_token_transfer(genesis: &Genesis) -> TxSpec {
    TxSpec::call(
        EOA_COUNT - 1,
        TOKEN_ADDRESS,
        U256::ZERO,
        transfer_calldata(genesis.eoas[0].address, U256::from(POOR_TOKEN_BALANCE * 10)),
        TOKEN_GAS,
    )
}

/// A `balanceOf` query sent as a transaction (succeeds, changes nothing but the sender).
fn balance_query(genesis: &Genesis, from: usize) -> TxSpec {
    let mut input = contracts::BALANCE_OF_SELECTOR.to_vec();
    input.extend_from_slice(&[0u8; 12]);
    input.extend_from_slice(genesis.eoas[5].address.as_slice());
    TxSpec::call(from, TOKEN_ADDRESS, U256::ZERO, input.into(), TOKEN_GAS)
}

fn hash_job(from: usize, iterations: u64) -> TxSpec {
    let seed = keccak256(format!("slotproof/hasher-seed/{from}/{iterations}"));
    TxSpec::call(
        from,
        HASHER_ADDRESS,
        U256::ZERO,
        hasher_calldata(iterations, seed),
        HEAVY_GAS,
    )
}

fn relay_job(genesis: &Genesis, from: usize, iterations: u64) -> TxSpec {
    // Eight funded holders and two fresh ones (whose balance slots are absent).
    let mut holders: Vec<Address> = genesis.eoas[..8].iter().map(|e| e.address).collect();
    holders.push(fresh("holder", 0));
    holders.push(fresh("holder", 1));
    TxSpec::call(
        from,
        RELAY_ADDRESS,
        U256::ZERO,
        relay_calldata(iterations, &holders),
        HEAVY_GAS,
    )
}

/// 50 ether transfers.
pub fn transfers(genesis: &Genesis) -> BlockPlan {
    BlockPlan {
        txs: (0..50).map(|i| ether_transfer(genesis, i)).collect(),
        withdrawals: withdrawals(genesis),
        expected_failures: vec![],
    }
}

/// 50 token transfers, one of them reverting on an insufficient balance, and a `balanceOf`.
pub fn token(genesis: &Genesis) -> BlockPlan {
    let mut txs: Vec<TxSpec> = (0..48).map(|i| token_transfer(genesis, i)).collect();
    txs.insert(25, failing_token_transfer(genesis));
    txs.push(balance_query(genesis, 2));
    BlockPlan {
        txs,
        withdrawals: withdrawals(genesis),
        expected_failures: vec![25],
    }
}

/// Four hasher calls of growing length.
pub fn keccak(_genesis: &Genesis) -> BlockPlan {
    BlockPlan {
        txs: [150, 300, 450, 600]
            .iter()
            .enumerate()
            .map(|(i, n)| hash_job(i, *n))
            .collect(),
        withdrawals: vec![],
        expected_failures: vec![],
    }
}

/// Three relay calls of growing length.
pub fn calls(genesis: &Genesis) -> BlockPlan {
    BlockPlan {
        txs: [40, 80, 120]
            .iter()
            .enumerate()
            .map(|(i, n)| relay_job(genesis, i, *n))
            .collect(),
        withdrawals: withdrawals(genesis),
        expected_failures: vec![],
    }
}

/// All of the above interleaved: rounds of one ether and two token transfers, hasher and relay
/// calls at fixed rounds, and the reverting token transfer in the middle. Token transfers carry
/// most of the gas (cold SLOADs and fresh SSTOREs) for few steps, so the block passes the
/// executor's default 4 Mgas subblock budget, and splits into two subblocks, with a trace that
/// stays small.
pub fn mixed(genesis: &Genesis) -> BlockPlan {
    let mut txs = Vec::new();
    let mut expected_failures = Vec::new();
    for round in 0..40 {
        txs.push(ether_transfer(genesis, round));
        txs.push(token_transfer(genesis, 2 * round));
        txs.push(token_transfer(genesis, 2 * round + 1));
        match round {
            10 | 30 => txs.push(hash_job(SENDERS + round / 10, 300)),
            15 | 35 => txs.push(relay_job(genesis, SENDERS + 8 + round / 10, 60)),
            20 => {
                expected_failures.push(txs.len());
                txs.push(failing_token_transfer(genesis));
            }
            _ => {}
        }
    }
    txs.push(balance_query(genesis, 3));
    BlockPlan {
        txs,
        withdrawals: withdrawals(genesis),
        expected_failures,
    }
}

/// `rounds` rounds of the `mixed` pattern, repeated every 40 rounds: the workload of a larger
/// block (scaling benchmarks). Transfer indices keep growing, so every round sends from the same
/// senders with fresh nonces to new and old recipients; the heavy calls rotate over the EOAs that
/// ordinary transfers do not use (never the token-poor last one); the reverting token transfer
/// happens once.
pub fn scaled(genesis: &Genesis, rounds: usize) -> BlockPlan {
    let heavy_senders = EOA_COUNT - 1 - SENDERS;
    let mut txs = Vec::new();
    let mut expected_failures = Vec::new();
    for round in 0..rounds {
        txs.push(ether_transfer(genesis, round));
        txs.push(token_transfer(genesis, 2 * round));
        txs.push(token_transfer(genesis, 2 * round + 1));
        let heavy_from = SENDERS + (round / 5) % heavy_senders;
        match round % 40 {
            10 | 30 => txs.push(hash_job(heavy_from, 300)),
            15 | 35 => txs.push(relay_job(genesis, heavy_from, 60)),
            20 if round == 20 => {
                expected_failures.push(txs.len());
                txs.push(failing_token_transfer(genesis));
            }
            _ => {}
        }
    }
    txs.push(balance_query(genesis, 3));
    BlockPlan {
        txs,
        withdrawals: withdrawals(genesis),
        expected_failures,
    }
}
