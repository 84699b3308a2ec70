//! The complete world state a blockchain test carries (`pre`, `postState`): its tries, the
//! witness that proves every read of it, and how a block's changes move it forward.

use super::error::{BlockRef, BlockTestError};
use crate::fixture::FlatAccount;
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use alloy_rlp::Encodable;
use alloy_trie::proof::ProofRetainer;
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount};
use revm::database::BundleState;
use std::collections::BTreeMap;

/// Every account of a chain's state; an address it does not hold has no account.
pub type FullState = BTreeMap<Address, FlatAccount>;

/// Builds one trie from `(hashed key, RLP value)` leaves: its root and, when `nodes` is given,
/// every node of it appended there.
fn trie(mut leaves: Vec<(B256, Vec<u8>)>, nodes: Option<&mut Vec<Bytes>>) -> B256 {
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    leaves.sort_by_key(|(k, _)| *k);
    let keys: Vec<Nibbles> = leaves.iter().map(|(k, _)| Nibbles::unpack(k)).collect();
    let mut hb = match nodes {
        // A proof of every key retains every node of the trie.
        Some(_) => HashBuilder::default().with_proof_retainer(ProofRetainer::new(keys.clone())),
        None => HashBuilder::default(),
    };
    for (key, (_, value)) in keys.into_iter().zip(&leaves) {
        hb.add_leaf(key, value);
    }
    let root = hb.root();
    if let Some(out) = nodes {
        out.extend(hb.take_proof_nodes().into_inner().into_values());
    }
    root
}

fn storage_trie(storage: &BTreeMap<U256, U256>, nodes: Option<&mut Vec<Bytes>>) -> B256 {
    let leaves = storage
        .iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| (keccak256(B256::from(*k)), alloy_rlp::encode(v)))
        .collect();
    trie(leaves, nodes)
}

fn code_hash(code: &Bytes) -> B256 {
    if code.is_empty() {
        KECCAK256_EMPTY
    } else {
        keccak256(code)
    }
}

fn state_tries(state: &FullState, mut nodes: Option<&mut Vec<Bytes>>) -> B256 {
    let leaves = state
        .iter()
        .map(|(address, acc)| {
            let storage_root = storage_trie(&acc.storage, nodes.as_deref_mut());
            let leaf = TrieAccount {
                nonce: acc.nonce,
                balance: acc.balance,
                storage_root,
                code_hash: code_hash(&acc.code),
            };
            let mut rlp = Vec::new();
            leaf.encode(&mut rlp);
            (keccak256(address), rlp)
        })
        .collect();
    trie(leaves, nodes)
}

/// The state root of `state`.
pub fn state_root(state: &FullState) -> B256 {
    state_tries(state, None)
}

/// The state root of `state` with every node of its account and storage tries and every code:
/// an MPT witness from which the executor proves each read against that root.
pub fn full_witness(state: &FullState) -> (B256, Vec<Bytes>, Vec<Bytes>) {
    let mut nodes = Vec::new();
    let root = state_tries(state, Some(&mut nodes));
    let mut codes: Vec<Bytes> = state
        .values()
        .filter(|a| !a.code.is_empty())
        .map(|a| a.code.clone())
        .collect();
    codes.sort();
    codes.dedup();
    (root, nodes, codes)
}

/// Applies one block's changes to `state`. `block` names the block in an error.
pub fn apply_changes(
    state: &mut FullState,
    changes: &BundleState,
    test: &str,
    block: BlockRef,
) -> Result<(), BlockTestError> {
    for (address, account) in &changes.state {
        let Some(info) = &account.info else {
            state.remove(address);
            continue;
        };
        let entry = state.entry(*address).or_default();
        if account.was_destroyed() {
            // Storage after a wipe is only what the block wrote since.
            entry.storage.clear();
        }
        entry.balance = info.balance;
        entry.nonce = info.nonce;
        if info.code_hash != code_hash(&entry.code) {
            entry.code = if info.code_hash == KECCAK256_EMPTY {
                Bytes::new()
            } else if let Some(code) = info.code.as_ref().filter(|c| !c.is_empty()) {
                code.original_bytes()
            } else if let Some(code) = changes.contracts.get(&info.code_hash) {
                code.original_bytes()
            } else {
                return Err(BlockTestError::MissingCode {
                    test: test.to_string(),
                    block,
                    address: *address,
                    code_hash: info.code_hash,
                });
            };
        }
        for (slot, value) in &account.storage {
            if value.present_value.is_zero() {
                entry.storage.remove(slot);
            } else {
                entry.storage.insert(*slot, value.present_value);
            }
        }
    }
    Ok(())
}

/// The first difference between the computed state and a test's expected `postState`, if any.
pub fn first_difference(computed: &FullState, expected: &FullState) -> Option<(Address, String)> {
    let nonzero = |s: &BTreeMap<U256, U256>| -> BTreeMap<U256, U256> {
        s.iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (*k, *v))
            .collect()
    };
    let addresses: std::collections::BTreeSet<&Address> =
        computed.keys().chain(expected.keys()).collect();
    for address in addresses {
        let reason = match (computed.get(address), expected.get(address)) {
            (Some(_), None) => "account exists after execution but not in postState".to_string(),
            (None, Some(_)) => "account in postState does not exist after execution".to_string(),
            (Some(c), Some(e)) => {
                if c.balance != e.balance {
                    format!("balance {} != expected {}", c.balance, e.balance)
                } else if c.nonce != e.nonce {
                    format!("nonce {} != expected {}", c.nonce, e.nonce)
                } else if c.code != e.code {
                    format!(
                        "code hash {} != expected {}",
                        code_hash(&c.code),
                        code_hash(&e.code)
                    )
                } else {
                    let (cs, es) = (nonzero(&c.storage), nonzero(&e.storage));
                    match cs.keys().chain(es.keys()).find(|k| cs.get(k) != es.get(k)) {
                        Some(slot) => format!(
                            "storage slot {slot}: {} != expected {}",
                            cs.get(slot).copied().unwrap_or_default(),
                            es.get(slot).copied().unwrap_or_default()
                        ),
                        None => continue,
                    }
                }
            }
            (None, None) => continue,
        };
        return Some((*address, reason));
    }
    None
}
