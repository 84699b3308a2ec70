//! Header rules a block must meet against its parent before it executes (proof-of-stake
//! Ethereum): the checks that reject a block without running it. A stateless prover is handed
//! its parent as a witness; a blockchain test is the place where these rules are exercised.

use crate::fixture::ChainSpec;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_eips::eip1559::BaseFeeParams;
use alloy_primitives::{B64, U256};

/// Largest `extraData`, in bytes.
const MAX_EXTRA_DATA: usize = 32;
/// Smallest gas limit.
const MIN_GAS_LIMIT: u64 = 5000;
/// A block's gas limit moves by less than parent / 1024.
const GAS_LIMIT_BOUND_DIVISOR: u64 = 1024;
/// Blob gas per blob (EIP-4844).
const GAS_PER_BLOB: u64 = 131_072;

/// The first header rule `header` breaks, as a reason; `None` when it meets them all.
pub fn header_violation(header: &Header, parent: &Header, chain: &ChainSpec) -> Option<String> {
    if parent.number.checked_add(1) != Some(header.number) {
        return Some(format!(
            "number {} does not follow parent number {}",
            header.number, parent.number
        ));
    }
    if header.timestamp <= parent.timestamp {
        return Some(format!(
            "timestamp {} is not after the parent's {}",
            header.timestamp, parent.timestamp
        ));
    }
    if header.gas_used > header.gas_limit {
        return Some(format!(
            "gas used {} exceeds gas limit {}",
            header.gas_used, header.gas_limit
        ));
    }
    let bound = parent.gas_limit / GAS_LIMIT_BOUND_DIVISOR;
    if header.gas_limit.abs_diff(parent.gas_limit) >= bound || header.gas_limit < MIN_GAS_LIMIT {
        return Some(format!(
            "gas limit {} is not within parent's {} +- {}",
            header.gas_limit,
            parent.gas_limit,
            bound.saturating_sub(1)
        ));
    }
    if header.extra_data.len() > MAX_EXTRA_DATA {
        return Some(format!(
            "extra data is {} bytes (at most {MAX_EXTRA_DATA})",
            header.extra_data.len()
        ));
    }
    if header.difficulty != U256::ZERO {
        return Some(format!("difficulty {} is not zero", header.difficulty));
    }
    if header.nonce != B64::ZERO {
        return Some(format!("nonce {} is not zero", header.nonce));
    }
    if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
        return Some("ommers hash is not the empty list's".into());
    }
    // A parent out of every real range (the genesis header is not checked against anything)
    // would overflow the fee arithmetic below.
    if parent.base_fee_per_gas.is_some_and(|f| f > u64::MAX / 2) {
        return Some("the parent's base fee is out of range".into());
    }
    let expected_base_fee = parent.next_block_base_fee(BaseFeeParams::ethereum());
    if header.base_fee_per_gas != expected_base_fee {
        return Some(format!(
            "base fee {:?} != {:?} computed from the parent",
            header.base_fee_per_gas, expected_base_fee
        ));
    }
    if let Some(params) = chain.blob_params(header.timestamp) {
        let (Some(excess), Some(used)) = (header.excess_blob_gas, header.blob_gas_used) else {
            return Some("blob gas fields are missing".into());
        };
        let parent_excess = parent.excess_blob_gas.unwrap_or(0);
        let parent_used = parent.blob_gas_used.unwrap_or(0);
        let parent_base_fee = parent.base_fee_per_gas.unwrap_or(0);
        if parent_excess.checked_add(parent_used).is_none()
            || parent_used > params.max_blob_count.saturating_mul(GAS_PER_BLOB)
        {
            return Some("the parent's blob gas fields are out of range".into());
        }
        let expected_excess =
            params.next_block_excess_blob_gas_osaka(parent_excess, parent_used, parent_base_fee);
        if excess != expected_excess {
            return Some(format!(
                "excess blob gas {excess} != {expected_excess} computed from the parent"
            ));
        }
        if !used.is_multiple_of(GAS_PER_BLOB)
            || used > params.max_blob_count.saturating_mul(GAS_PER_BLOB)
        {
            return Some(format!(
                "blob gas used {used} is not a whole number of blobs up to {}",
                params.max_blob_count
            ));
        }
    }
    None
}
