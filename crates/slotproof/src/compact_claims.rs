//! The subblock claims as block proof v3 stores them. The claims are most of a large block's
//! proof file (their state boundaries grow with the block; the root proof does not), so the
//! file writes them without what the verifier can restore:
//!
//! - **reads an earlier subblock's write implies**: the continuity check requires a read of a
//!   key some earlier subblock wrote (or whose account's storage it wiped) to have the latest
//!   such value, so the file marks the read and the verifier restores that value;
//! - **repeated addresses and code hashes**: each is written once, in a table, and named by its
//!   position;
//! - **leading zero bytes** of 32-byte words (balances, slot keys and values).
//!
//! Decoding restores exactly the claims that were encoded, so every check downstream (the
//! continuity check, the digest of subblock bindings the root proof carries) runs on the same
//! values as before: a file whose restored claims differ from what the shards were bound to
//! fails the root's check. A malformed encoding is a typed [`ClaimsDecodeError`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::proof::{AccountEntry, AccountState, BoundaryValues, SlotEntry, SubblockPublicValues};
use crate::verify::{Addr, Word, WrittenState, hex};

/// Why stored claims cannot be restored.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClaimsDecodeError {
    #[error("subblock {subblock}: address number {index} is not in the table of {len}")]
    AddressIndex {
        subblock: u32,
        index: u32,
        len: usize,
    },
    #[error("subblock {subblock}: code hash number {index} is not in the table of {len}")]
    CodeHashIndex {
        subblock: u32,
        index: u32,
        len: usize,
    },
    #[error("subblock {subblock}: a word of {len} bytes, or with a leading zero byte")]
    Word { subblock: u32, len: usize },
    #[error("subblock {subblock}: {key} is read as implied, but no earlier subblock wrote it")]
    ImpliedReadWithoutWrite { subblock: u32, key: String },
}

/// A 32-byte big-endian word without its leading zero bytes (zero is empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct TrimmedWord(Vec<u8>);

impl TrimmedWord {
    fn new(word: &Word) -> Self {
        let first = word.iter().position(|&b| b != 0).unwrap_or(32);
        Self(word[first..].to_vec())
    }

    /// The word; only the one trimmed form of each word is accepted.
    fn restore(&self, subblock: u32) -> Result<Word, ClaimsDecodeError> {
        let bytes = &self.0;
        if bytes.len() > 32 || bytes.first() == Some(&0) {
            return Err(ClaimsDecodeError::Word {
                subblock,
                len: bytes.len(),
            });
        }
        let mut word = [0u8; 32];
        word[32 - bytes.len()..].copy_from_slice(bytes);
        Ok(word)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredAccountState {
    balance: TrimmedWord,
    nonce: u64,
    /// Position in [`CompactClaims::code_hashes`].
    code_hash: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredAccount {
    /// Position in [`CompactClaims::addresses`].
    address: u32,
    state: Option<StoredAccountState>,
}

/// An account read: `None` when an earlier subblock's write implies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredAccountRead {
    address: u32,
    state: Option<Option<StoredAccountState>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredSlot {
    address: u32,
    slot: TrimmedWord,
    value: TrimmedWord,
}

/// A slot read: `value: None` when an earlier subblock's write (or wipe) implies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredSlotRead {
    address: u32,
    slot: TrimmedWord,
    value: Option<TrimmedWord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredSubblock {
    index: u32,
    first_tx: u64,
    tx_count: u64,
    gas_start: u64,
    gas_end: u64,
    steps: u64,
    account_reads: Vec<StoredAccountRead>,
    storage_reads: Vec<StoredSlotRead>,
    account_writes: Vec<StoredAccount>,
    storage_writes: Vec<StoredSlot>,
    storage_cleared: Vec<u32>,
}

/// Every subblock's claims, stored compactly (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactClaims {
    /// Every address the boundaries name, once, sorted.
    addresses: Vec<Addr>,
    /// Every code hash the boundaries name, once, sorted.
    code_hashes: Vec<Word>,
    subblocks: Vec<StoredSubblock>,
}

/// Positions of the distinct values of a table.
struct Table<K> {
    values: Vec<K>,
    position: BTreeMap<K, u32>,
}

impl<K: Ord + Copy> Table<K> {
    fn new(keys: impl Iterator<Item = K>) -> Self {
        let mut values: Vec<K> = keys.collect();
        values.sort();
        values.dedup();
        let position = values
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, i as u32))
            .collect();
        Self { values, position }
    }

    fn at(&self, key: &K) -> u32 {
        // Every key was collected into the table before it is looked up.
        self.position[key]
    }
}

fn addresses_of(b: &BoundaryValues) -> impl Iterator<Item = Addr> + '_ {
    let accounts = b.account_reads.iter().chain(&b.account_writes);
    let slots = b.storage_reads.iter().chain(&b.storage_writes);
    accounts
        .map(|e| e.address)
        .chain(slots.map(|e| e.address))
        .chain(b.storage_cleared.iter().copied())
}

fn code_hashes_of(b: &BoundaryValues) -> impl Iterator<Item = Word> + '_ {
    b.account_reads
        .iter()
        .chain(&b.account_writes)
        .filter_map(|e| e.state.map(|s| s.code_hash))
}

/// The value an implied read takes: the latest earlier write found, or an error naming `key`.
fn implied<T>(
    found: Option<(T, u32)>,
    subblock: u32,
    key: impl FnOnce() -> String,
) -> Result<T, ClaimsDecodeError> {
    found
        .map(|(value, _)| value)
        .ok_or_else(|| ClaimsDecodeError::ImpliedReadWithoutWrite {
            subblock,
            key: key(),
        })
}

impl CompactClaims {
    /// The number of subblocks.
    pub fn len(&self) -> usize {
        self.subblocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subblocks.is_empty()
    }

    /// The stored form of `subblocks` (any claims, valid or not: a read that disagrees with an
    /// earlier write is kept whole, for the continuity check to refuse).
    pub fn encode(subblocks: &[SubblockPublicValues]) -> Self {
        let boundaries = subblocks.iter().map(|s| &s.boundary);
        let addresses = Table::new(boundaries.clone().flat_map(addresses_of));
        let code_hashes = Table::new(boundaries.flat_map(code_hashes_of));
        let state = |s: &AccountState| StoredAccountState {
            balance: TrimmedWord::new(&s.balance),
            nonce: s.nonce,
            code_hash: code_hashes.at(&s.code_hash),
        };
        let account = |e: &AccountEntry| StoredAccount {
            address: addresses.at(&e.address),
            state: e.state.as_ref().map(state),
        };
        let slot = |e: &SlotEntry| StoredSlot {
            address: addresses.at(&e.address),
            slot: TrimmedWord::new(&e.slot),
            value: TrimmedWord::new(&e.value),
        };
        let mut written = WrittenState::default();
        let stored = subblocks
            .iter()
            .map(|s| {
                let b = &s.boundary;
                let account_reads = b
                    .account_reads
                    .iter()
                    .map(|r| {
                        let implied = written.account(&r.address).map(|(v, _)| v) == Some(r.state);
                        StoredAccountRead {
                            address: addresses.at(&r.address),
                            state: (!implied).then(|| r.state.as_ref().map(state)),
                        }
                    })
                    .collect();
                let storage_reads = b
                    .storage_reads
                    .iter()
                    .map(|r| {
                        let implied =
                            written.slot(&r.address, &r.slot).map(|(v, _)| v) == Some(r.value);
                        StoredSlotRead {
                            address: addresses.at(&r.address),
                            slot: TrimmedWord::new(&r.slot),
                            value: (!implied).then(|| TrimmedWord::new(&r.value)),
                        }
                    })
                    .collect();
                written.apply_writes(s.index, b);
                StoredSubblock {
                    index: s.index,
                    first_tx: s.first_tx,
                    tx_count: s.tx_count,
                    gas_start: s.gas_start,
                    gas_end: s.gas_end,
                    steps: s.steps,
                    account_reads,
                    storage_reads,
                    account_writes: b.account_writes.iter().map(account).collect(),
                    storage_writes: b.storage_writes.iter().map(slot).collect(),
                    storage_cleared: b.storage_cleared.iter().map(|a| addresses.at(a)).collect(),
                }
            })
            .collect();
        Self {
            addresses: addresses.values,
            code_hashes: code_hashes.values,
            subblocks: stored,
        }
    }

    /// The claims as encoded: implied reads take the latest earlier write, in subblock order.
    pub fn decode(&self) -> Result<Vec<SubblockPublicValues>, ClaimsDecodeError> {
        let mut written = WrittenState::default();
        let mut out = Vec::with_capacity(self.subblocks.len());
        for s in &self.subblocks {
            let sub = s.index;
            let address = |index: u32| {
                self.addresses
                    .get(index as usize)
                    .copied()
                    .ok_or(ClaimsDecodeError::AddressIndex {
                        subblock: sub,
                        index,
                        len: self.addresses.len(),
                    })
            };
            let state = |st: &StoredAccountState| {
                Ok::<_, ClaimsDecodeError>(AccountState {
                    balance: st.balance.restore(sub)?,
                    nonce: st.nonce,
                    code_hash: self.code_hashes.get(st.code_hash as usize).copied().ok_or(
                        ClaimsDecodeError::CodeHashIndex {
                            subblock: sub,
                            index: st.code_hash,
                            len: self.code_hashes.len(),
                        },
                    )?,
                })
            };
            let account = |a: &StoredAccount| {
                Ok::<_, ClaimsDecodeError>(AccountEntry {
                    address: address(a.address)?,
                    state: a.state.as_ref().map(state).transpose()?,
                })
            };
            let account_reads = s
                .account_reads
                .iter()
                .map(|r| {
                    let addr = address(r.address)?;
                    let state = match &r.state {
                        Some(st) => st.as_ref().map(state).transpose()?,
                        None => implied(written.account(&addr), sub, || {
                            format!("account {}", hex(&addr))
                        })?,
                    };
                    Ok(AccountEntry {
                        address: addr,
                        state,
                    })
                })
                .collect::<Result<Vec<_>, ClaimsDecodeError>>()?;
            let storage_reads = s
                .storage_reads
                .iter()
                .map(|r| {
                    let addr = address(r.address)?;
                    let slot = r.slot.restore(sub)?;
                    let value = match &r.value {
                        Some(v) => v.restore(sub)?,
                        None => implied(written.slot(&addr, &slot), sub, || {
                            format!("slot {} of {}", hex(&slot), hex(&addr))
                        })?,
                    };
                    Ok(SlotEntry {
                        address: addr,
                        slot,
                        value,
                    })
                })
                .collect::<Result<Vec<_>, ClaimsDecodeError>>()?;
            let storage_writes = s
                .storage_writes
                .iter()
                .map(|w| {
                    Ok(SlotEntry {
                        address: address(w.address)?,
                        slot: w.slot.restore(sub)?,
                        value: w.value.restore(sub)?,
                    })
                })
                .collect::<Result<Vec<_>, ClaimsDecodeError>>()?;
            let boundary = BoundaryValues {
                account_reads,
                storage_reads,
                account_writes: s
                    .account_writes
                    .iter()
                    .map(account)
                    .collect::<Result<_, _>>()?,
                storage_writes,
                storage_cleared: s
                    .storage_cleared
                    .iter()
                    .map(|&i| address(i))
                    .collect::<Result<_, _>>()?,
            };
            written.apply_writes(sub, &boundary);
            out.push(SubblockPublicValues {
                index: s.index,
                first_tx: s.first_tx,
                tx_count: s.tx_count,
                gas_start: s.gas_start,
                gas_end: s.gas_end,
                steps: s.steps,
                boundary,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};

    /// The claims of the repository's `mixed` block: two subblocks over the same contracts, so
    /// the second one's reads of what the first wrote are implied.
    fn mixed_claims() -> Vec<SubblockPublicValues> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/mixed.json");
        let input = BlockInput::from_path(path).unwrap();
        let execution = execute_block(&input, &ExecuteOptions::default()).unwrap();
        SubblockPublicValues::of_execution(&execution)
    }

    fn implied_reads(c: &CompactClaims) -> usize {
        c.subblocks
            .iter()
            .map(|s| {
                s.account_reads.iter().filter(|r| r.state.is_none()).count()
                    + s.storage_reads.iter().filter(|r| r.value.is_none()).count()
            })
            .sum()
    }

    #[test]
    fn claims_round_trip_and_shrink() {
        let claims = mixed_claims();
        assert!(claims.len() >= 2, "{} subblocks", claims.len());
        let compact = CompactClaims::encode(&claims);
        assert_eq!(compact.decode().unwrap(), claims);
        let bytes = postcard::to_allocvec(&compact).unwrap();
        let stored: CompactClaims = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(stored.decode().unwrap(), claims);
        assert!(implied_reads(&compact) > 0);
        let plain = postcard::to_allocvec(&claims).unwrap().len();
        assert!(
            bytes.len() * 2 < plain,
            "{} bytes stored for {plain} bytes of claims",
            bytes.len()
        );
    }

    /// A read that disagrees with an earlier write is kept as it is, for the continuity check
    /// to refuse; a later subblock's read of the write is still implied.
    #[test]
    fn discontinuous_claims_are_kept_whole() {
        let mut claims = mixed_claims();
        let last = claims.len() - 1;
        let before = claims_written_before(&claims, last);
        let read = claims[last]
            .boundary
            .storage_reads
            .iter_mut()
            .find(|r| before.slot(&r.address, &r.slot).is_some())
            .expect("the last subblock reads a slot an earlier one wrote");
        read.value[31] ^= 1;
        let compact = CompactClaims::encode(&claims);
        assert_eq!(compact.decode().unwrap(), claims);
    }

    fn claims_written_before(claims: &[SubblockPublicValues], sub: usize) -> WrittenState {
        let mut written = WrittenState::default();
        for s in &claims[..sub] {
            written.apply_writes(s.index, &s.boundary);
        }
        written
    }

    #[test]
    fn malformed_stored_claims_are_typed_errors() {
        let compact = CompactClaims::encode(&mixed_claims());
        let sub = compact.subblocks[0].index;

        let mut c = compact.clone();
        c.subblocks[0].account_writes[0].address = c.addresses.len() as u32;
        assert!(matches!(
            c.decode(),
            Err(ClaimsDecodeError::AddressIndex { .. })
        ));

        let mut c = compact.clone();
        let w = c.subblocks[0]
            .account_writes
            .iter_mut()
            .find_map(|w| w.state.as_mut())
            .expect("an account written as present");
        w.code_hash = u32::MAX;
        assert!(matches!(
            c.decode(),
            Err(ClaimsDecodeError::CodeHashIndex { .. })
        ));

        let mut c = compact.clone();
        c.subblocks[0].storage_writes[0].value.0.insert(0, 0);
        assert_eq!(
            c.decode(),
            Err(ClaimsDecodeError::Word {
                subblock: sub,
                len: compact.subblocks[0].storage_writes[0].value.0.len() + 1
            })
        );

        // The first subblock has no earlier writes: none of its reads can be implied.
        let mut c = compact.clone();
        c.subblocks[0].storage_reads[0].value = None;
        assert!(matches!(
            c.decode(),
            Err(ClaimsDecodeError::ImpliedReadWithoutWrite { subblock, .. }) if subblock == sub
        ));
    }
}
