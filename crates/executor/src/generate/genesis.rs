//! The generated chain's genesis: deterministic funded EOAs, the Prague system contracts and the
//! project's contracts, the MPT witness of that state (every node of the account trie and of
//! every storage trie), and the genesis header that commits to it.

use super::contracts::{
    self, ADDER_ADDRESS, HASHER_ADDRESS, RELAY_ADDRESS, TOKEN_ADDRESS, token_balance_slot,
};
use crate::error::ExecError;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use eth_trie::{EthTrie, MemoryDB, Trie, TrieError};
use k256::ecdsa::SigningKey;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Chain id of the generated chain (not mainnet's, so its transactions cannot be replayed there).
pub const CHAIN_ID: u64 = 1337;
/// Genesis timestamp (fixed, so that output never depends on the clock).
pub const GENESIS_TIMESTAMP: u64 = 1_750_000_000;
pub const GAS_LIMIT: u64 = 30_000_000;
pub const GENESIS_BASE_FEE: u64 = 1_000_000_000;
/// Number of funded EOAs.
pub const EOA_COUNT: usize = 64;
/// Ether of every EOA: 1000 ETH.
pub const EOA_BALANCE: u128 = 1_000 * 10u128.pow(18);
/// Token balance of every EOA except the last: 1,000,000 tokens of 18 decimals.
pub const TOKEN_BALANCE: u128 = 1_000_000 * 10u128.pow(18);
/// Token balance of the last EOA, too small for the transfers it attempts (the revert case).
pub const POOR_TOKEN_BALANCE: u128 = 100;

/// An externally owned account with its private key.
#[derive(Clone, Debug)]
pub struct Eoa {
    pub key: SigningKey,
    pub address: Address,
}

impl Eoa {
    /// The EOA whose private key is `keccak256("slotproof/eoa/<index>")`.
    pub fn derive(index: usize) -> Result<Self, ExecError> {
        let secret = keccak256(format!("slotproof/eoa/{index}"));
        let key = SigningKey::from_slice(secret.as_slice())
            .map_err(|e| ExecError::Generator(format!("EOA {index}: invalid private key: {e}")))?;
        let point = key.verifying_key().to_encoded_point(false);
        // An address is the low 20 bytes of keccak(uncompressed public key without its 0x04 tag).
        let address = Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..]);
        Ok(Self { key, address })
    }
}

/// One account of the genesis state.
#[derive(Clone, Debug, Default)]
pub struct GenesisAccount {
    pub balance: U256,
    pub nonce: u64,
    pub code: Bytes,
    pub storage: BTreeMap<U256, U256>,
}

/// The genesis state, its EOAs and (after [`Genesis::witness`]) its trie nodes.
#[derive(Clone, Debug)]
pub struct Genesis {
    pub eoas: Vec<Eoa>,
    pub accounts: BTreeMap<Address, GenesisAccount>,
}

/// The genesis state as a witness: its root, every trie node, every contract code.
#[derive(Clone, Debug)]
pub struct GenesisWitness {
    pub state_root: B256,
    /// Account and storage trie nodes, sorted by hash.
    pub nodes: Vec<Bytes>,
    /// Contract codes, sorted by hash.
    pub codes: Vec<Bytes>,
}

fn trie_err(what: &str, e: TrieError) -> ExecError {
    ExecError::Generator(format!("building the {what} trie: {e}"))
}

impl Genesis {
    pub fn build() -> Result<Self, ExecError> {
        let eoas = (0..EOA_COUNT)
            .map(Eoa::derive)
            .collect::<Result<Vec<_>, _>>()?;
        let mut accounts = BTreeMap::new();
        for e in &eoas {
            accounts.insert(
                e.address,
                GenesisAccount {
                    balance: U256::from(EOA_BALANCE),
                    ..Default::default()
                },
            );
        }
        // EIPs 4788, 2935, 7002 and 7251 deploy their contracts with nonce 1 and empty storage.
        for (address, code) in contracts::system_contracts() {
            accounts.insert(
                address,
                GenesisAccount {
                    nonce: 1,
                    code,
                    ..Default::default()
                },
            );
        }
        let token_storage = eoas
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let balance = if i + 1 == eoas.len() {
                    POOR_TOKEN_BALANCE
                } else {
                    TOKEN_BALANCE
                };
                (token_balance_slot(e.address), U256::from(balance))
            })
            .collect();
        let contract = |code: Bytes, storage: BTreeMap<U256, U256>| GenesisAccount {
            nonce: 1,
            code,
            storage,
            ..Default::default()
        };
        accounts.insert(TOKEN_ADDRESS, contract(contracts::token()?, token_storage));
        accounts.insert(
            HASHER_ADDRESS,
            contract(contracts::hasher()?, BTreeMap::new()),
        );
        accounts.insert(
            RELAY_ADDRESS,
            contract(contracts::relay()?, BTreeMap::new()),
        );
        accounts.insert(
            ADDER_ADDRESS,
            contract(contracts::adder()?, BTreeMap::new()),
        );
        Ok(Self { eoas, accounts })
    }

    /// Builds the account trie and every storage trie with `eth_trie` and returns their nodes:
    /// the union of the proofs of every key, which is every node of every trie, so the executor
    /// can prove any read (including the absence of an account or slot) and recompute the root.
    pub fn witness(&self) -> Result<GenesisWitness, ExecError> {
        let db = Arc::new(MemoryDB::new(false));
        let mut nodes = BTreeMap::new();
        let mut keep = |root: B256, proof: Vec<Vec<u8>>| {
            for node in proof {
                let hash = keccak256(&node);
                // Nodes shorter than 32 bytes are embedded in their parent, except a root.
                if node.len() >= 32 || hash == root {
                    nodes.insert(hash, Bytes::from(node));
                }
            }
        };
        let mut account_trie = EthTrie::new(db.clone());
        let mut codes = BTreeMap::new();
        for (address, account) in &self.accounts {
            let slots: Vec<_> = account
                .storage
                .iter()
                .filter(|(_, v)| !v.is_zero())
                .collect();
            let storage_root = if slots.is_empty() {
                EMPTY_ROOT_HASH
            } else {
                let mut trie = EthTrie::new(db.clone());
                for (slot, value) in &slots {
                    let key = keccak256(B256::from(**slot));
                    trie.insert(key.as_slice(), &alloy_rlp::encode(**value))
                        .map_err(|e| trie_err("storage", e))?;
                }
                let root = trie.root_hash().map_err(|e| trie_err("storage", e))?;
                for (slot, _) in &slots {
                    let key = keccak256(B256::from(**slot));
                    keep(
                        root,
                        trie.get_proof(key.as_slice())
                            .map_err(|e| trie_err("storage", e))?,
                    );
                }
                root
            };
            let code_hash = if account.code.is_empty() {
                KECCAK256_EMPTY
            } else {
                codes.insert(keccak256(&account.code), account.code.clone());
                keccak256(&account.code)
            };
            let leaf = TrieAccount {
                nonce: account.nonce,
                balance: account.balance,
                storage_root,
                code_hash,
            };
            account_trie
                .insert(keccak256(address).as_slice(), &alloy_rlp::encode(leaf))
                .map_err(|e| trie_err("account", e))?;
        }
        let state_root = account_trie
            .root_hash()
            .map_err(|e| trie_err("account", e))?;
        for address in self.accounts.keys() {
            let proof = account_trie
                .get_proof(keccak256(address).as_slice())
                .map_err(|e| trie_err("account", e))?;
            keep(state_root, proof);
        }
        if !nodes.contains_key(&state_root) {
            return Err(ExecError::Generator(format!(
                "the account trie's root node {state_root} is not among its proof nodes"
            )));
        }
        Ok(GenesisWitness {
            state_root,
            nodes: nodes.into_values().collect(),
            codes: codes.into_values().collect(),
        })
    }

    /// The genesis header (block 0) committing to `state_root`, with every fork up to Prague
    /// active: empty transactions, withdrawals and requests.
    pub fn header(state_root: B256) -> Header {
        Self::header_with_gas_limit(state_root, GAS_LIMIT)
    }

    /// The genesis header with another gas limit (scaled blocks: the child block may then use up
    /// to the same limit without any gas-limit step from the parent).
    pub fn header_with_gas_limit(state_root: B256, gas_limit: u64) -> Header {
        Header {
            parent_hash: B256::ZERO,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            number: 0,
            gas_limit,
            gas_used: 0,
            timestamp: GENESIS_TIMESTAMP,
            extra_data: Bytes::from_static(b"slotproof genesis"),
            base_fee_per_gas: Some(GENESIS_BASE_FEE),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::witness::{WitnessDb, node_store};
    use revm::database_interface::DatabaseRef;
    use std::collections::HashMap;

    #[test]
    fn eoas_are_deterministic_and_distinct() {
        let a = Eoa::derive(0).unwrap();
        let b = Eoa::derive(0).unwrap();
        let c = Eoa::derive(1).unwrap();
        assert_eq!(a.address, b.address);
        assert_ne!(a.address, c.address);
    }

    #[test]
    fn witness_answers_every_genesis_read() {
        let genesis = Genesis::build().unwrap();
        let w = genesis.witness().unwrap();
        let db = WitnessDb::new(node_store(&w.nodes), w.state_root, &w.codes, HashMap::new());
        for (address, account) in &genesis.accounts {
            let info = db.basic_ref(*address).unwrap().expect("account exists");
            assert_eq!(info.balance, account.balance);
            assert_eq!(info.nonce, account.nonce);
            let code = db.code_by_hash_ref(info.code_hash).unwrap();
            assert_eq!(code.original_bytes(), account.code);
            for (slot, value) in &account.storage {
                assert_eq!(db.storage_ref(*address, *slot).unwrap(), *value);
            }
        }
        // Absent accounts and slots are provable too.
        assert!(db.basic_ref(Address::repeat_byte(0x42)).unwrap().is_none());
        assert_eq!(
            db.storage_ref(TOKEN_ADDRESS, U256::from(7)).unwrap(),
            U256::ZERO
        );
    }
}
