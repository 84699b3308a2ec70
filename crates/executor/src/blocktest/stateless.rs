//! EEST's zkEVM stateless input (`statelessInputBytes`): an SSZ `StatelessInput` of
//! execution-specs, `{new_payload_request, witness{state, codes, headers}, chain_id,
//! public_keys}`, optionally behind a 2-byte schema id (fork index << 8 | revision). Read here
//! for the Prague/Osaka payload (Deneb `ExecutionPayload`, Electra `ExecutionRequests`) into
//! the executor's witness path: the header is rebuilt from the payload and must hash to its
//! `block_hash`, every read is proven against the parent's state root from the witness
//! headers, and the post-state root is recomputed from the witness nodes.
//!
//! The public keys the input carries are not used: signers are recovered from the signatures.

use super::ssz::{Field, SszError, container, fixed_list, u64_le, var_list};
use crate::fixture::{BlockInput, ChainSpec, FixtureFormat, PreState};
use alloy_consensus::proofs::{calculate_transaction_root, calculate_withdrawals_root};
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header, Transaction, TxEnvelope};
use alloy_eips::Decodable2718;
use alloy_eips::eip4895::Withdrawal;
use alloy_eips::eip7685::Requests;
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, U256};
use alloy_rlp::Decodable;
use thiserror::Error;

/// Schema fork indices of execution-specs' `ProtocolFork` this reader takes.
const SCHEMA_FORK_PRAGUE: u8 = 0x11;
const SCHEMA_FORK_OSAKA: u8 = 0x12;
/// EIP-7685 request types, in the order of Electra's `ExecutionRequests`.
const REQUEST_TYPES: [(u8, usize, &str); 3] = [
    (0x00, 192, "deposits"),
    (0x01, 76, "withdrawals"),
    (0x02, 116, "consolidations"),
];

#[derive(Debug, Error)]
pub enum StatelessInputError {
    #[error(transparent)]
    Ssz(#[from] SszError),
    #[error("schema id {0:#06x} is not a Prague or Osaka stateless input")]
    UnsupportedSchema(u16),
    #[error("transaction {index} does not decode: {reason}")]
    Transaction { index: usize, reason: String },
    #[error("witness header {index} does not decode: {reason}")]
    WitnessHeader { index: usize, reason: String },
    #[error("payload base fee {0} does not fit 64 bits")]
    BaseFee(U256),
    #[error("versioned hashes {given} do not match the payload's blob transactions' {expected}")]
    VersionedHashes { given: usize, expected: usize },
    #[error(
        "header rebuilt from the payload hashes to {computed}, payload states block_hash {stated}"
    )]
    BlockHash { stated: B256, computed: B256 },
}

/// A decoded stateless input.
#[derive(Debug, Clone)]
pub struct StatelessInput {
    /// The 2-byte schema id, where the bytes carry one.
    pub schema_id: Option<u16>,
    /// The block header rebuilt from the payload (checked against `block_hash`).
    pub header: Header,
    pub transactions: Vec<TxEnvelope>,
    pub withdrawals: Vec<Withdrawal>,
    /// Trie nodes, codes and RLP ancestor headers (oldest first).
    pub state: Vec<Bytes>,
    pub codes: Vec<Bytes>,
    pub ancestors: Vec<Header>,
    pub chain_id: u64,
    pub public_keys: usize,
}

fn b256(b: &[u8]) -> B256 {
    B256::from_slice(b)
}

/// Decodes `bytes`, with or without the schema id.
pub fn decode(bytes: &[u8]) -> Result<StatelessInput, StatelessInputError> {
    // A bare container starts with the offset of its first variable field, 20 (LE); a schema id
    // starts with a fork index byte.
    let (schema_id, body) = match bytes {
        [fork, rev, rest @ ..] if *fork != 20 => {
            let id = u16::from_be_bytes([*fork, *rev]);
            if *fork != SCHEMA_FORK_PRAGUE && *fork != SCHEMA_FORK_OSAKA {
                return Err(StatelessInputError::UnsupportedSchema(id));
            }
            (Some(id), rest)
        }
        _ => (None, bytes),
    };
    use Field::{Fixed, Var};
    let top = container(body, &[Var, Var, Fixed(8), Var], "StatelessInput")?;
    let chain_id = u64_le(top[2]);
    let public_keys = fixed_list(top[3], 65, "public_keys")?.len();

    let npr = container(top[0], &[Var, Var, Fixed(32), Var], "NewPayloadRequest")?;
    let versioned_hashes: Vec<B256> = fixed_list(npr[1], 32, "versioned_hashes")?
        .into_iter()
        .map(b256)
        .collect();
    let parent_beacon_block_root = b256(npr[2]);
    let req = container(npr[3], &[Var, Var, Var], "ExecutionRequests")?;
    let mut requests = Requests::default();
    for ((ty, size, name), data) in REQUEST_TYPES.iter().zip(&req) {
        fixed_list(data, *size, name)?;
        if !data.is_empty() {
            let mut r = vec![*ty];
            r.extend_from_slice(data);
            requests.push_request(r.into());
        }
    }

    let p = container(
        npr[0],
        &[
            Fixed(32),  // parent_hash
            Fixed(20),  // fee_recipient
            Fixed(32),  // state_root
            Fixed(32),  // receipts_root
            Fixed(256), // logs_bloom
            Fixed(32),  // prev_randao
            Fixed(8),   // block_number
            Fixed(8),   // gas_limit
            Fixed(8),   // gas_used
            Fixed(8),   // timestamp
            Var,        // extra_data
            Fixed(32),  // base_fee_per_gas (uint256)
            Fixed(32),  // block_hash
            Var,        // transactions
            Var,        // withdrawals
            Fixed(8),   // blob_gas_used
            Fixed(8),   // excess_blob_gas
        ],
        "ExecutionPayload",
    )?;
    let transactions = var_list(p[13], "transactions")?
        .into_iter()
        .enumerate()
        .map(|(index, mut raw)| {
            TxEnvelope::decode_2718(&mut raw).map_err(|e| StatelessInputError::Transaction {
                index,
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let withdrawals: Vec<Withdrawal> = fixed_list(p[14], 44, "withdrawals")?
        .into_iter()
        .map(|w| Withdrawal {
            index: u64_le(&w[0..8]),
            validator_index: u64_le(&w[8..16]),
            address: Address::from_slice(&w[16..36]),
            amount: u64_le(&w[36..44]),
        })
        .collect();
    let blob_hashes: Vec<B256> = transactions
        .iter()
        .flat_map(|t| t.blob_versioned_hashes().unwrap_or_default().to_vec())
        .collect();
    if blob_hashes != versioned_hashes {
        return Err(StatelessInputError::VersionedHashes {
            given: versioned_hashes.len(),
            expected: blob_hashes.len(),
        });
    }
    let base_fee = U256::from_le_slice(p[11]);
    let header = Header {
        parent_hash: b256(p[0]),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: Address::from_slice(p[1]),
        state_root: b256(p[2]),
        transactions_root: calculate_transaction_root(&transactions),
        receipts_root: b256(p[3]),
        logs_bloom: Bloom::from_slice(p[4]),
        difficulty: U256::ZERO,
        number: u64_le(p[6]),
        gas_limit: u64_le(p[7]),
        gas_used: u64_le(p[8]),
        timestamp: u64_le(p[9]),
        extra_data: Bytes::copy_from_slice(p[10]),
        mix_hash: b256(p[5]),
        nonce: B64::ZERO,
        base_fee_per_gas: Some(
            u64::try_from(base_fee).map_err(|_| StatelessInputError::BaseFee(base_fee))?,
        ),
        withdrawals_root: Some(calculate_withdrawals_root(&withdrawals)),
        blob_gas_used: Some(u64_le(p[15])),
        excess_blob_gas: Some(u64_le(p[16])),
        parent_beacon_block_root: Some(parent_beacon_block_root),
        requests_hash: Some(requests.requests_hash()),
        ..Header::default()
    };
    let stated = b256(p[12]);
    let computed = header.hash_slow();
    if stated != computed {
        return Err(StatelessInputError::BlockHash { stated, computed });
    }

    let w = container(top[1], &[Var, Var, Var], "ExecutionWitness")?;
    let bytes_list = |b: &[u8], what: &str| -> Result<Vec<Bytes>, SszError> {
        Ok(var_list(b, what)?
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect())
    };
    let ancestors = var_list(w[2], "witness.headers")?
        .into_iter()
        .enumerate()
        .map(|(index, mut raw)| {
            Header::decode(&mut raw).map_err(|e| StatelessInputError::WitnessHeader {
                index,
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    Ok(StatelessInput {
        schema_id,
        header,
        transactions,
        withdrawals,
        state: bytes_list(w[0], "witness.state")?,
        codes: bytes_list(w[1], "witness.codes")?,
        ancestors,
        chain_id,
        public_keys,
    })
}

impl StatelessInput {
    /// The block and its witness for the executor, on `chain` (its fork schedule; the chain id
    /// the input names must be the chain's).
    pub fn into_block_input(self, chain: ChainSpec) -> BlockInput {
        BlockInput {
            format: FixtureFormat::EestStatelessInput,
            stated_hash: Some(self.header.hash_slow()),
            header: self.header,
            transactions: self.transactions,
            withdrawals: self.withdrawals,
            chain,
            ancestors: self.ancestors,
            pre_state: PreState::Witness {
                nodes: self.state,
                codes: self.codes,
            },
            expected_diffs: None,
        }
    }
}
