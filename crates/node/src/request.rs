//! The consensus layer's `NewPayloadRequest` (EIP-8025's `request_proofs` argument): its SSZ
//! containers for the forks the node accepts, decoding of a request body, and its
//! `hash_tree_root` (the `new_payload_request_root` a proof is requested and served under).
//!
//! The request is SSZ-transparent over forks (as zkboost and Lighthouse send it): the body carries
//! no fork tag. The forks' fixed parts differ in length (Electra added `execution_requests`), and
//! an SSZ container's first offset is the length of its fixed part, so at most one fork decodes a
//! body: [`NewPayloadRequest::from_ssz_bytes`] tries each.
//!
//! Sizes are the mainnet preset's.

use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, U256};
use slotproof::executor::BlockInput;
use ssz::{Decode, Encode};
use ssz_derive::{Decode, Encode};
use ssz_types::typenum::{
    U2, U16, U32, U48, U96, U256 as N256, U4096, U8192, U1048576, U1073741824,
};
use ssz_types::{FixedVector, VariableList};
use thiserror::Error;
use tree_hash::TreeHash;
use tree_hash_derive::TreeHash;

pub type Transaction = VariableList<u8, U1073741824>;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct Withdrawal {
    pub index: u64,
    pub validator_index: u64,
    pub address: Address,
    pub amount: u64,
}

/// The execution payload of Deneb, unchanged in Electra and Fulu.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct ExecutionPayload {
    pub parent_hash: B256,
    pub fee_recipient: Address,
    pub state_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: FixedVector<u8, N256>,
    pub prev_randao: B256,
    pub block_number: u64,
    pub gas_limit: u64,
    pub gas_used: u64,
    pub timestamp: u64,
    pub extra_data: VariableList<u8, U32>,
    pub base_fee_per_gas: U256,
    pub block_hash: B256,
    pub transactions: VariableList<Transaction, U1048576>,
    pub withdrawals: VariableList<Withdrawal, U16>,
    pub blob_gas_used: u64,
    pub excess_blob_gas: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct DepositRequest {
    pub pubkey: FixedVector<u8, U48>,
    pub withdrawal_credentials: B256,
    pub amount: u64,
    pub signature: FixedVector<u8, U96>,
    pub index: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct WithdrawalRequest {
    pub source_address: Address,
    pub validator_pubkey: FixedVector<u8, U48>,
    pub amount: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct ConsolidationRequest {
    pub source_address: Address,
    pub source_pubkey: FixedVector<u8, U48>,
    pub target_pubkey: FixedVector<u8, U48>,
}

/// EIP-7685 requests (Electra and later).
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct ExecutionRequests {
    pub deposits: VariableList<DepositRequest, U8192>,
    pub withdrawals: VariableList<WithdrawalRequest, U16>,
    pub consolidations: VariableList<ConsolidationRequest, U2>,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct NewPayloadRequestDeneb {
    pub execution_payload: ExecutionPayload,
    pub versioned_hashes: VariableList<B256, U4096>,
    pub parent_beacon_block_root: B256,
}

/// Electra's request; Fulu's is the same container.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct NewPayloadRequestElectra {
    pub execution_payload: ExecutionPayload,
    pub versioned_hashes: VariableList<B256, U4096>,
    pub parent_beacon_block_root: B256,
    pub execution_requests: ExecutionRequests,
}

/// A `NewPayloadRequest` of one of the accepted forks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewPayloadRequest {
    Deneb(NewPayloadRequestDeneb),
    Electra(NewPayloadRequestElectra),
}

/// Why a request body is not a `NewPayloadRequest`.
#[derive(Debug, Error, PartialEq)]
pub enum RequestError {
    #[error(
        "the body is not an SSZ NewPayloadRequest of Deneb, Electra or Fulu ({bytes} bytes; as Electra/Fulu: {electra}; as Deneb: {deneb})"
    )]
    Malformed {
        bytes: usize,
        electra: String,
        deneb: String,
    },
    #[error("the block's transaction {index} does not fit an SSZ transaction list: {reason}")]
    TooLarge { index: usize, reason: String },
}

impl NewPayloadRequest {
    /// Decodes a request body (SSZ, fork-transparent).
    pub fn from_ssz_bytes(bytes: &[u8]) -> Result<Self, RequestError> {
        let electra = match NewPayloadRequestElectra::from_ssz_bytes(bytes) {
            Ok(r) => return Ok(Self::Electra(r)),
            Err(e) => format!("{e:?}"),
        };
        let deneb = match NewPayloadRequestDeneb::from_ssz_bytes(bytes) {
            Ok(r) => return Ok(Self::Deneb(r)),
            Err(e) => format!("{e:?}"),
        };
        Err(RequestError::Malformed {
            bytes: bytes.len(),
            electra,
            deneb,
        })
    }

    pub fn to_ssz_bytes(&self) -> Vec<u8> {
        match self {
            Self::Deneb(r) => r.as_ssz_bytes(),
            Self::Electra(r) => r.as_ssz_bytes(),
        }
    }

    /// `hash_tree_root(new_payload_request)`: what EIP-8025's `request_proofs` returns.
    pub fn root(&self) -> B256 {
        let root = match self {
            Self::Deneb(r) => r.tree_hash_root(),
            Self::Electra(r) => r.tree_hash_root(),
        };
        B256::from_slice(root.as_slice())
    }

    pub fn payload(&self) -> &ExecutionPayload {
        match self {
            Self::Deneb(r) => &r.execution_payload,
            Self::Electra(r) => &r.execution_payload,
        }
    }

    pub fn fork(&self) -> &'static str {
        match self {
            Self::Deneb(_) => "deneb",
            Self::Electra(_) => "electra",
        }
    }

    /// The request a consensus client would send for `input`'s block: its payload from the
    /// header, transactions and withdrawals, the blob transactions' versioned hashes, and the
    /// header's parent beacon block root.
    ///
    /// A fixture does not carry the EIP-7685 requests themselves (only the header's
    /// `requests_hash`), so a post-Prague block's request has empty `execution_requests`: the
    /// payload, and with it the block hash a proof binds, is the block's own.
    pub fn from_block(input: &BlockInput) -> Result<Self, RequestError> {
        let h = &input.header;
        let transactions = input
            .transactions
            .iter()
            .enumerate()
            .map(|(index, tx)| {
                Transaction::new(tx.encoded_2718()).map_err(|e| RequestError::TooLarge {
                    index,
                    reason: format!("{e:?}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let withdrawals = input
            .withdrawals
            .iter()
            .map(|w| Withdrawal {
                index: w.index,
                validator_index: w.validator_index,
                address: w.address,
                amount: w.amount,
            })
            .collect::<Vec<_>>();
        let too_many = |what: &str, e: ssz_types::Error| RequestError::TooLarge {
            index: 0,
            reason: format!("{what}: {e:?}"),
        };
        let payload = ExecutionPayload {
            parent_hash: h.parent_hash,
            fee_recipient: h.beneficiary,
            state_root: h.state_root,
            receipts_root: h.receipts_root,
            logs_bloom: FixedVector::new(h.logs_bloom.as_slice().to_vec())
                .map_err(|e| too_many("logs bloom", e))?,
            prev_randao: h.mix_hash,
            block_number: h.number,
            gas_limit: h.gas_limit,
            gas_used: h.gas_used,
            timestamp: h.timestamp,
            extra_data: VariableList::new(h.extra_data.to_vec())
                .map_err(|e| too_many("extra data", e))?,
            base_fee_per_gas: U256::from(h.base_fee_per_gas.unwrap_or_default()),
            block_hash: h.hash_slow(),
            transactions: VariableList::new(transactions)
                .map_err(|e| too_many("transactions", e))?,
            withdrawals: VariableList::new(withdrawals).map_err(|e| too_many("withdrawals", e))?,
            blob_gas_used: h.blob_gas_used.unwrap_or_default(),
            excess_blob_gas: h.excess_blob_gas.unwrap_or_default(),
        };
        let versioned_hashes = input
            .transactions
            .iter()
            .filter_map(|tx| match tx {
                TxEnvelope::Eip4844(tx) => Some(tx.tx().tx().blob_versioned_hashes.clone()),
                _ => None,
            })
            .flatten()
            .collect::<Vec<_>>();
        let versioned_hashes =
            VariableList::new(versioned_hashes).map_err(|e| too_many("versioned hashes", e))?;
        let parent_beacon_block_root = h.parent_beacon_block_root.unwrap_or_default();
        Ok(if h.requests_hash.is_some() {
            Self::Electra(NewPayloadRequestElectra {
                execution_payload: payload,
                versioned_hashes,
                parent_beacon_block_root,
                execution_requests: ExecutionRequests::default(),
            })
        } else {
            Self::Deneb(NewPayloadRequestDeneb {
                execution_payload: payload,
                versioned_hashes,
                parent_beacon_block_root,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> BlockInput {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name);
        BlockInput::from_path(path).unwrap()
    }

    #[test]
    fn a_request_round_trips_and_names_its_block() {
        let input = fixture("transfers.json");
        let request = NewPayloadRequest::from_block(&input).unwrap();
        assert_eq!(request.payload().block_hash, input.header.hash_slow());
        assert_eq!(
            request.payload().transactions.len(),
            input.transactions.len()
        );
        let bytes = request.to_ssz_bytes();
        assert_eq!(NewPayloadRequest::from_ssz_bytes(&bytes).unwrap(), request);
        // The root commits to every field: one changed byte anywhere gives another root.
        let mut other = request.clone();
        match &mut other {
            NewPayloadRequest::Electra(r) => r.parent_beacon_block_root.0[31] ^= 1,
            NewPayloadRequest::Deneb(r) => r.parent_beacon_block_root.0[31] ^= 1,
        }
        assert_ne!(other.root(), request.root());
    }

    #[test]
    fn the_fork_follows_from_the_body_and_garbage_is_refused() {
        let input = fixture("transfers.json");
        let NewPayloadRequest::Electra(electra) = NewPayloadRequest::from_block(&input).unwrap()
        else {
            panic!("the generated fixtures are Prague blocks");
        };
        let deneb = NewPayloadRequest::Deneb(NewPayloadRequestDeneb {
            execution_payload: electra.execution_payload.clone(),
            versioned_hashes: electra.versioned_hashes.clone(),
            parent_beacon_block_root: electra.parent_beacon_block_root,
        });
        let decoded = NewPayloadRequest::from_ssz_bytes(&deneb.to_ssz_bytes()).unwrap();
        assert_eq!(decoded.fork(), "deneb");
        assert_ne!(
            decoded.root(),
            NewPayloadRequest::Electra(electra.clone()).root()
        );
        for garbage in [&[][..], &[0u8; 3][..], &[0xff; 200][..]] {
            assert!(matches!(
                NewPayloadRequest::from_ssz_bytes(garbage),
                Err(RequestError::Malformed { .. })
            ));
        }
        let mut truncated = NewPayloadRequest::Electra(electra).to_ssz_bytes();
        truncated.truncate(truncated.len() - 1);
        assert!(NewPayloadRequest::from_ssz_bytes(&truncated).is_err());
    }
}
