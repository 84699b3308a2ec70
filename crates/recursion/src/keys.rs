//! Which programs the aggregation tree accepts as children (issue 13, item 3), written once
//! over [`Ops`] like [`crate::chain`].
//!
//! Every leaf and internal node is padded to one height profile ([`NODE_LOG_ROWS`]) and a node
//! takes its children's verifying keys (their preprocessed commitments) as **inputs**
//! ([`crate::KeyEntry::Input`]). So there is one internal program and one root program
//! whatever the tree's shape, and the keys a node accepts are decided by values it publishes
//! beside the chaining values ([`NodeKeys`]):
//!
//! - `is_leaf`: 1 in a leaf's program, 0 in an internal node's (constants of each program, so
//!   a proof's flag is its program's).
//! - `internal_key`: the internal program's key. A node takes it as a hint and checks that
//!   every internal child has exactly this key and publishes the same value; the root
//!   publishes it, and the verifier compares it with the internal key it holds.
//! - `leaf_keys`: a digest of the leaves' keys in shard order, over the tree's pairing (a leaf
//!   child's contribution is its key, an internal child's its own `leaf_keys`). The verifier
//!   recomputes it from each shard's leaf key, which follows from the shard's shape.
//!
//! A child is accepted only if its key is the internal program's (then its flag is 0) or a
//! leaf's that the verifier recomputes for that shard. This is the allowed set of the design
//! (`vk_root`): the internal key plus the leaf keys of the shard shapes. It is recomputed per
//! shard rather than looked up in a Merkle tree, because the leaf keys are not yet a fixed
//! menu; once they are, both sides reduce to constants. Nodes need not know the leaf keys in
//! advance, so leaves and nodes can be proven as shards arrive.

use p3_field::PrimeCharacteristicRing;
use thiserror::Error;

use crate::chain::{self, DIGEST_LEN};
use crate::config::{Challenge, Val};
use crate::ops::Ops;
use crate::tables::program::NUM_TABLES;

/// Log rows of every table of a leaf or internal node, in `TABLE_NAMES` order (`Const`,
/// `Hint`, `Public`, `Alu`, `Poseidon2Bus`, `Horner`, `BaseHint`, `Decompose`): the largest of
/// either kind, measured on every menu shape's leaf and the internal node over two nodes of
/// this shape (`cargo test -p slotproof --test fixed_keys node_rows -- --ignored
/// --nocapture`, 2026-12-07). Leaves: `Alu` 50,628–52,331 (shape 2, 20 % under 2^16),
/// `Poseidon2Bus` 26,479–28,708, `Horner` 28,140, `BaseHint` 28,580, `Const` 555–567;
/// internal node: `Alu` 47,606, `Poseidon2Bus` 31,382 (4 % under 2^15), `Const` 305. The
/// carry table's Poseidon2 constraints had pushed the leaf to 67,880 `Alu` rows (2^17); the
/// fold at ζ ([`crate::fold`]) brought it back. `Const` stays 2^10: the Poseidon2 round
/// constants and the opcode table's 255 property values are distinct constants, and a table
/// of one main column costs nothing measurable at 2^10. A node taller than this is an error
/// ([`crate::tree::TreeError::NodeShape`]).
pub const NODE_LOG_ROWS: [usize; NUM_TABLES] = [10, 13, 8, 16, 15, 15, 15, 13];

/// Elements of a recursion proof's verifying key: its preprocessed commitment (one digest: the
/// recursion layers' Merkle cap has height 0).
pub const KEY_LEN: usize = DIGEST_LEN;
/// Public values of [`NodeKeys`] and [`RootKeys`].
pub const NODE_KEYS_LEN: usize = 1 + 2 * KEY_LEN;
pub const ROOT_KEYS_LEN: usize = 2 * KEY_LEN;

/// Domain tag of the leaf-key digest's hash.
const KEYS_TAG: u32 = 3;

/// Why a child's key is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("public values have the wrong shape: {0}")]
    Shape(String),
    #[error("the child's is-leaf flag is not 0 or 1")]
    Flag,
    #[error("an internal child's verifying key is not the internal program's")]
    NotInternalKey,
    #[error("an internal child names another internal key than its parent")]
    InternalKeyMismatch,
    #[error("the verifying key has {0} elements, expected {KEY_LEN}")]
    KeyLength(usize),
}

/// What a leaf or internal node publishes about keys (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeKeys<F> {
    pub is_leaf: F,
    pub internal_key: [F; KEY_LEN],
    pub leaf_keys: [F; KEY_LEN],
}

impl<F: Copy> NodeKeys<F> {
    pub fn to_vec(&self) -> Vec<F> {
        let mut v = vec![self.is_leaf];
        v.extend_from_slice(&self.internal_key);
        v.extend_from_slice(&self.leaf_keys);
        v
    }

    pub fn from_slice(v: &[F]) -> Result<Self, KeyError> {
        if v.len() != NODE_KEYS_LEN {
            return Err(KeyError::Shape(format!(
                "{} node key values, expected {NODE_KEYS_LEN}",
                v.len()
            )));
        }
        Ok(Self {
            is_leaf: v[0],
            internal_key: core::array::from_fn(|k| v[1 + k]),
            leaf_keys: core::array::from_fn(|k| v[1 + KEY_LEN + k]),
        })
    }
}

/// What the root publishes about keys: the internal key every internal node checked, and the
/// digest of the leaves' keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootKeys<F> {
    pub internal_key: [F; KEY_LEN],
    pub leaf_keys: [F; KEY_LEN],
}

impl<F: Copy> RootKeys<F> {
    pub fn to_vec(&self) -> Vec<F> {
        let mut v = self.internal_key.to_vec();
        v.extend_from_slice(&self.leaf_keys);
        v
    }

    pub fn from_slice(v: &[F]) -> Result<Self, KeyError> {
        if v.len() != ROOT_KEYS_LEN {
            return Err(KeyError::Shape(format!(
                "{} root key values, expected {ROOT_KEYS_LEN}",
                v.len()
            )));
        }
        Ok(Self {
            internal_key: core::array::from_fn(|k| v[k]),
            leaf_keys: core::array::from_fn(|k| v[KEY_LEN + k]),
        })
    }
}

/// A leaf's key values: the flag set, the rest zero (constants of the leaf's program; a parent
/// reads neither key field of a leaf).
pub fn leaf_keys<O: Ops>(ops: &mut O) -> NodeKeys<O::F> {
    let zero = ops.constant(Val::ZERO);
    NodeKeys {
        is_leaf: ops.constant(Val::ONE),
        internal_key: [zero; KEY_LEN],
        leaf_keys: [zero; KEY_LEN],
    }
}

/// Check one child against the parent's `internal_key` and return what it adds to the
/// parent's leaf-key digest: `key` (the child's verifying key) for a leaf; for an internal
/// child, which must have the internal key and name the same one, its own leaf-key digest.
pub fn child_leaf_keys<O: Ops>(
    ops: &mut O,
    child: &NodeKeys<O::F>,
    key: &[O::F],
    internal_key: &[O::F; KEY_LEN],
) -> Result<[O::F; KEY_LEN], KeyError> {
    if key.len() != KEY_LEN {
        return Err(KeyError::KeyLength(key.len()));
    }
    let one = ops.ext_constant(Challenge::ONE);
    let flag = ops.lift(child.is_leaf);
    let flag_minus_one = ops.sub(flag, one);
    let not_bit = ops.mul(flag, flag_minus_one);
    if !ops.is_zero(not_bit) {
        return Err(KeyError::Flag);
    }
    let internal = ops.sub(one, flag);
    let mut contribution = [key[0]; KEY_LEN];
    for k in 0..KEY_LEN {
        let (ik, own, ck) = (
            ops.lift(internal_key[k]),
            ops.lift(key[k]),
            ops.lift(child.internal_key[k]),
        );
        let key_diff = ops.sub(own, ik);
        let wrong_key = ops.mul(internal, key_diff);
        if !ops.is_zero(wrong_key) {
            return Err(KeyError::NotInternalKey);
        }
        let named_diff = ops.sub(ck, ik);
        let wrong_name = ops.mul(internal, named_diff);
        if !ops.is_zero(wrong_name) {
            return Err(KeyError::InternalKeyMismatch);
        }
        // flag·key + (1 − flag)·leaf_keys, back to a base handle.
        let digest = ops.lift(child.leaf_keys[k]);
        let chosen = ops.select(child.is_leaf, own, digest);
        contribution[k] = ops.coefficients(chosen)[0];
    }
    Ok(contribution)
}

/// The leaf-key digest of two adjacent nodes.
pub fn combine<O: Ops>(
    ops: &mut O,
    left: &[O::F; KEY_LEN],
    right: &[O::F; KEY_LEN],
) -> [O::F; KEY_LEN] {
    let values: Vec<O::F> = left.iter().chain(right).copied().collect();
    chain::hash(ops, KEYS_TAG, &values)
}
