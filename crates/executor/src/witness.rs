//! Pre-state databases. [`WitnessDb`] answers every account and storage read by walking the MPT
//! witness from the parent's state root, so a read is only ever answered by nodes that hash up to
//! that root; a read the witness cannot answer is an error naming the account or slot.

use crate::error::WitnessError;
use crate::fixture::{FlatAccount, PreState};
use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use alloy_rlp::Decodable;
use alloy_trie::TrieAccount;
use eth_trie::{DB, EthTrie, MemoryDB, Trie, TrieError};
use revm::bytecode::Bytecode;
use revm::database_interface::DatabaseRef;
use revm::state::AccountInfo;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Checks that the ancestor headers form a chain ending at the block's parent, and returns the
/// BLOCKHASH table they give (number -> hash).
pub fn check_ancestors(
    header: &Header,
    ancestors: &[Header],
) -> Result<HashMap<u64, B256>, WitnessError> {
    let mut hashes = HashMap::new();
    let mut expected_hash = header.parent_hash;
    let mut expected_number = header
        .number
        .checked_sub(1)
        .ok_or(WitnessError::NoParentHeader)?;
    for h in ancestors.iter().rev() {
        let actual = h.hash_slow();
        if h.number != expected_number || actual != expected_hash {
            return Err(WitnessError::BrokenAncestorChain {
                number: h.number,
                expected: expected_hash,
                actual,
            });
        }
        hashes.insert(h.number, actual);
        expected_hash = h.parent_hash;
        expected_number = expected_number.saturating_sub(1);
    }
    if hashes.is_empty() {
        return Err(WitnessError::NoParentHeader);
    }
    Ok(hashes)
}

/// A hash -> node store of the witness's trie nodes; shared by reads and the post-state root.
pub fn node_store(nodes: &[Bytes]) -> Arc<MemoryDB> {
    let db = MemoryDB::new(false);
    for n in nodes {
        db.insert(keccak256(n).as_slice(), n.to_vec())
            .expect("MemoryDB insert is infallible");
    }
    Arc::new(db)
}

fn missing_node(e: &TrieError) -> Option<B256> {
    match e {
        TrieError::MissingTrieNode { node_hash, .. } => Some(*node_hash),
        _ => None,
    }
}

/// A contract code by hash from the codes a pre-state carries.
fn code_by_hash(
    codes: &HashMap<B256, Bytecode>,
    code_hash: B256,
) -> Result<Bytecode, WitnessError> {
    if code_hash == KECCAK256_EMPTY {
        return Ok(Bytecode::default());
    }
    codes
        .get(&code_hash)
        .cloned()
        .ok_or(WitnessError::MissingCode { code_hash })
}

/// BLOCKHASH from the ancestor headers: a hash the witness does not carry is an error, never zero.
fn block_hash(hashes: &HashMap<u64, B256>, number: u64) -> Result<B256, WitnessError> {
    hashes
        .get(&number)
        .copied()
        .ok_or(WitnessError::MissingBlockHash { number })
}

/// Reads accounts and slots from an MPT witness, proving each against the parent's state root.
#[derive(Debug)]
pub struct WitnessDb {
    nodes: Arc<MemoryDB>,
    state_root: B256,
    codes: HashMap<B256, Bytecode>,
    block_hashes: HashMap<u64, B256>,
    storage_roots: Mutex<HashMap<Address, B256>>,
}

impl WitnessDb {
    pub fn new(
        nodes: Arc<MemoryDB>,
        state_root: B256,
        codes: &[Bytes],
        block_hashes: HashMap<u64, B256>,
    ) -> Self {
        let codes = codes
            .iter()
            .map(|c| (keccak256(c), Bytecode::new_raw(c.clone())))
            .collect();
        Self {
            nodes,
            state_root,
            codes,
            block_hashes,
            storage_roots: Mutex::new(HashMap::new()),
        }
    }

    pub fn nodes(&self) -> &Arc<MemoryDB> {
        &self.nodes
    }

    /// The account leaf of `address` under the state root, proven by the witness.
    pub fn account(&self, address: Address) -> Result<Option<TrieAccount>, WitnessError> {
        let trie = EthTrie::from(self.nodes.clone(), self.state_root)
            .map_err(|e| self.account_err(address, &e))?;
        let Some(leaf) = trie
            .get(keccak256(address).as_slice())
            .map_err(|e| self.account_err(address, &e))?
        else {
            return Ok(None);
        };
        let acc =
            TrieAccount::decode(&mut leaf.as_slice()).map_err(|e| WitnessError::MalformedNode {
                what: format!("account {address}"),
                reason: e.to_string(),
            })?;
        Ok(Some(acc))
    }

    fn account_err(&self, address: Address, e: &TrieError) -> WitnessError {
        match missing_node(e) {
            Some(node) => WitnessError::MissingAccountNode {
                address,
                node,
                root: self.state_root,
            },
            None => WitnessError::Trie(format!("account {address}: {e}")),
        }
    }

    fn storage_root(&self, address: Address) -> Result<B256, WitnessError> {
        if let Some(r) = self.storage_roots.lock().expect("lock").get(&address) {
            return Ok(*r);
        }
        let root = self
            .account(address)?
            .map(|a| a.storage_root)
            .unwrap_or(alloy_trie::EMPTY_ROOT_HASH);
        self.storage_roots
            .lock()
            .expect("lock")
            .insert(address, root);
        Ok(root)
    }
}

impl DatabaseRef for WitnessDb {
    type Error = WitnessError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(acc) = self.account(address)? else {
            return Ok(None);
        };
        self.storage_roots
            .lock()
            .expect("lock")
            .insert(address, acc.storage_root);
        // Leave `code` empty so revm asks `code_by_hash`; an `AccountInfo` with code `Some(empty)`
        // would run a contract as an EOA.
        let mut info = AccountInfo::default().with_code_hash(acc.code_hash);
        info.balance = acc.balance;
        info.nonce = acc.nonce;
        if acc.code_hash == KECCAK256_EMPTY {
            info.code = Some(Bytecode::default());
        }
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        code_by_hash(&self.codes, code_hash)
    }

    fn storage_ref(&self, address: Address, slot: U256) -> Result<U256, Self::Error> {
        let storage_root = self.storage_root(address)?;
        if storage_root == alloy_trie::EMPTY_ROOT_HASH {
            return Ok(U256::ZERO);
        }
        let err = |e: TrieError| match missing_node(&e) {
            Some(node) => WitnessError::MissingStorageNode {
                address,
                slot,
                node,
                storage_root,
            },
            None => WitnessError::Trie(format!("storage {address}[{slot}]: {e}")),
        };
        let trie = EthTrie::from(self.nodes.clone(), storage_root).map_err(err)?;
        let key = keccak256(B256::from(slot));
        match trie.get(key.as_slice()).map_err(err)? {
            None => Ok(U256::ZERO),
            Some(v) => U256::decode(&mut v.as_slice()).map_err(|e| WitnessError::MalformedNode {
                what: format!("storage {address}[{slot}]"),
                reason: e.to_string(),
            }),
        }
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        block_hash(&self.block_hashes, number)
    }
}

/// An unproven flat pre-state: an account it does not list does not exist.
#[derive(Debug)]
pub struct FlatDb {
    accounts: BTreeMap<Address, FlatAccount>,
    /// Account infos with code hashes computed once (revm asks for an account once per
    /// transaction that touches it).
    infos: HashMap<Address, AccountInfo>,
    codes: HashMap<B256, Bytecode>,
    block_hashes: HashMap<u64, B256>,
    /// Reads of accounts the flat pre-state does not list (answered as absent).
    unlisted: Mutex<std::collections::BTreeSet<Address>>,
    /// Reads of slots of listed accounts that the flat pre-state does not list (answered as zero).
    unlisted_slots: Mutex<std::collections::BTreeSet<(Address, U256)>>,
}

impl FlatDb {
    pub fn new(accounts: BTreeMap<Address, FlatAccount>, block_hashes: HashMap<u64, B256>) -> Self {
        let mut codes = HashMap::new();
        let mut infos = HashMap::new();
        for (address, a) in &accounts {
            let code_hash = if a.code.is_empty() {
                KECCAK256_EMPTY
            } else {
                keccak256(&a.code)
            };
            let code = codes
                .entry(code_hash)
                .or_insert_with(|| Bytecode::new_raw(a.code.clone()))
                .clone();
            infos.insert(
                *address,
                AccountInfo::new(a.balance, a.nonce, code_hash, code),
            );
        }
        Self {
            accounts,
            infos,
            codes,
            block_hashes,
            unlisted: Mutex::default(),
            unlisted_slots: Mutex::default(),
        }
    }

    /// Accounts read that the pre-state does not list, and slots read that it does not list.
    pub fn unlisted_reads(&self) -> (Vec<Address>, Vec<(Address, U256)>) {
        (
            self.unlisted
                .lock()
                .expect("lock")
                .iter()
                .copied()
                .collect(),
            self.unlisted_slots
                .lock()
                .expect("lock")
                .iter()
                .copied()
                .collect(),
        )
    }
}

impl DatabaseRef for FlatDb {
    type Error = WitnessError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        if !self.accounts.contains_key(&address) {
            self.unlisted.lock().expect("lock").insert(address);
        }
        Ok(self.infos.get(&address).cloned())
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        code_by_hash(&self.codes, code_hash)
    }

    fn storage_ref(&self, address: Address, slot: U256) -> Result<U256, Self::Error> {
        let acc = self.accounts.get(&address);
        match acc.and_then(|a| a.storage.get(&slot)) {
            Some(v) => Ok(*v),
            None => {
                if acc.is_some() {
                    self.unlisted_slots
                        .lock()
                        .expect("lock")
                        .insert((address, slot));
                }
                Ok(U256::ZERO)
            }
        }
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        block_hash(&self.block_hashes, number)
    }
}

/// The pre-state database of a block, whichever form the fixture gave.
#[derive(Debug)]
pub enum PreStateDb {
    Witness(WitnessDb),
    Flat(FlatDb),
}

impl PreStateDb {
    pub fn new(pre: &PreState, parent_state_root: B256, block_hashes: HashMap<u64, B256>) -> Self {
        match pre {
            PreState::Witness { nodes, codes } => PreStateDb::Witness(WitnessDb::new(
                node_store(nodes),
                parent_state_root,
                codes,
                block_hashes,
            )),
            PreState::Flat(accounts) => {
                PreStateDb::Flat(FlatDb::new(accounts.clone(), block_hashes))
            }
        }
    }
}

impl DatabaseRef for PreStateDb {
    type Error = WitnessError;
    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        match self {
            PreStateDb::Witness(db) => db.basic_ref(address),
            PreStateDb::Flat(db) => db.basic_ref(address),
        }
    }
    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        match self {
            PreStateDb::Witness(db) => db.code_by_hash_ref(code_hash),
            PreStateDb::Flat(db) => db.code_by_hash_ref(code_hash),
        }
    }
    fn storage_ref(&self, address: Address, slot: U256) -> Result<U256, Self::Error> {
        match self {
            PreStateDb::Witness(db) => db.storage_ref(address, slot),
            PreStateDb::Flat(db) => db.storage_ref(address, slot),
        }
    }
    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        match self {
            PreStateDb::Witness(db) => db.block_hash_ref(number),
            PreStateDb::Flat(db) => db.block_hash_ref(number),
        }
    }
}
