//! The recursion programs' verifying keys as a verifier of block proof v3 holds them.
//!
//! - **The internal and root programs are one each** (every node has the node shape and takes
//!   its children's keys as inputs: `slotproof_recursion::keys`). Their keys are constants,
//!   [`fixed`], so a verifier checks a root in milliseconds. The test `tests/fixed_keys.rs`
//!   derives them again from placeholders and fails, printing the new file, when a change to
//!   the recursion circuits has made them stale.
//! - **A leaf program per shard shape.** Its key is derived from a placeholder shard proof of
//!   the shape (an unchecked prover's proof of zero traces: seconds) and kept for the process;
//!   [`remember_leaf_keys`] keeps the ones an aggregation has just made.

use std::sync::Mutex;

use p3_air::BaseAir;
use p3_batch_stark::CommonData;
use p3_batch_stark::common::{GlobalPreprocessed, PreprocessedInstanceMeta};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_matrix::dense::RowMajorMatrix;
use p3_symmetric::MerkleCap;
use slotproof_air::EvmAir;
use slotproof_prover::{
    CpuBackend, CpuShardProver, FriSettings, ProverOptions, ShardProver, VerifyError as StarkError,
};
use slotproof_recursion::MirrorKey;
use slotproof_recursion::config::{ShardConfig, ShardProof as BatchProof, Val};
use slotproof_recursion::leaf::{LEAF_SETTINGS, LeafCircuit};
use slotproof_recursion::root::ROOT_SETTINGS;
use slotproof_recursion::tables::RecursionAir;
use slotproof_recursion::tables::program::Program;
use slotproof_recursion::tree::{
    InternalKey, NodeKind, ROOT_PUBLIC_LEN, TreeChild, circuit_of_shape, commitment_values,
    placeholder_node,
};

use crate::aggregate::AggregatedBlock;

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

/// The shard shape the node programs are derived over (`fixtures/transfers.json`'s first
/// shard; any shape whose leaf fits the node shape gives the same internal and root programs).
const DERIVATION_SHAPE: [usize; 10] = [6, 8, 8, 2, 2, 2, 8, 16, 2, 2];

/// The node programs' keys derived from placeholders: what [`fixed`] must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeKeys {
    pub internal: Vec<u32>,
    pub root: Vec<u32>,
    pub root_log_heights: Vec<usize>,
}

/// Derive [`NodeKeys`] (seconds: a placeholder shard and a placeholder node are proven, and
/// the two programs built and committed).
pub fn derive_node_keys() -> Result<NodeKeys, String> {
    let shard = placeholder_shard(&DERIVATION_SHAPE)?;
    let leaf =
        circuit_of_shape(NodeKind::ShardLeaf, &[as_child(&shard)]).map_err(|e| e.to_string())?;
    let node = placeholder_node(LEAF_SETTINGS, leaf).map_err(|e| e.to_string())?;
    let pv = node.instance_public_values();
    let internal = circuit_of_shape(NodeKind::Internal, &[node.child(&pv), node.child(&pv)])
        .map_err(|e| e.to_string())?;
    let root = circuit_of_shape(NodeKind::Root, &[node.child(&pv)]).map_err(|e| e.to_string())?;
    let canonical = |v: Vec<Val>| v.iter().map(|x| x.as_canonical_u32()).collect();
    Ok(NodeKeys {
        internal: canonical(key_of(&internal, LEAF_SETTINGS)?),
        root: canonical(key_of(&root, ROOT_SETTINGS)?),
        root_log_heights: root
            .rows()
            .iter()
            .map(|r| r.padded_rows.trailing_zeros() as usize)
            .collect(),
    })
}

impl NodeKeys {
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
             pub const ROOT_LOG_HEIGHTS: [usize; {}] = [{}];\n",
            self.internal.len(),
            list(&self.internal),
            self.root.len(),
            list(&self.root),
            self.root_log_heights.len(),
            self.root_log_heights
                .iter()
                .map(|x| x.to_string())
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

/// Leaf keys derived or made so far in this process, by shard shape.
static LEAF_KEYS: Mutex<Vec<(Vec<u8>, InternalKey)>> = Mutex::new(Vec::new());

fn leaf_keys_cache() -> std::sync::MutexGuard<'static, Vec<(Vec<u8>, InternalKey)>> {
    // A poisoned cache is still a list of correct keys (each is stored whole).
    LEAF_KEYS.lock().unwrap_or_else(|e| e.into_inner())
}

fn cached_leaf(cache: &[(Vec<u8>, InternalKey)], shape: &[u8]) -> Option<InternalKey> {
    cache.iter().find(|(s, _)| s == shape).map(|(_, k)| *k)
}

/// Keep the leaf keys `aggregated` made (they are the ones a verifier derives: a leaf's
/// program depends on its shard's shape only, `slotproof_recursion` tests `shape_only.rs`),
/// so that this process's later verifications of the same shapes (e.g. `slotproof prove`
/// checking the proof it has just written) need not derive them.
pub fn remember_leaf_keys(aggregated: &AggregatedBlock) {
    let mut cache = leaf_keys_cache();
    for (bits, leaf) in aggregated
        .shard_degree_bits
        .iter()
        .zip(&aggregated.leaf_keys)
    {
        let shape: Vec<u8> = bits.iter().map(|&b| b as u8).collect();
        if cached_leaf(&cache, &shape).is_none() {
            cache.push((shape, *leaf));
        }
    }
}

/// Each shard's leaf key, for shards of these (checked) shapes: from this process's cache, the
/// rest derived from a placeholder per shape not yet seen.
pub fn leaf_keys_of_shapes(shapes: &[Vec<u8>]) -> Result<Vec<InternalKey>, String> {
    // The lock is not held while deriving: that runs on rayon, whose workers may meanwhile take
    // up another verification that needs the lock (a deadlock). Two verifications at once may
    // both derive a key; the first one stored is kept.
    let missing: Vec<Vec<u8>> = {
        let cache = leaf_keys_cache();
        let mut missing: Vec<Vec<u8>> = Vec::new();
        for shape in shapes {
            if cached_leaf(&cache, shape).is_none() && !missing.contains(shape) {
                missing.push(shape.clone());
            }
        }
        missing
    };
    if !missing.is_empty() {
        let prover: CpuShardProver<Val> = ShardProver::cpu(LEAF_SETTINGS);
        let mut derived = Vec::with_capacity(missing.len());
        for shape in &missing {
            let bits: Vec<usize> = shape.iter().map(|&b| b as usize).collect();
            let placeholder = placeholder_shard(&bits)?;
            let circuit = circuit_of_shape(NodeKind::ShardLeaf, &[as_child(&placeholder)])
                .map_err(|e| e.to_string())?;
            let key = circuit.keygen(&prover).map_err(|e| e.to_string())?;
            derived.push(commitment_values::<CpuBackend<Val>>(&key).map_err(|e| e.to_string())?);
        }
        let mut cache = leaf_keys_cache();
        for (shape, key) in missing.into_iter().zip(derived) {
            if cached_leaf(&cache, &shape).is_none() {
                cache.push((shape, key));
            }
        }
    }
    let cache = leaf_keys_cache();
    shapes
        .iter()
        .map(|s| {
            cached_leaf(&cache, s).ok_or_else(|| "a derived leaf key was not kept".to_string())
        })
        .collect()
}
