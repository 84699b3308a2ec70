//! Keys made once per shard shape and reused: consecutive shards of a block mostly share their
//! table heights, and shards of every shape share the fixed tables' commitment (a new shape's
//! key reuses it from the last key made, see `slotproof_prover::ShardProver::keygen_shared`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// Shapes kept: a block's shards have few distinct shapes; a bound keeps a long run's memory
/// (each key holds the fixed tables' committed round) from growing.
const MAX_SHAPES: usize = 16;

/// Keys by shard shape (each table's log2 height), most recently made last.
pub(crate) struct KeyCache<K> {
    keys: Mutex<VecDeque<(Vec<usize>, Arc<K>)>>,
}

impl<K> Default for KeyCache<K> {
    fn default() -> Self {
        Self {
            keys: Mutex::new(VecDeque::new()),
        }
    }
}

impl<K> KeyCache<K> {
    /// The key of `shape`, made by `make` (given the last key made, to share its preprocessed
    /// commitment) if there is none yet; also whether it was made now. The lock is not held
    /// while a key is made: two shards of a new shape at once may both make it (the same key).
    /// (Holding it would deadlock: key generation runs rayon jobs, and a worker waiting on them
    /// may steal another shard's proof, which then waits for the lock its own thread holds.)
    pub(crate) fn get_or_make<E>(
        &self,
        shape: &[usize],
        make: impl FnOnce(Option<&K>) -> Result<K, E>,
    ) -> Result<(Arc<K>, bool), E> {
        let last = {
            let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, k)) = keys.iter().find(|(s, _)| s == shape) {
                return Ok((k.clone(), false));
            }
            keys.back().map(|(_, k)| k.clone())
        };
        let key = Arc::new(make(last.as_deref())?);
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() == MAX_SHAPES {
            keys.pop_front();
        }
        keys.push_back((shape.to_vec(), key.clone()));
        Ok((key, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_is_made_once_and_new_shapes_see_the_last_key() {
        let cache = KeyCache::<String>::default();
        let (a, made) = cache
            .get_or_make(&[1, 2], |last| {
                assert!(last.is_none());
                Ok::<_, ()>("a".to_string())
            })
            .unwrap();
        assert!(made);
        let (again, made) = cache
            .get_or_make(&[1, 2], |_| -> Result<String, ()> { panic!("made twice") })
            .unwrap();
        assert!(!made && Arc::ptr_eq(&a, &again));
        let (b, made) = cache
            .get_or_make(&[1, 3], |last| Ok::<_, ()>(format!("{}b", last.unwrap())))
            .unwrap();
        assert!(made);
        assert_eq!(*b, "ab");
        for h in 0..MAX_SHAPES {
            cache
                .get_or_make(&[h + 10], |_| Ok::<_, ()>(String::new()))
                .unwrap();
        }
        assert_eq!(cache.keys.lock().unwrap().len(), MAX_SHAPES);
    }
}
