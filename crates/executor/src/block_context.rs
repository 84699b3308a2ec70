//! The block context: what COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID, BASEFEE,
//! BLOBBASEFEE and BLOCKHASH push. One function derives the header values from a header and
//! the chain's two configuration values (chain id, blob base-fee update fraction), so that the
//! prover's table and the verifier's check compute them the same way; the BLOCKHASH reads are
//! collected from the executed trace and checked by the verifier against ancestor headers.

use alloy_consensus::Header;
use alloy_primitives::{U256, keccak256};
use alloy_rlp::Encodable;

use crate::trace::{STEP_OK, SubblockTrace, Word};

/// The opcodes whose value is a header field or chain value, in the order of
/// [`BlockContext::header`].
pub const HEADER_OPCODES: [u8; 8] = [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x4a];
/// BLOCKHASH.
pub const BLOCKHASH: u8 = 0x40;
/// How far back BLOCKHASH sees: `number - 256 ..= number - 1`.
pub const BLOCKHASH_WINDOW: u64 = 256;

/// The values the block-context opcodes push in one block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockContext {
    /// The word each of [`HEADER_OPCODES`] pushes, in that order.
    pub header: [Word; 8],
    /// The block's BLOCKHASH reads: `(argument, pushed hash)`, sorted by argument, each once.
    /// Arguments of 2^64 or more are not here (see [`block_hash_reads`]).
    pub block_hashes: Vec<(u64, Word)>,
}

impl BlockContext {
    /// The value `opcode` (one of [`HEADER_OPCODES`]) pushes.
    pub fn header_value(&self, opcode: u8) -> Option<Word> {
        HEADER_OPCODES
            .iter()
            .position(|&o| o == opcode)
            .map(|i| self.header[i])
    }
}

/// The header values the block-context opcodes push: the beneficiary, timestamp, number,
/// `mix_hash` (PREVRANDAO since the merge), gas limit, `chain_id`, base fee (0 before London) and
/// the blob base fee `fake_exponential(1, excess_blob_gas, blob_update_fraction)` (0 where the
/// header has no excess blob gas, i.e. before Cancun, where BLOBBASEFEE is not an opcode).
pub fn header_values(header: &Header, chain_id: u64, blob_update_fraction: u64) -> [Word; 8] {
    let w = |v: U256| Word::from(v);
    let blob_fee = match header.excess_blob_gas {
        Some(excess) if blob_update_fraction > 0 => alloy_eips::eip4844::fake_exponential(
            alloy_eips::eip4844::BLOB_TX_MIN_BLOB_GASPRICE,
            u128::from(excess),
            u128::from(blob_update_fraction),
        ),
        _ => 0,
    };
    [
        w(U256::from_be_slice(header.beneficiary.as_slice())),
        w(U256::from(header.timestamp)),
        w(U256::from(header.number)),
        w(U256::from_be_bytes(header.mix_hash.0)),
        w(U256::from(header.gas_limit)),
        w(U256::from(chain_id)),
        w(U256::from(header.base_fee_per_gas.unwrap_or(0))),
        w(U256::from(blob_fee)),
    ]
}

/// Every successful BLOCKHASH step's `(argument, result)` in these traces, sorted by argument,
/// each argument once (the EVM gives one argument one result within a block). An argument of
/// 2^64 or more always gives zero and is left out: the AIR's table holds 64-bit arguments, so
/// such a step is not provable (a typed trace error, never a wrong proof).
pub fn block_hash_reads<'a>(
    traces: impl IntoIterator<Item = &'a SubblockTrace>,
) -> Vec<(u64, Word)> {
    let mut reads = std::collections::BTreeMap::new();
    for t in traces {
        for (i, s) in t.steps.indexed() {
            if s.opcode != BLOCKHASH || s.status != STEP_OK {
                continue;
            }
            let words = t.step_words(i);
            let (arg, out) = (words[0], words[1]);
            if arg.0[2..].iter().all(|&l| l == 0) {
                let n = u64::from(arg.0[0]) | u64::from(arg.0[1]) << 32;
                reads.insert(n, out);
            }
        }
    }
    reads.into_iter().collect()
}

/// Whether BLOCKHASH(`n`) in block `number` names an ancestor (else it pushes zero).
pub fn in_window(number: u64, n: u64) -> bool {
    n < number && number - n <= BLOCKHASH_WINDOW
}

/// The RLP of `header` (its hash is keccak256 of this).
pub fn header_rlp(header: &Header) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.length());
    header.encode(&mut out);
    out
}

/// The RLP of the ancestors a verifier needs for `reads`: the parent first, back to the oldest
/// block a read names within the window (none if no read names one). `ancestors` are the
/// fixture's, oldest first, ending at the parent (already chained by
/// [`crate::witness::check_ancestors`]).
pub fn needed_ancestors(number: u64, reads: &[(u64, Word)], ancestors: &[Header]) -> Vec<Vec<u8>> {
    let oldest = reads
        .iter()
        .map(|&(n, _)| n)
        .filter(|&n| in_window(number, n))
        .min();
    let Some(oldest) = oldest else {
        return Vec::new();
    };
    ancestors
        .iter()
        .rev()
        .take_while(|h| h.number >= oldest)
        .map(header_rlp)
        .collect()
}

/// keccak256 of an RLP header.
pub fn rlp_hash(rlp: &[u8]) -> [u8; 32] {
    keccak256(rlp).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_256_blocks_before() {
        assert!(in_window(300, 299));
        assert!(in_window(300, 44));
        assert!(!in_window(300, 43));
        assert!(!in_window(300, 300));
        assert!(!in_window(300, 301));
        assert!(!in_window(0, 0));
    }

    /// Only the ancestors back to the oldest read in the window, parent first.
    #[test]
    fn only_the_ancestors_the_reads_need() {
        let chain: Vec<Header> = (90..100)
            .map(|number| Header {
                number,
                ..Default::default()
            })
            .collect();
        let w = Word::default();
        let needed = |reads: &[u64]| {
            let reads: Vec<(u64, Word)> = reads.iter().map(|&n| (n, w)).collect();
            needed_ancestors(100, &reads, &chain)
        };
        assert!(needed(&[]).is_empty());
        assert!(needed(&[100, 5000]).is_empty(), "no read in the window");
        let three = needed(&[97, 99, 100]);
        assert_eq!(three.len(), 3);
        assert_eq!(three[0], header_rlp(&chain[9]));
        assert_eq!(three[2], header_rlp(&chain[7]));
    }
}
