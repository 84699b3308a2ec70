//! Finished proofs and accepted requests on disk, so a restart loses neither.
//!
//! - `proofs/<block hash>.<proof type>`: proof bytes. At most `capacity` are kept; the oldest
//!   (by when they were stored) is evicted first.
//! - `requests/<request root>`: the block hash a request names (32 bytes), so that a proof can
//!   be verified against a request root after a restart. At most `8 × capacity` are kept.
//!
//! Files are written to a temporary name and renamed, so a crash leaves no half-written proof.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use alloy_primitives::B256;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("proof store {path}: {reason}")]
pub struct StoreError {
    pub path: PathBuf,
    pub reason: String,
}

fn store_error(path: &Path, e: impl ToString) -> StoreError {
    StoreError {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Keys of stored files in the order they were stored (oldest first).
struct Index<K> {
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: PartialEq + Clone> Index<K> {
    /// Records `key` as the newest; returns the keys to evict.
    fn insert(&mut self, key: K) -> Vec<K> {
        self.order.retain(|k| k != &key);
        self.order.push_back(key);
        let mut evicted = Vec::new();
        while self.order.len() > self.capacity {
            evicted.extend(self.order.pop_front());
        }
        evicted
    }
}

pub struct ProofStore {
    proofs_dir: PathBuf,
    requests_dir: PathBuf,
    proofs: Mutex<Index<(B256, String)>>,
    requests: Mutex<(Index<B256>, HashMap<B256, B256>)>,
}

impl ProofStore {
    /// Opens (creating) a store under `dir`, indexing what a previous run left.
    pub fn open(dir: impl AsRef<Path>, capacity: usize) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        let proofs_dir = dir.join("proofs");
        let requests_dir = dir.join("requests");
        for d in [&proofs_dir, &requests_dir] {
            std::fs::create_dir_all(d).map_err(|e| store_error(d, e))?;
        }
        let capacity = capacity.max(1);
        let mut proofs = Index {
            order: VecDeque::new(),
            capacity,
        };
        for (name, _) in files_by_age(&proofs_dir)? {
            let Some((hash, proof_type)) = name.split_once('.') else {
                continue;
            };
            if let Ok(hash) = hash.parse::<B256>() {
                for (h, t) in proofs.insert((hash, proof_type.to_string())) {
                    remove(&proofs_dir.join(proof_file(&h, &t)));
                }
            }
        }
        let mut requests = (
            Index {
                order: VecDeque::new(),
                capacity: capacity * 8,
            },
            HashMap::new(),
        );
        for (name, path) in files_by_age(&requests_dir)? {
            let (Ok(root), Ok(bytes)) = (name.parse::<B256>(), std::fs::read(&path)) else {
                continue;
            };
            if bytes.len() == 32 {
                requests.1.insert(root, B256::from_slice(&bytes));
                for old in requests.0.insert(root) {
                    requests.1.remove(&old);
                    remove(&requests_dir.join(old.to_string()));
                }
            }
        }
        Ok(Self {
            proofs_dir,
            requests_dir,
            proofs: Mutex::new(proofs),
            requests: Mutex::new(requests),
        })
    }

    pub fn put_proof(
        &self,
        block_hash: B256,
        proof_type: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let path = self.proofs_dir.join(proof_file(&block_hash, proof_type));
        write_atomically(&path, bytes)?;
        let evicted = lock(&self.proofs).insert((block_hash, proof_type.to_string()));
        for (h, t) in evicted {
            remove(&self.proofs_dir.join(proof_file(&h, &t)));
        }
        Ok(())
    }

    /// Whether the index holds this proof (no disk access).
    pub fn has_proof(&self, block_hash: B256, proof_type: &str) -> bool {
        lock(&self.proofs)
            .order
            .iter()
            .any(|(h, t)| *h == block_hash && t == proof_type)
    }

    pub fn proof(&self, block_hash: B256, proof_type: &str) -> Option<Vec<u8>> {
        std::fs::read(self.proofs_dir.join(proof_file(&block_hash, proof_type))).ok()
    }

    /// The proof types stored for a block.
    pub fn proof_types_of(&self, block_hash: B256) -> Vec<String> {
        lock(&self.proofs)
            .order
            .iter()
            .filter(|(h, _)| *h == block_hash)
            .map(|(_, t)| t.clone())
            .collect()
    }

    pub fn put_request(&self, root: B256, block_hash: B256) -> Result<(), StoreError> {
        write_atomically(
            &self.requests_dir.join(root.to_string()),
            block_hash.as_slice(),
        )?;
        let mut requests = lock(&self.requests);
        requests.1.insert(root, block_hash);
        for old in requests.0.insert(root) {
            requests.1.remove(&old);
            remove(&self.requests_dir.join(old.to_string()));
        }
        Ok(())
    }

    /// The block a request root names, if the request was accepted (and not evicted).
    pub fn request(&self, root: B256) -> Option<B256> {
        lock(&self.requests).1.get(&root).copied()
    }

    /// The request roots accepted for a block.
    pub fn roots_of(&self, block_hash: B256) -> Vec<B256> {
        lock(&self.requests)
            .1
            .iter()
            .filter(|(_, h)| **h == block_hash)
            .map(|(r, _)| *r)
            .collect()
    }

    pub fn proof_count(&self) -> usize {
        lock(&self.proofs).order.len()
    }
}

fn proof_file(block_hash: &B256, proof_type: &str) -> String {
    format!("{block_hash}.{proof_type}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data (every update is one step).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn remove(path: &Path) {
    // Already gone is fine: eviction only frees space.
    let _ = std::fs::remove_file(path);
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| store_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| store_error(path, e))
}

/// (file name, path) of the regular files in `dir`, oldest first; leftovers of interrupted
/// writes (`*.tmp`) are removed.
fn files_by_age(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| store_error(dir, e))? {
        let entry = entry.map_err(|e| store_error(dir, e))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "tmp") {
            remove(&path);
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        files.push((
            modified,
            entry.file_name().to_string_lossy().into_owned(),
            path,
        ));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, n, p)| (n, p)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("slotproof-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn proofs_survive_a_restart_and_the_oldest_is_evicted() {
        let dir = temp_dir("evict");
        let hash = |i: u8| B256::repeat_byte(i);
        {
            let store = ProofStore::open(&dir, 2).unwrap();
            store.put_proof(hash(1), "t", b"one").unwrap();
            store.put_proof(hash(2), "t", b"two").unwrap();
            store.put_request(hash(9), hash(2)).unwrap();
        }
        let store = ProofStore::open(&dir, 2).unwrap();
        assert_eq!(store.proof(hash(2), "t").as_deref(), Some(&b"two"[..]));
        assert_eq!(store.request(hash(9)), Some(hash(2)));
        store.put_proof(hash(3), "t", b"three").unwrap();
        assert_eq!(
            store.proof(hash(1), "t"),
            None,
            "the oldest proof is evicted"
        );
        assert_eq!(store.proof_count(), 2);
        assert_eq!(store.proof_types_of(hash(3)), vec!["t".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
