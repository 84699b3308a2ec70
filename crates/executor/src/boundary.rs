//! The state a subblock reads and writes: its boundary with the rest of the block.
//!
//! [`BoundaryDb`] sits between the EVM journal and the block's cached state. The journal asks it
//! for an account or slot the first time a transaction touches it, and hands it every
//! transaction's (and system call's) changes to commit; so within one subblock the first read of
//! a key is its value at the subblock's start and the last write is its value at the end.
//!
//! A slot read after the subblock itself wrote the slot, or wiped its account's storage (the
//! account was created, destroyed or deleted as empty), is not a read of the subblock's start
//! state and is not recorded; so every recorded read can be checked against what earlier
//! subblocks wrote.

use crate::error::WitnessError;
use alloy_primitives::{Address, B256, U256};
use revm::bytecode::Bytecode;
use revm::database::{DatabaseCommit, State};
use revm::database_interface::{Database, DatabaseRef};
use revm::primitives::AddressMap;
use revm::state::{Account, AccountInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use revm::database_interface::bal::EvmDatabaseError;

/// The error the block state returns: a witness error, or a block-access-list error.
pub type DbError = EvmDatabaseError<WitnessError>;

/// An account's fields as the state trie holds them (storage root aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AccountValue {
    pub balance: U256,
    pub nonce: u64,
    pub code_hash: B256,
}

impl From<&AccountInfo> for AccountValue {
    fn from(i: &AccountInfo) -> Self {
        Self {
            balance: i.balance,
            nonce: i.nonce,
            code_hash: i.code_hash,
        }
    }
}

/// What one subblock read (values at its start) and wrote (values at its end).
/// `None` for an account: it does not exist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateBoundary {
    pub account_reads: BTreeMap<Address, Option<AccountValue>>,
    pub storage_reads: BTreeMap<(Address, U256), U256>,
    pub account_writes: BTreeMap<Address, Option<AccountValue>>,
    pub storage_writes: BTreeMap<(Address, U256), U256>,
    /// Accounts whose whole storage the subblock wiped (created, self-destructed or deleted as
    /// empty); `storage_writes` then lists only the slots written after the last wipe.
    pub storage_cleared: BTreeSet<Address>,
}

/// Records the boundary of the current subblock while forwarding to the block state. The first
/// witness error it sees is kept, so a failed execution can report exactly what was missing.
pub struct BoundaryDb<'a, DB: DatabaseRef<Error = WitnessError>> {
    state: &'a mut State<revm::database_interface::WrapDatabaseRef<DB>>,
    boundary: StateBoundary,
    first_error: Arc<Mutex<Option<WitnessError>>>,
}

impl<DB: DatabaseRef<Error = WitnessError>> std::fmt::Debug for BoundaryDb<'_, DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundaryDb")
            .field("boundary", &self.boundary)
            .finish()
    }
}

impl<'a, DB: DatabaseRef<Error = WitnessError>> BoundaryDb<'a, DB> {
    pub fn new(
        state: &'a mut State<revm::database_interface::WrapDatabaseRef<DB>>,
        first_error: Arc<Mutex<Option<WitnessError>>>,
    ) -> Self {
        Self {
            state,
            boundary: StateBoundary::default(),
            first_error,
        }
    }

    /// Takes the boundary recorded so far (a subblock ends).
    pub fn take_boundary(&mut self) -> StateBoundary {
        std::mem::take(&mut self.boundary)
    }

    fn keep<T>(&self, r: Result<T, DbError>) -> Result<T, DbError> {
        if let Err(EvmDatabaseError::Database(e)) = &r {
            self.first_error
                .lock()
                .expect("lock")
                .get_or_insert_with(|| e.clone());
        }
        r
    }
}

impl<DB: DatabaseRef<Error = WitnessError>> Database for BoundaryDb<'_, DB> {
    type Error = DbError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let r = self.state.basic(address);
        let info = self.keep(r)?;
        self.boundary
            .account_reads
            .entry(address)
            .or_insert_with(|| info.as_ref().map(AccountValue::from));
        Ok(info)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        let r = self.state.code_by_hash(code_hash);
        self.keep(r)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let r = self.state.storage(address, index);
        let v = self.keep(r)?;
        let b = &mut self.boundary;
        if !b.storage_cleared.contains(&address)
            && !b.storage_writes.contains_key(&(address, index))
        {
            b.storage_reads.entry((address, index)).or_insert(v);
        }
        Ok(v)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        let r = self.state.block_hash(number);
        self.keep(r)
    }
}

impl<DB: DatabaseRef<Error = WitnessError>> DatabaseCommit for BoundaryDb<'_, DB> {
    fn commit(&mut self, changes: AddressMap<Account>) {
        for (address, account) in &changes {
            if !account.is_touched() {
                continue;
            }
            let value =
                if account.is_selfdestructed() || (account.is_empty() && account.is_touched()) {
                    None
                } else {
                    Some(AccountValue::from(&account.info))
                };
            self.boundary.account_writes.insert(*address, value);
            if value.is_none() || account.is_created() {
                // The account's storage starts over: earlier writes in this subblock are gone.
                self.boundary.storage_cleared.insert(*address);
                self.boundary
                    .storage_writes
                    .retain(|(a, _), _| a != address);
                if value.is_none() {
                    continue;
                }
            }
            for (slot, s) in &account.storage {
                if s.is_changed() {
                    self.boundary
                        .storage_writes
                        .insert((*address, *slot), s.present_value);
                }
            }
        }
        self.state.commit(changes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::witness::FlatDb;
    use revm::state::{EvmStorageSlot, TransactionId};
    use std::collections::HashMap;

    const A: Address = Address::repeat_byte(0xaa);
    const B: Address = Address::repeat_byte(0xbb);

    fn changes(account: Account) -> AddressMap<Account> {
        let mut m = AddressMap::default();
        m.insert(A, account);
        m
    }

    #[test]
    fn reads_after_own_writes_or_wipes_are_not_start_values() {
        let flat = FlatDb::new(BTreeMap::new(), HashMap::new());
        let mut state = State::builder()
            .with_database_ref(&flat)
            .with_bundle_update()
            .build();
        let mut db = BoundaryDb::new(&mut state, Arc::new(Mutex::new(None)));
        let one = U256::from(1);

        // A contract created at A whose constructor stores 5 in slot 1 (no read of the slot).
        assert_eq!(db.basic(A).unwrap(), None);
        let mut created = Account::new_not_existing(TransactionId::ZERO);
        created.info.nonce = 1;
        created.mark_created();
        created.mark_touch();
        created.storage.insert(
            one,
            EvmStorageSlot::new_changed(U256::ZERO, U256::from(5), TransactionId::ZERO),
        );
        db.commit(changes(created));
        // A later read sees 5 (the subblock's own write), which is not A's value at the start.
        assert_eq!(db.storage(A, one).unwrap(), U256::from(5));
        assert_eq!(db.storage(B, one).unwrap(), U256::ZERO);
        let b = db.take_boundary();
        assert_eq!(b.account_reads.get(&A), Some(&None));
        assert!(b.storage_cleared.contains(&A));
        assert_eq!(b.storage_writes.get(&(A, one)), Some(&U256::from(5)));
        assert!(!b.storage_reads.contains_key(&(A, one)));
        assert_eq!(b.storage_reads.get(&(B, one)), Some(&U256::ZERO));

        // Next subblock: the slot is read at its start value; then A is destroyed, which drops
        // the slot written before and makes it an absent account.
        assert_eq!(db.storage(A, one).unwrap(), U256::from(5));
        let info = db.basic(A).unwrap().unwrap();
        let mut destroyed = Account::from(info);
        destroyed.storage.insert(
            one,
            EvmStorageSlot::new_changed(U256::from(5), U256::from(6), TransactionId::ZERO),
        );
        destroyed.mark_selfdestruct();
        destroyed.mark_touch();
        db.commit(changes(destroyed));
        let b = db.take_boundary();
        assert_eq!(b.storage_reads.get(&(A, one)), Some(&U256::from(5)));
        assert_eq!(b.account_writes.get(&A), Some(&None));
        assert!(b.storage_cleared.contains(&A));
        assert!(b.storage_writes.is_empty());
    }
}
