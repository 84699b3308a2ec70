//! The post-state root, recomputed by applying the block's state changes to the witness tries.

use crate::error::WitnessError;
use crate::witness::WitnessDb;
use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use eth_trie::{EthTrie, Trie, TrieError};
use revm::database::BundleState;

fn trie_err(e: TrieError) -> WitnessError {
    match e {
        TrieError::MissingTrieNode { node_hash, .. } => {
            WitnessError::MissingNodeForPostState { node: node_hash }
        }
        other => WitnessError::Trie(other.to_string()),
    }
}

/// Applies `bundle` (storage tries first, then account leaves) to the witness tries under the
/// parent's state root and returns the new state root. Fails, naming the node, where the witness
/// lacks a node the update needs.
pub fn post_state_root(
    db: &WitnessDb,
    parent_root: B256,
    bundle: &BundleState,
) -> Result<B256, WitnessError> {
    let nodes = db.nodes().clone();
    let mut accounts = EthTrie::from(nodes.clone(), parent_root).map_err(trie_err)?;
    // Deterministic order keeps node insertion order (and so any error) reproducible.
    let mut changed: Vec<_> = bundle.state.iter().collect();
    changed.sort_by_key(|(a, _)| **a);
    for (address, account) in changed {
        let key = keccak256(address);
        let Some(info) = &account.info else {
            accounts.remove(key.as_slice()).map_err(trie_err)?;
            continue;
        };
        let pre_storage_root = if account.was_destroyed() {
            EMPTY_ROOT_HASH
        } else {
            db.account(*address)?
                .map(|a| a.storage_root)
                .unwrap_or(EMPTY_ROOT_HASH)
        };
        let mut slots: Vec<_> = account
            .storage
            .iter()
            .filter(|(_, s)| s.is_changed())
            .collect();
        let storage_root = if slots.is_empty() {
            pre_storage_root
        } else {
            slots.sort_by_key(|(k, _)| **k);
            // `EthTrie::from` looks the root node up, and an empty trie has none: start empty
            // (an account that had no storage, e.g. a system contract on a fresh chain).
            let mut storage = if pre_storage_root == EMPTY_ROOT_HASH {
                EthTrie::new(nodes.clone())
            } else {
                EthTrie::from(nodes.clone(), pre_storage_root).map_err(trie_err)?
            };
            for (slot, value) in slots {
                let skey = keccak256(B256::from(*slot));
                if value.present_value == U256::ZERO {
                    storage.remove(skey.as_slice()).map_err(trie_err)?;
                } else {
                    storage
                        .insert(skey.as_slice(), &alloy_rlp::encode(value.present_value))
                        .map_err(trie_err)?;
                }
            }
            storage.root_hash().map_err(trie_err)?
        };
        let leaf = TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            storage_root,
            code_hash: info.code_hash,
        };
        accounts
            .insert(key.as_slice(), &alloy_rlp::encode(leaf))
            .map_err(trie_err)?;
    }
    accounts.root_hash().map_err(trie_err)
}
