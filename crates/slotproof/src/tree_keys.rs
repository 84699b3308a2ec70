//! The recursion programs' verifying keys as a verifier of block proof v3 holds them: all
//! constants ([`fixed`]), so a verifier checks a root in milliseconds.
//!
//! - **One internal and one root program** (every node has the node shape and takes its
//!   children's keys as inputs: `slotproof_recursion::keys`).
//! - **One leaf program per shard shape of the menu** (`slotproof_air::shape::SHARD_SHAPES`):
//!   a leaf's program follows its shard's shape, and shards come only in those shapes.
//!
//! The test `tests/fixed_keys.rs` derives every key again from placeholder proofs (an
//! unchecked prover's proofs of zero traces of the right shape: `Build::shape_only` emits the
//! program a real proof of that shape gives) and fails, printing the new file, when a change
//! to the recursion circuits, the EVM chips or the menu has made them stale; `aggregate_block`
//! refuses to aggregate under stale keys.

use p3_air::BaseAir;
use p3_batch_stark::CommonData;
use p3_batch_stark::common::{GlobalPreprocessed, PreprocessedInstanceMeta};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_matrix::dense::RowMajorMatrix;
use p3_symmetric::MerkleCap;
use rayon::prelude::*;
use slotproof_air::EvmAir;
use slotproof_air::shape::{SHARD_SHAPES, ShardShape, menu_index};
use slotproof_prover::{
    CpuShardProver, FriSettings, ProverOptions, ShardProver, VerifyError as StarkError,
};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::config::{ShardConfig, ShardProof as BatchProof, Val};
use slotproof_recursion::leaf::{LEAF_SETTINGS, LeafCircuit};
use slotproof_recursion::root::ROOT_SETTINGS;
use slotproof_recursion::tables::RecursionAir;
use slotproof_recursion::tables::program::Program;
use slotproof_recursion::tree::{
    InternalKey, NodeKind, ROOT_PUBLIC_LEN, TreeChild, circuit_of_shape, placeholder_node,
};

pub mod fixed;

/// A placeholder shard: its statement, its proof and its public values.
type Placeholder = (MirrorKey, BatchProof, Vec<Vec<Val>>);

/// A placeholder shard proof of this shape: an unchecked prover's proof of all-zero traces with
/// zero public values, and the statement of the shape. (What deriving keys needs; it proves
/// nothing.)
fn placeholder_shard(degree_bits: &[usize]) -> Result<Placeholder, String> {
    let airs = EvmAir::shard_airs();
    let prover: CpuShardProver<Val> =
        ShardProver::cpu(FriSettings::DEFAULT).with_options(ProverOptions {
            check_witness: false,
        });
    let traces: Vec<RowMajorMatrix<Val>> = airs
        .iter()
        .zip(degree_bits)
        .map(|(air, &bits)| {
            let width = BaseAir::<Val>::width(air);
            RowMajorMatrix::new(vec![Val::ZERO; width << bits], width)
        })
        .collect();
    let public_values: Vec<Vec<Val>> = airs
        .iter()
        .map(|a| vec![Val::ZERO; BaseAir::<Val>::num_public_values(a)])
        .collect();
    let proof = prover
        .prove(&airs, &traces, &public_values)
        .map_err(|e| e.to_string())?;
    let data = prover
        .setup(&airs, degree_bits)
        .map_err(|e| e.to_string())?;
    let key = MirrorKey::new(FriSettings::DEFAULT, &airs, degree_bits, &data.common)
        .map_err(|e| e.to_string())?;
    Ok((key, proof, public_values))
}

fn as_child(placeholder: &Placeholder) -> TreeChild<'_> {
    let (key, proof, public_values) = placeholder;
    TreeChild {
        key,
        proof,
        public_values,
    }
}

/// A CPU key's preprocessed commitment as values.
fn key_of(circuit: &LeafCircuit, settings: FriSettings) -> Result<Vec<Val>, String> {
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let key = circuit.keygen(&prover).map_err(|e| e.to_string())?;
    Ok(key
        .preprocessed_commitment()
        .map(slotproof_recursion::recording::cap_elements)
        .unwrap_or_default())
}

/// Every key [`fixed`] must hold, derived from placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedKeys {
    pub internal: Vec<u32>,
    pub root: Vec<u32>,
    pub root_log_heights: Vec<usize>,
    /// One per shape of the menu, in menu order.
    pub leaves: Vec<Vec<u32>>,
}

/// The leaf circuit of a shape of the menu, from a placeholder shard proof of it.
fn leaf_circuit(shape: &ShardShape) -> Result<LeafCircuit, String> {
    let shard = placeholder_shard(&shape.log_heights)?;
    circuit_of_shape(NodeKind::ShardLeaf, &[as_child(&shard)]).map_err(|e| e.to_string())
}

/// The leaf program of the menu's shape `index` (measurements: `tests/fixed_keys.rs`'s
/// `node_rows`).
pub fn menu_leaf_circuit(index: usize) -> Result<LeafCircuit, String> {
    leaf_circuit(SHARD_SHAPES.get(index).ok_or("no such menu shape")?)
}

/// The leaf program of the menu's first (smallest) shard shape.
pub fn first_leaf_circuit() -> Result<LeafCircuit, String> {
    leaf_circuit(SHARD_SHAPES.first().ok_or("the shape menu is empty")?)
}

/// Derive [`FixedKeys`] (about a minute on 2 cores: a placeholder shard per shape and a
/// placeholder node are proven, and six programs built and committed).
pub fn derive_fixed_keys() -> Result<FixedKeys, String> {
    let canonical = |v: Vec<Val>| -> Vec<u32> { v.iter().map(|x| x.as_canonical_u32()).collect() };
    // The shapes' leaf programs are independent: derived in parallel (each key is a commitment
    // to a whole program, seconds per shape). The first leaf is kept for the node below.
    let mut derived = SHARD_SHAPES
        .par_iter()
        .enumerate()
        .map(|(i, shape)| {
            let leaf = leaf_circuit(shape)?;
            let key = canonical(key_of(&leaf, LEAF_SETTINGS)?);
            Ok((key, (i == 0).then_some(leaf)))
        })
        .collect::<Result<Vec<_>, String>>()?;
    // Any node of the node shape gives the same internal and root programs: the first leaf's.
    let leaf = derived
        .first_mut()
        .and_then(|(_, leaf)| leaf.take())
        .ok_or("the shape menu is empty")?;
    let leaves = derived.into_iter().map(|(key, _)| key).collect();
    let node = placeholder_node(LEAF_SETTINGS, leaf).map_err(|e| e.to_string())?;
    let pv = node.instance_public_values();
    let internal = circuit_of_shape(NodeKind::Internal, &[node.child(&pv), node.child(&pv)])
        .map_err(|e| e.to_string())?;
    let root = circuit_of_shape(NodeKind::Root, &[node.child(&pv)]).map_err(|e| e.to_string())?;
    Ok(FixedKeys {
        internal: canonical(key_of(&internal, LEAF_SETTINGS)?),
        root: canonical(key_of(&root, ROOT_SETTINGS)?),
        root_log_heights: root
            .rows()
            .iter()
            .map(|r| r.padded_rows.trailing_zeros() as usize)
            .collect(),
        leaves,
    })
}

impl FixedKeys {
    /// The source of [`fixed`] holding these keys.
    pub fn to_source(&self) -> String {
        let list = |v: &[u32]| {
            v.iter()
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "//! Generated by `SLOTPROOF_WRITE_FIXED_KEYS=1 cargo test -p slotproof --test fixed_keys`:\n\
             //! the verifying keys of the one internal and the one root recursion program\n\
             //! (`crate::tree_keys`). Do not edit by hand.\n\n\
             /// The internal program's preprocessed commitment.\n\
             pub const INTERNAL_KEY: [u32; {}] = [{}];\n\n\
             /// The root program's preprocessed commitment (a Merkle cap).\n\
             pub const ROOT_KEY: [u32; {}] = [{}];\n\n\
             /// The root program's table heights (log2), in `TABLE_NAMES` order.\n\
             pub const ROOT_LOG_HEIGHTS: [usize; {}] = [{}];\n\n\
             /// Each menu shape's leaf program's preprocessed commitment, in menu order\n\
             /// (`slotproof_air::shape::SHARD_SHAPES`).\n\
             pub const LEAF_KEYS: [[u32; {}]; {}] = [{}];\n",
            self.internal.len(),
            list(&self.internal),
            self.root.len(),
            list(&self.root),
            self.root_log_heights.len(),
            self.root_log_heights
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.leaves.first().map_or(0, Vec::len),
            self.leaves.len(),
            self.leaves
                .iter()
                .map(|k| format!("[{}]", list(k)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// The keys [`fixed`] holds.
    pub fn fixed() -> Self {
        Self {
            internal: fixed::INTERNAL_KEY.to_vec(),
            root: fixed::ROOT_KEY.to_vec(),
            root_log_heights: fixed::ROOT_LOG_HEIGHTS.to_vec(),
            leaves: fixed::LEAF_KEYS.iter().map(|k| k.to_vec()).collect(),
        }
    }
}

/// The internal program's key ([`fixed`]).
pub fn internal_key() -> InternalKey {
    fixed::INTERNAL_KEY.map(Val::from_u32)
}

/// The root program's verifying key: its tables (their widths and lookups: the AIRs of any
/// program with the root's public values) and the commitment and heights of [`fixed`].
pub struct RootKey {
    airs: Vec<RecursionAir>,
    common: CommonData<ShardConfig>,
}

impl RootKey {
    pub fn fixed() -> Result<Self, String> {
        let airs = Program::default().all_airs(ROOT_PUBLIC_LEN);
        if airs.len() != fixed::ROOT_LOG_HEIGHTS.len() {
            return Err(format!(
                "{} root tables, {} fixed heights",
                airs.len(),
                fixed::ROOT_LOG_HEIGHTS.len()
            ));
        }
        // The lookup layout depends on the AIRs only: take it from a key at the smallest
        // heights.
        let prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
        let smallest = Program::default()
            .table_rows()
            .map(|r| r.trailing_zeros() as usize);
        let data = prover.setup(&airs, &smallest).map_err(|e| e.to_string())?;
        let mut instances = Vec::with_capacity(airs.len());
        let mut matrix_to_instance = Vec::new();
        for (i, air) in airs.iter().enumerate() {
            let width = BaseAir::<Val>::preprocessed_width(air);
            instances.push((width > 0).then(|| {
                matrix_to_instance.push(i);
                PreprocessedInstanceMeta {
                    matrix_index: matrix_to_instance.len() - 1,
                    width,
                    degree_bits: fixed::ROOT_LOG_HEIGHTS[i],
                }
            }));
        }
        let digests: Vec<[Val; 8]> = fixed::ROOT_KEY
            .chunks_exact(8)
            .map(|d| core::array::from_fn(|k| Val::from_u32(d[k])))
            .collect();
        let common = CommonData::new(
            Some(GlobalPreprocessed {
                commitment: MerkleCap::new(digests),
                instances,
                matrix_to_instance,
            }),
            data.common.lookups,
        );
        Ok(Self { airs, common })
    }

    /// Check a root proof with these public values (the root's own: `ROOT_PUBLIC_LEN`).
    pub fn verify(&self, proof: &BatchProof, public_values: &[Val]) -> Result<(), StarkError> {
        let per_instance: Vec<Vec<Val>> = self
            .airs
            .iter()
            .map(|air| match air {
                RecursionAir::Public(_) => public_values.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        let prover: CpuShardProver<Val> = ShardProver::cpu(ROOT_SETTINGS);
        prover.verify_with_key(&self.airs, proof, &per_instance, &self.common)
    }
}

/// The leaf key of a shard of this shape (log heights): the fixed key of its menu shape.
/// `None` for a shape off the menu.
pub fn leaf_key(log_heights: &[usize]) -> Option<InternalKey> {
    let index = menu_index(log_heights)?;
    fixed::LEAF_KEYS.get(index).map(|k| k.map(Val::from_u32))
}

/// Each shard's leaf key, for shards of these shapes; an error names a shard whose shape is off
/// the menu.
pub fn leaf_keys_of_shapes(shapes: &[Vec<u8>]) -> Result<Vec<InternalKey>, String> {
    shapes
        .iter()
        .enumerate()
        .map(|(shard, shape)| {
            let bits: Vec<usize> = shape.iter().map(|&b| usize::from(b)).collect();
            leaf_key(&bits).ok_or_else(|| format!("shard {shard}: a shape off the menu"))
        })
        .collect()
}
