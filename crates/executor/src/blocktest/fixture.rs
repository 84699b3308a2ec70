//! Reading EEST blockchain-test files: `{ "<test id>": { network, genesisBlockHeader,
//! genesisRLP, pre, blocks[{rlp, blockHeader, expectException?, statelessInputBytes?}],
//! postState | postStateHash, lastblockhash, config{chainid, blobSchedule}, _info } }`.

use super::error::BlockTestError;
use super::network::{blob_entry, chain_config};
use super::state::FullState;
use crate::fixture::{BlobSchedule, ChainSpec, FlatAccount};
use alloy_consensus::{Block, Header, TxEnvelope};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::Decodable;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What a test expects of the state after its last valid block.
#[derive(Debug, Clone)]
pub enum ExpectedPost {
    /// The complete state (`postState`).
    State(FullState),
    /// Its root only (`postStateHash`).
    Hash(B256),
}

/// One entry of a test's `blocks`.
#[derive(Debug, Clone)]
pub struct TestBlock {
    /// The block as a client receives it; the authority over the decoded fields.
    pub rlp: Bytes,
    /// Set for a block the chain must reject (`TransactionException.X|BlockException.Y`).
    pub expect_exception: Option<String>,
    /// `blockHeader.hash`, checked against the hash of the header decoded from `rlp`.
    pub stated_hash: Option<B256>,
    /// EEST's zkEVM stateless input for this block (SSZ), where the fixture carries one.
    pub stateless_input: Option<Bytes>,
}

/// One blockchain test.
#[derive(Debug, Clone)]
pub struct BlockchainTest {
    pub name: String,
    pub network: String,
    pub chain: ChainSpec,
    pub genesis: Header,
    /// `genesisBlockHeader.hash`.
    pub genesis_stated_hash: Option<B256>,
    pub pre: FullState,
    pub blocks: Vec<TestBlock>,
    pub post: ExpectedPost,
    pub last_block_hash: B256,
    /// `_info` as written (fill tool, description, benchmark metadata such as opcode counts).
    pub info: Option<Value>,
}

#[derive(Deserialize)]
struct RawAccount {
    #[serde(default)]
    balance: U256,
    #[serde(default)]
    nonce: U256,
    #[serde(default)]
    code: Bytes,
    #[serde(default)]
    storage: BTreeMap<U256, U256>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBlock {
    rlp: Bytes,
    block_header: Option<Value>,
    expect_exception: Option<String>,
    stateless_input_bytes: Option<Bytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBlobEntry {
    target: U256,
    max: U256,
    base_fee_update_fraction: U256,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    chainid: Option<U256>,
    blob_schedule: Option<BTreeMap<String, RawBlobEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTest {
    network: String,
    genesis_block_header: Value,
    #[serde(rename = "genesisRLP")]
    genesis_rlp: Option<Bytes>,
    pre: BTreeMap<Address, RawAccount>,
    #[serde(default)]
    blocks: Vec<RawBlock>,
    post_state: Option<BTreeMap<Address, RawAccount>>,
    post_state_hash: Option<B256>,
    lastblockhash: B256,
    config: Option<RawConfig>,
    #[serde(rename = "_info")]
    info: Option<Value>,
}

/// The tests of a file by id, each parsed or with the reason it could not be.
pub type ParsedTests = Vec<(String, Result<BlockchainTest, BlockTestError>)>;

/// Whether a parsed JSON document looks like a blockchain-test file (every value a test with
/// `blocks` and `genesisBlockHeader`).
pub fn is_blockchain_test_json(value: &Value) -> bool {
    value.as_object().is_some_and(|tests| {
        !tests.is_empty()
            && tests.values().all(|t| {
                t.get("blocks").is_some_and(Value::is_array)
                    && t.get("genesisBlockHeader").is_some()
            })
    })
}

/// Every test of a blockchain-test file, in file order (by id), each parsed on its own so that
/// one malformed test does not hide the others.
pub fn read_file(path: &Path) -> Result<ParsedTests, BlockTestError> {
    let text = std::fs::read_to_string(path).map_err(|source| BlockTestError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_file(&text).map_err(|reason| BlockTestError::MalformedFile {
        path: path.display().to_string(),
        reason,
    })
}

/// [`read_file`] on JSON text; a file-level problem is returned as its reason.
pub fn parse_file(text: &str) -> Result<ParsedTests, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(tests) = value else {
        return Err("a blockchain-test file is a JSON object of tests".into());
    };
    if tests.is_empty() {
        return Err("the file holds no tests".into());
    }
    Ok(tests
        .into_iter()
        .map(|(name, v)| {
            let test = parse_test(&name, v);
            (name, test)
        })
        .collect())
}

fn malformed(test: &str, field: impl Into<String>, reason: impl ToString) -> BlockTestError {
    BlockTestError::Malformed {
        test: test.to_string(),
        field: field.into(),
        reason: reason.to_string(),
    }
}

fn u64_of(test: &str, field: &str, v: U256) -> Result<u64, BlockTestError> {
    u64::try_from(v).map_err(|_| malformed(test, field, format!("{v} does not fit 64 bits")))
}

fn accounts(
    test: &str,
    field: &str,
    raw: BTreeMap<Address, RawAccount>,
) -> Result<FullState, BlockTestError> {
    raw.into_iter()
        .map(|(address, a)| {
            let account = FlatAccount {
                balance: a.balance,
                nonce: u64_of(test, &format!("{field}.{address}.nonce"), a.nonce)?,
                code: a.code,
                storage: a.storage,
            };
            Ok((address, account))
        })
        .collect()
}

/// Decodes a block's RLP completely (trailing bytes are an error).
pub fn decode_block(rlp: &[u8]) -> Result<Block<TxEnvelope>, alloy_rlp::Error> {
    let mut buf = rlp;
    let block = Block::<TxEnvelope>::decode(&mut buf)?;
    if !buf.is_empty() {
        return Err(alloy_rlp::Error::Custom("trailing bytes after the block"));
    }
    Ok(block)
}

/// An EEST header object (`uncleHash`, `coinbase`, `transactionsTrie`, `receiptTrie`, `bloom`)
/// in the RPC spelling alloy reads.
fn header_from_json(test: &str, field: &str, v: &Value) -> Result<Header, BlockTestError> {
    let mut v = v.clone();
    let obj = v
        .as_object_mut()
        .ok_or_else(|| malformed(test, field, "expected an object"))?;
    for (from, to) in [
        ("uncleHash", "sha3Uncles"),
        ("coinbase", "miner"),
        ("transactionsTrie", "transactionsRoot"),
        ("receiptTrie", "receiptsRoot"),
        ("bloom", "logsBloom"),
    ] {
        if let Some(x) = obj.remove(from) {
            obj.entry(to).or_insert(x);
        }
    }
    Header::deserialize(&v).map_err(|e| malformed(test, field, e))
}

fn stated_hash(test: &str, field: &str, header: &Value) -> Result<Option<B256>, BlockTestError> {
    header
        .get("hash")
        .map(|h| B256::deserialize(h).map_err(|e| malformed(test, format!("{field}.hash"), e)))
        .transpose()
}

fn parse_test(name: &str, value: Value) -> Result<BlockchainTest, BlockTestError> {
    let raw: RawTest = serde_json::from_value(value).map_err(|e| malformed(name, "<test>", e))?;
    let config = raw.config.unwrap_or(RawConfig {
        chainid: None,
        blob_schedule: None,
    });
    let chain_id = u64_of(name, "config.chainid", config.chainid.unwrap_or(U256::ONE))?;
    let blob_schedule = match config.blob_schedule {
        None => None,
        Some(entries) => {
            let mut sched = BlobSchedule::default();
            for (fork, e) in entries {
                let field = format!("config.blobSchedule.{fork}");
                let entry = blob_entry(
                    u64_of(name, &field, e.target)?,
                    u64_of(name, &field, e.max)?,
                    u128::try_from(e.base_fee_update_fraction)
                        .map_err(|_| malformed(name, &field, "update fraction too large"))?,
                );
                match fork.as_str() {
                    "Cancun" => sched.cancun = Some(entry),
                    "Prague" => sched.prague = Some(entry),
                    "Osaka" => sched.osaka = Some(entry),
                    // Later (BPO) entries belong to forks slotproof does not run; a network
                    // that activates one is refused by name.
                    _ => {}
                }
            }
            Some(sched)
        }
    };
    let chain_config = chain_config(&raw.network, chain_id, blob_schedule).map_err(|e| {
        BlockTestError::UnsupportedNetwork {
            test: name.to_string(),
            network: raw.network.clone(),
            reason: e.0,
        }
    })?;

    let genesis = match &raw.genesis_rlp {
        Some(rlp) => {
            decode_block(rlp)
                .map_err(|e| malformed(name, "genesisRLP", e))?
                .header
        }
        None => header_from_json(name, "genesisBlockHeader", &raw.genesis_block_header)?,
    };
    let genesis_stated_hash = stated_hash(name, "genesisBlockHeader", &raw.genesis_block_header)?;

    let blocks = raw
        .blocks
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let stated_hash = match &b.block_header {
                Some(h) => stated_hash(name, &format!("blocks[{i}].blockHeader"), h)?,
                None => None,
            };
            Ok(TestBlock {
                rlp: b.rlp,
                expect_exception: b.expect_exception,
                stated_hash,
                stateless_input: b.stateless_input_bytes,
            })
        })
        .collect::<Result<Vec<_>, BlockTestError>>()?;

    let post = match (raw.post_state, raw.post_state_hash) {
        (Some(state), _) => ExpectedPost::State(accounts(name, "postState", state)?),
        (None, Some(hash)) => ExpectedPost::Hash(hash),
        (None, None) => {
            return Err(malformed(
                name,
                "postState",
                "neither postState nor postStateHash is given",
            ));
        }
    };

    Ok(BlockchainTest {
        name: name.to_string(),
        network: raw.network,
        chain: ChainSpec::new(chain_config),
        genesis,
        genesis_stated_hash,
        pre: accounts(name, "pre", raw.pre)?,
        blocks,
        post,
        last_block_hash: raw.lastblockhash,
        info: raw.info,
    })
}
