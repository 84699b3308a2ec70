//! Where the node gets a block and its pre-state witness from.
//!
//! [`FixtureDir`] serves the ZK-PIG and EELS flat fixtures of one directory, indexed by block
//! hash and number when the node starts; [`crate::el_witness::ElWitness`] asks an execution
//! client.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use slotproof::executor::BlockInput;
use thiserror::Error;

/// How a block is named in a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockId {
    Hash(B256),
    Number(u64),
}

impl std::fmt::Display for BlockId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hash(h) => write!(f, "{h}"),
            Self::Number(n) => write!(f, "number {n}"),
        }
    }
}

#[derive(Debug, Error)]
pub enum WitnessError {
    #[error("no witness for block {0}")]
    Unknown(BlockId),
    #[error("{blocks} blocks have number {number}; name the block by hash")]
    Ambiguous { number: u64, blocks: usize },
    #[error("reading the witness of block {block} from {path}: {reason}")]
    Read {
        block: B256,
        path: PathBuf,
        reason: String,
    },
    #[error("execution client: {method}: {reason}")]
    Rpc { method: String, reason: String },
    #[error("the witness directory {path} cannot be read: {reason}")]
    Directory { path: PathBuf, reason: String },
}

/// A source of blocks with their witnesses. Calls may block (file or network reads); the node
/// runs them off its async workers.
pub trait WitnessSource: Send + Sync {
    /// The block's hash (for requests by number), if the source has the block.
    fn resolve(&self, id: BlockId) -> Result<B256, WitnessError>;
    /// The block with its pre-state witness.
    fn block_input(&self, block_hash: B256) -> Result<BlockInput, WitnessError>;
    /// The block with its witness as fixture JSON (what `BlockInput::from_json_str` reads):
    /// what remote workers are sent ([`crate::redis_jobs`]). The reader checks the hash.
    fn witness_json(&self, block_hash: B256) -> Result<String, WitnessError>;
    /// What the source is, for logs and `/health`.
    fn describe(&self) -> String;
}

/// One indexed fixture.
#[derive(Clone, Debug)]
struct Entry {
    path: PathBuf,
    number: u64,
}

/// The fixtures of one directory (`*.json`, not recursive), by block hash.
pub struct FixtureDir {
    dir: PathBuf,
    by_hash: HashMap<B256, Entry>,
    /// Every block of a number (fixtures of different chains may share one).
    by_number: HashMap<u64, Vec<B256>>,
    /// Files that are not block fixtures, with why (reported, not fatal).
    skipped: Vec<(PathBuf, String)>,
}

impl FixtureDir {
    /// Reads every `*.json` in `dir` once to learn its block hash and number. A file that is not
    /// a block fixture is skipped and listed in [`FixtureDir::skipped`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, WitnessError> {
        let dir = dir.as_ref().to_path_buf();
        let read_dir = std::fs::read_dir(&dir).map_err(|e| WitnessError::Directory {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        let mut paths: Vec<PathBuf> = read_dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut by_hash = HashMap::new();
        let mut by_number = HashMap::new();
        let mut skipped = Vec::new();
        for path in paths {
            match BlockInput::from_path(&path) {
                Ok(input) => {
                    let hash = input.header.hash_slow();
                    by_number
                        .entry(input.number())
                        .or_insert_with(Vec::new)
                        .push(hash);
                    by_hash.insert(
                        hash,
                        Entry {
                            path,
                            number: input.number(),
                        },
                    );
                }
                Err(e) => skipped.push((path, e.to_string())),
            }
        }
        Ok(Self {
            dir,
            by_hash,
            by_number,
            skipped,
        })
    }

    /// The indexed blocks: (hash, number, file), by number.
    pub fn blocks(&self) -> Vec<(B256, u64, PathBuf)> {
        let mut v: Vec<_> = self
            .by_hash
            .iter()
            .map(|(h, e)| (*h, e.number, e.path.clone()))
            .collect();
        v.sort_by_key(|(_, n, p)| (*n, p.clone()));
        v
    }

    pub fn skipped(&self) -> &[(PathBuf, String)] {
        &self.skipped
    }
}

impl WitnessSource for FixtureDir {
    fn resolve(&self, id: BlockId) -> Result<B256, WitnessError> {
        match id {
            BlockId::Hash(h) if self.by_hash.contains_key(&h) => Ok(h),
            BlockId::Number(number) => match self.by_number.get(&number).map(Vec::as_slice) {
                Some([hash]) => Ok(*hash),
                Some(many) if many.len() > 1 => Err(WitnessError::Ambiguous {
                    number,
                    blocks: many.len(),
                }),
                _ => Err(WitnessError::Unknown(id)),
            },
            BlockId::Hash(_) => Err(WitnessError::Unknown(id)),
        }
    }

    fn block_input(&self, block_hash: B256) -> Result<BlockInput, WitnessError> {
        let entry = self
            .by_hash
            .get(&block_hash)
            .ok_or(WitnessError::Unknown(BlockId::Hash(block_hash)))?;
        let input = BlockInput::from_path(&entry.path).map_err(|e| WitnessError::Read {
            block: block_hash,
            path: entry.path.clone(),
            reason: e.to_string(),
        })?;
        // The file may have changed since it was indexed.
        let hash = input.header.hash_slow();
        if hash != block_hash {
            return Err(WitnessError::Read {
                block: block_hash,
                path: entry.path.clone(),
                reason: format!("the file now holds block {hash}"),
            });
        }
        Ok(input)
    }

    fn witness_json(&self, block_hash: B256) -> Result<String, WitnessError> {
        let entry = self
            .by_hash
            .get(&block_hash)
            .ok_or(WitnessError::Unknown(BlockId::Hash(block_hash)))?;
        std::fs::read_to_string(&entry.path).map_err(|e| WitnessError::Read {
            block: block_hash,
            path: entry.path.clone(),
            reason: e.to_string(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "fixture directory {} ({} blocks)",
            self.dir.display(),
            self.by_hash.len()
        )
    }
}
