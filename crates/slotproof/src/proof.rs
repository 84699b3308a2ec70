//! The block proof container and its stable, versioned byte format.

use alloy_primitives::keccak256;
use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use slotproof_air::shard::{BOUNDARY, BlockClaim, CARRY, SubblockClaim};
use slotproof_executor::BlockExecution;
use slotproof_executor::boundary::{AccountValue, StateBoundary};

/// Version of the [`BlockProof`] byte format; a verifier rejects any other.
/// 2: per-subblock public values ([`SubblockPublicValues`]) and the block's transaction count.
pub const BLOCK_PROOF_VERSION: u32 = 2;

/// What a block proof claims about the block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockPublicValues {
    pub number: u64,
    pub block_hash: [u8; 32],
    pub parent_state_root: [u8; 32],
    pub state_root: [u8; 32],
    pub gas_used: u64,
    /// Number of transactions in the block.
    pub transactions: u64,
    /// What the block-context opcodes read, in a form the verifier checks
    /// ([`crate::context`]).
    pub context: ContextClaim,
}

/// The block-context claim: what COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID,
/// BASEFEE, BLOBBASEFEE and BLOCKHASH read. Only what the verifier cannot derive is here, and
/// it derives the rest ([`crate::context::block_context`]): the header fields from the header,
/// whose keccak256 must be the block hash; the BLOCKHASH results from the ancestor headers,
/// chained by parent hash from the header (so a file carries only the ancestors back to the
/// oldest block the block reads, none if it reads none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextClaim {
    /// The block header's RLP.
    pub header: Vec<u8>,
    /// Chain configuration the header does not hold: CHAINID's value and the blob base-fee
    /// update fraction of the block's fork (BLOBBASEFEE). The verifier returns them with the
    /// claim; the caller compares them with its chain's.
    pub chain_id: u64,
    pub blob_update_fraction: u64,
    /// The arguments of the block's BLOCKHASH reads, increasing.
    pub block_hash_reads: Vec<u64>,
    /// The RLP of the ancestors the reads need, parent first.
    pub ancestors: Vec<Vec<u8>>,
}

/// An account's fields as the state trie holds them (storage root aside); big-endian words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub balance: [u8; 32],
    pub nonce: u64,
    pub code_hash: [u8; 32],
}

/// An account and its state; `state: None`: the account does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    pub address: [u8; 20],
    pub state: Option<AccountState>,
}

/// A storage slot and its value (big-endian words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotEntry {
    pub address: [u8; 20],
    pub slot: [u8; 32],
    pub value: [u8; 32],
}

/// A subblock's state boundary in a stable form: what it read (values at its start) and wrote
/// (values at its end), every list sorted by key with no key twice (the verifier checks this).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundaryValues {
    pub account_reads: Vec<AccountEntry>,
    pub storage_reads: Vec<SlotEntry>,
    pub account_writes: Vec<AccountEntry>,
    pub storage_writes: Vec<SlotEntry>,
    /// Accounts whose storage the subblock wiped (created, destroyed, deleted as empty); the
    /// slots in `storage_writes` were written after the wipe.
    pub storage_cleared: Vec<[u8; 20]>,
}

/// Domain tag of [`BoundaryValues::canonical_bytes`].
const BOUNDARY_TAG: &[u8] = b"slotproof/state-boundary/v1";

impl BoundaryValues {
    /// The executor's boundary in stable form (its maps are already sorted by key).
    pub fn from_boundary(b: &StateBoundary) -> Self {
        let account = |(a, v): (&Address, &Option<AccountValue>)| AccountEntry {
            address: a.0.0,
            state: v.map(|v| AccountState {
                balance: v.balance.to_be_bytes(),
                nonce: v.nonce,
                code_hash: v.code_hash.0,
            }),
        };
        let slot = |((a, k), v): (&(Address, U256), &U256)| SlotEntry {
            address: a.0.0,
            slot: k.to_be_bytes(),
            value: v.to_be_bytes(),
        };
        Self {
            account_reads: b.account_reads.iter().map(account).collect(),
            storage_reads: b.storage_reads.iter().map(slot).collect(),
            account_writes: b.account_writes.iter().map(account).collect(),
            storage_writes: b.storage_writes.iter().map(slot).collect(),
            storage_cleared: b.storage_cleared.iter().map(|a| a.0.0).collect(),
        }
    }

    /// A fixed, explicit encoding (not postcard's): a domain tag, then each list as a 4-byte
    /// big-endian length and fixed-width entries (an absent account is a 0 byte, a present one a
    /// 1 byte, balance, 8-byte nonce and code hash).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = BOUNDARY_TAG.to_vec();
        let len = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_be_bytes());
        let accounts = |out: &mut Vec<u8>, list: &[AccountEntry]| {
            len(out, list.len());
            for e in list {
                out.extend_from_slice(&e.address);
                match &e.state {
                    None => out.push(0),
                    Some(s) => {
                        out.push(1);
                        out.extend_from_slice(&s.balance);
                        out.extend_from_slice(&s.nonce.to_be_bytes());
                        out.extend_from_slice(&s.code_hash);
                    }
                }
            }
        };
        let slots = |out: &mut Vec<u8>, list: &[SlotEntry]| {
            len(out, list.len());
            for e in list {
                out.extend_from_slice(&e.address);
                out.extend_from_slice(&e.slot);
                out.extend_from_slice(&e.value);
            }
        };
        accounts(&mut out, &self.account_reads);
        slots(&mut out, &self.storage_reads);
        accounts(&mut out, &self.account_writes);
        slots(&mut out, &self.storage_writes);
        len(&mut out, self.storage_cleared.len());
        for a in &self.storage_cleared {
            out.extend_from_slice(a);
        }
        out
    }

    /// keccak256 of [`BoundaryValues::canonical_bytes`]: what every shard of the subblock is
    /// bound to.
    pub fn digest(&self) -> [u8; 32] {
        keccak256(self.canonical_bytes()).0
    }
}

/// What a block proof claims about one subblock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubblockPublicValues {
    /// Position in the block (0, 1, ...).
    pub index: u32,
    /// Index of its first transaction in the block.
    pub first_tx: u64,
    pub tx_count: u64,
    /// Cumulative block gas before and after the subblock.
    pub gas_start: u64,
    pub gas_end: u64,
    /// EVM steps the subblock executed (0: it has no shards).
    pub steps: u64,
    pub boundary: BoundaryValues,
}

impl BlockPublicValues {
    /// The public values of a checked execution.
    pub fn of_execution(execution: &BlockExecution) -> Self {
        Self {
            number: execution.number,
            block_hash: execution.block_hash.0,
            parent_state_root: execution.parent_state_root.0,
            state_root: execution.state_root.0,
            gas_used: execution.gas_used,
            transactions: execution.transactions as u64,
            context: ContextClaim {
                header: execution.header_rlp.clone(),
                chain_id: execution.chain_id,
                blob_update_fraction: execution.blob_update_fraction,
                block_hash_reads: execution
                    .context
                    .block_hashes
                    .iter()
                    .map(|&(n, _)| n)
                    .collect(),
                ancestors: execution.ancestors_rlp.clone(),
            },
        }
    }

    /// The claim every shard is bound to.
    pub fn claim(&self) -> BlockClaim {
        BlockClaim {
            number: self.number,
            gas_used: self.gas_used,
            transactions: self.transactions,
            block_hash: self.block_hash,
            parent_state_root: self.parent_state_root,
            state_root: self.state_root,
        }
    }
}

impl SubblockPublicValues {
    /// Every subblock's public values: its transactions, cumulative gas, steps and boundary.
    pub fn of_execution(execution: &BlockExecution) -> Vec<Self> {
        let mut gas = 0u64;
        execution
            .subblocks
            .iter()
            .map(|sb| {
                let gas_start = gas;
                gas += sb.gas_used;
                Self {
                    index: sb.index as u32,
                    first_tx: sb.transactions.start as u64,
                    tx_count: sb.transactions.len() as u64,
                    gas_start,
                    gas_end: gas,
                    // An untraced or streamed run's traces are empty: its outlines count.
                    steps: sb
                        .outline
                        .as_ref()
                        .map_or(sb.trace.steps.len(), |o| o.steps)
                        as u64,
                    boundary: BoundaryValues::from_boundary(&sb.boundary),
                }
            })
            .collect()
    }

    /// The claim every shard of this subblock is bound to (the boundary by its digest).
    pub fn claim(&self) -> SubblockClaim {
        SubblockClaim {
            index: u64::from(self.index),
            steps: self.steps,
            gas_start: self.gas_start,
            gas_end: self.gas_end,
            first_tx: self.first_tx,
            tx_count: self.tx_count,
            boundary_digest: self.boundary.digest(),
        }
    }
}

/// One shard's proof: a Plonky3 batch-STARK proof over the EVM chips of a slice of a subblock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardProof {
    /// The subblock the shard belongs to.
    pub subblock: u32,
    /// Public values of every chip (canonical field elements), in `EvmAir::shard_airs` order.
    pub public_values: Vec<Vec<u32>>,
    /// The postcard bytes of the batch proof.
    pub proof: Vec<u8>,
}

/// A block proof: the shard proofs of every subblock, in order, plus the block's and every
/// subblock's public values and the coverage table that says what the shard proofs constrain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockProof {
    pub version: u32,
    /// The field the shards are proven over ("koalabear").
    pub field: String,
    pub block: BlockPublicValues,
    /// Every subblock, in order (subblocks without EVM steps have no shard).
    pub subblocks: Vec<SubblockPublicValues>,
    pub coverage_version: u32,
    /// The coverage table as JSON (`slotproof_air::CoverageTable::to_json`).
    pub coverage: String,
    pub shards: Vec<ShardProof>,
}

/// Whether a shard's boundary chip allows carried-in state (`allow_init = 1`).
fn carries_in(public_values: &[Vec<u32>]) -> bool {
    public_values
        .get(BOUNDARY)
        .and_then(|b| b.first())
        .is_some_and(|&allow_init| allow_init != 0)
}

impl BlockProof {
    /// Shards that take stack items or suspended calls carried in from the previous shard (their
    /// boundary chip's `allow_init` is 1): the cut before them falls inside a transaction longer
    /// than a shard. Zero for a proof whose every cut falls between transactions.
    pub fn shards_with_carried_state(&self) -> usize {
        self.shards
            .iter()
            .filter(|s| carries_in(&s.public_values))
            .count()
    }

    /// Of [`Self::shards_with_carried_state`], those whose carried stack items, suspended calls
    /// and live memory words are trusted: the shard exposes no commitment to them (a carry
    /// table's `[digest_in, digest_out]`) that the verifier could match with the previous
    /// shard's. Every shard of a proof that verifies has one, so this is 0 for such a proof
    /// (memory is committed since coverage v12).
    pub fn shards_with_trusted_carried_state(&self) -> usize {
        self.shards
            .iter()
            .filter(|s| {
                carries_in(&s.public_values)
                    && s.public_values
                        .get(CARRY)
                        .is_none_or(|c| c.len() != slotproof_air::chips::carry::NUM_CARRY_PUBLIC)
            })
            .count()
    }

    /// The proof as bytes (postcard).
    pub fn to_bytes(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
    }

    /// Parses proof bytes; any malformed input is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, postcard::Error> {
        let (proof, rest) = postcard::take_from_bytes::<Self>(bytes)?;
        if !rest.is_empty() {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        Ok(proof)
    }
}
