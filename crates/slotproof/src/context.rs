//! The verifier's check of the block-context claim ([`ContextClaim`]): derives, from what the
//! block hash commits to, the values the block-context opcodes may push (what every shard's
//! opcode table must carry as public values, `slotproof_air::block_context`).
//!
//! - The header: keccak256 of its RLP must be the claimed block hash, its number, gas used
//!   and state root the claim's. COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT and BASEFEE
//!   are its fields; BLOBBASEFEE is computed from its excess blob gas and the claim's update
//!   fraction. CHAINID is the claim's chain id. Neither is in the header (they are the chain's
//!   configuration: test networks reuse chain id 1 with other fork schedules, so the verifier
//!   cannot derive the fraction from the id); [`crate::verify_block_proof`] returns them with
//!   the claim, and the caller compares them with its chain.
//! - BLOCKHASH: the ancestors, parent first, must chain from the header by parent hash and
//!   number; a read of a block in the window `number - 256 ..= number - 1` gives that
//!   ancestor's hash (an ancestor the file lacks is [`ContextError::MissingAncestor`]), any other
//!   read zero. So a wrong entry is a hash collision away.

use alloy_consensus::Header;
use alloy_primitives::U256;
use alloy_rlp::Decodable;
use slotproof_executor::block_context::{BlockContext, header_values, in_window, rlp_hash};
use slotproof_executor::trace::Word;
use thiserror::Error;

use crate::proof::BlockPublicValues;

/// Why a block-context claim is not accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ContextError {
    #[error("the header's RLP does not hash to the block hash")]
    HeaderHash,
    #[error("the header's RLP does not decode: {0}")]
    HeaderDecode(String),
    #[error("the header's {field} is not the claim's")]
    HeaderField { field: &'static str },
    #[error("ancestor {index}'s RLP does not decode: {reason}")]
    AncestorDecode { index: usize, reason: String },
    #[error("ancestor {index} is not block {expected_number} with the hash its child names")]
    BrokenAncestorChain { index: usize, expected_number: u64 },
    #[error("BLOCKHASH({number}) is read, but the claim has no ancestor header for it")]
    MissingAncestor { number: u64 },
    #[error("the BLOCKHASH reads are not strictly increasing")]
    ReadsNotSorted,
}

/// The block context the claim proves (see the module docs), or why the claim is wrong.
pub fn block_context(block: &BlockPublicValues) -> Result<BlockContext, ContextError> {
    let c = &block.context;
    if rlp_hash(&c.header) != block.block_hash {
        return Err(ContextError::HeaderHash);
    }
    let header = decode(&c.header).map_err(ContextError::HeaderDecode)?;
    let field = |ok: bool, field| {
        if ok {
            Ok(())
        } else {
            Err(ContextError::HeaderField { field })
        }
    };
    field(header.number == block.number, "number")?;
    field(header.gas_used == block.gas_used, "gas used")?;
    field(header.state_root.0 == block.state_root, "state root")?;
    if c.block_hash_reads.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ContextError::ReadsNotSorted);
    }

    // Ancestors, parent first: hashes by block number.
    let mut hashes = Vec::with_capacity(c.ancestors.len());
    let (mut parent_hash, mut number) = (header.parent_hash.0, header.number);
    for (index, rlp) in c.ancestors.iter().enumerate() {
        let h = decode(rlp).map_err(|reason| ContextError::AncestorDecode { index, reason })?;
        let expected_number = number.wrapping_sub(1);
        if rlp_hash(rlp) != parent_hash || h.number != expected_number || number == 0 {
            return Err(ContextError::BrokenAncestorChain {
                index,
                expected_number,
            });
        }
        hashes.push(parent_hash);
        (parent_hash, number) = (h.parent_hash.0, h.number);
    }
    let block_hashes = c
        .block_hash_reads
        .iter()
        .map(|&n| {
            if !in_window(header.number, n) {
                return Ok((n, Word::default()));
            }
            // Ancestor `i` (parent first) is block `number - 1 - i`.
            let i = (header.number - 1 - n) as usize;
            hashes
                .get(i)
                .map(|h| (n, Word::from(U256::from_be_bytes(*h))))
                .ok_or(ContextError::MissingAncestor { number: n })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BlockContext {
        header: header_values(&header, c.chain_id, c.blob_update_fraction),
        block_hashes,
    })
}

/// A header from its RLP; trailing bytes are an error.
fn decode(rlp: &[u8]) -> Result<Header, String> {
    let mut buf = rlp;
    let h = Header::decode(&mut buf).map_err(|e| e.to_string())?;
    if !buf.is_empty() {
        return Err(format!("{} bytes after the header", buf.len()));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, Bytes, address};
    use slotproof_executor::generate::asm::Asm;
    use slotproof_executor::generate::block::assemble;
    use slotproof_executor::generate::genesis::GenesisAccount;
    use slotproof_executor::generate::{BlockPlan, Genesis, TxSpec};
    use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};

    /// A generated block whose one transaction reads every header opcode and BLOCKHASH of the
    /// parent (genesis), of the block itself and of a later block: the context the verifier
    /// derives from the claim is the one revm's execution pushed (the executor's table).
    #[test]
    fn the_verifier_derives_what_revm_pushed() {
        const READER: Address = address!("0xb10c000000000000000000000000000000000002");
        let mut a = Asm::new();
        for op in slotproof_executor::block_context::HEADER_OPCODES {
            a.op(op).op(0x50);
        }
        for n in [0u64, 1, 9] {
            a.push(n).op(0x40).op(0x50);
        }
        a.op(0x00);
        let mut genesis = Genesis::build().expect("genesis");
        genesis.accounts.insert(
            READER,
            GenesisAccount {
                nonce: 1,
                code: a.assemble("reader").expect("assembles"),
                ..Default::default()
            },
        );
        let plan = BlockPlan {
            txs: vec![TxSpec::call(0, READER, U256::ZERO, Bytes::new(), 200_000)],
            ..Default::default()
        };
        let exec = assemble(&genesis, &plan).expect("executes").execution;
        let block = BlockPublicValues::of_execution(&exec);
        assert_eq!(block.context.block_hash_reads, vec![0, 1, 9]);
        assert_eq!(block.context.ancestors.len(), 1, "the parent only");
        let derived = block_context(&block).expect("the claim checks");
        assert_eq!(derived, *exec.context);
        assert_ne!(derived.block_hashes[0].1, Word::default(), "genesis's hash");
    }

    /// What the context claim adds to a proof file (postcard bytes), and that the verifier's
    /// derivation gives the executor's table, on the fixtures of the report:
    /// `cargo test -p slotproof --lib context_claim_sizes -- --ignored --nocapture`.
    #[test]
    #[ignore = "executes the mainnet fixtures (minutes in a debug build)"]
    fn context_claim_sizes() {
        let root = env!("CARGO_MANIFEST_DIR");
        for path in [
            format!("{root}/../../fixtures/mixed.json"),
            format!("{root}/../../../shared/fixtures/mainnet/21688509.json"),
            format!("{root}/../../../shared/fixtures/mainnet/22615247.json"),
        ] {
            let Ok(input) = BlockInput::from_path(&path) else {
                println!("{path}: absent, skipped");
                continue;
            };
            let exec = execute_block(&input, &ExecuteOptions::default()).expect("executes");
            let block = BlockPublicValues::of_execution(&exec);
            let bytes = postcard::to_allocvec(&block.context)
                .expect("encodes")
                .len();
            assert_eq!(
                block_context(&block).expect("the claim checks"),
                *exec.context
            );
            println!(
                "{path}: context claim {bytes} B (header {} B, {} BLOCKHASH reads, {} ancestors)",
                block.context.header.len(),
                block.context.block_hash_reads.len(),
                block.context.ancestors.len()
            );
        }
    }
}
