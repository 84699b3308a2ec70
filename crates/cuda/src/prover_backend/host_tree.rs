//! A Merkle tree assembled on the host from digest layers computed elsewhere (the GPU, or the
//! kernels' reference model), with an MMCS that opens it exactly as Plonky3's `MerkleTreeMmcs`
//! opens its own trees.
//!
//! Why not Plonky3's `MerkleTree`: its fields are `pub(crate)` and its only constructor hashes
//! the leaves itself, so a tree whose digests were computed on the device cannot be turned into
//! one without hashing everything again on the CPU (or a serde round trip over every LDE
//! element). [`HostTreeMmcs`] is therefore a second `Mmcs` implementation over the **same**
//! commitment, proof and multi-proof types as [`ValMmcs`] (`MerkleCap<F, [F; 8]>`,
//! `Vec<[F; 8]>`, `PrunedMerklePaths<F, 8>`), restricted to what this prover commits: binary
//! trees over power-of-two heights. Openings (`open_batch`, and the pruned `open_multi_batch`
//! FRI's query phase uses) read the stored layers; verification delegates to [`ValMmcs`]. Proofs
//! made with it are therefore the bytes `MerkleTreeMmcs` would produce (tested against it in
//! `tests/cuda_tests/prover_backend.rs`).

use p3_commit::{BatchOpening, BatchOpeningRef, Mmcs};
use p3_matrix::{Dimensions, Matrix};
use p3_merkle_tree::{MerkleCap, MerkleTreeError, PrunedMerklePaths};
use p3_symmetric::{CryptographicHasher, PseudoCompressionFunction};
use rayon::prelude::*;
use slotproof_prover::FriSettings;
use slotproof_prover::field::{
    HASH_RATE, LeafHash, NodeCompress, ProverField, ValMmcs, fri_components,
};

/// Digest words (the Poseidon2 sponge rate).
pub const DIGEST_ELEMS: usize = HASH_RATE;

/// A digest: 8 field elements.
pub type Digest<F> = [F; DIGEST_ELEMS];

/// Why digest layers and matrices do not form a tree [`HostMerkleTree::from_parts`] accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeShapeError {
    /// No matrices.
    #[error("a Merkle tree needs at least one matrix")]
    Empty,
    /// A matrix height that is not a power of two (Plonky3 pads those; this tree does not).
    #[error("matrix {index} has height {height}, not a power of two")]
    HeightNotPowerOfTwo { index: usize, height: usize },
    /// The number of digest layers is not `log2(max height) + 1`.
    #[error("{found} digest layers for a tallest height of 2^{log_max_height} (expected {})", log_max_height + 1)]
    LayerCount { found: usize, log_max_height: usize },
    /// Digest layer `layer` does not hold `max_height >> layer` digests.
    #[error("digest layer {layer} holds {found} digests, expected {expected}")]
    LayerLength {
        layer: usize,
        found: usize,
        expected: usize,
    },
}

/// A binary Merkle tree over matrices of power-of-two heights: the committed matrices (commit
/// order) and every digest layer, `digest_layers[0]` = the leaf digests (one per row of the
/// tallest matrices), the last layer = the root. The same content as Plonky3's `MerkleTree`.
#[derive(Clone, Debug)]
pub struct HostMerkleTree<F, M> {
    leaves: Vec<M>,
    digest_layers: Vec<Vec<Digest<F>>>,
}

impl<F: Clone + Send + Sync, M: Matrix<F>> HostMerkleTree<F, M> {
    /// Assemble a tree from its matrices and digest layers computed elsewhere. Checks the shape
    /// (power-of-two heights, `log2(max) + 1` layers, layer k of `max >> k` digests), not the
    /// hashes: the digests are trusted to be those of the matrices.
    pub fn from_parts(
        leaves: Vec<M>,
        digest_layers: Vec<Vec<Digest<F>>>,
    ) -> Result<Self, TreeShapeError> {
        let log_max_height = log_max_height(&leaves)?;
        if digest_layers.len() != log_max_height + 1 {
            return Err(TreeShapeError::LayerCount {
                found: digest_layers.len(),
                log_max_height,
            });
        }
        for (layer, digests) in digest_layers.iter().enumerate() {
            let expected = 1usize << (log_max_height - layer);
            if digests.len() != expected {
                return Err(TreeShapeError::LayerLength {
                    layer,
                    found: digests.len(),
                    expected,
                });
            }
        }
        Ok(Self {
            leaves,
            digest_layers,
        })
    }

    /// The committed matrices, in commit order.
    pub fn leaves(&self) -> &[M] {
        &self.leaves
    }

    /// Digest layer `k` (`max_height >> k` digests; the last layer is the root).
    pub fn digest_layer(&self, k: usize) -> &[Digest<F>] {
        &self.digest_layers[k]
    }

    /// Number of digest layers: `log2(max height) + 1`.
    pub fn num_layers(&self) -> usize {
        self.digest_layers.len()
    }

    /// The tallest height (number of leaf digests).
    pub fn max_height(&self) -> usize {
        self.digest_layers[0].len()
    }

    /// The root digest.
    pub fn root(&self) -> Digest<F>
    where
        F: Copy,
    {
        self.digest_layers[self.digest_layers.len() - 1][0]
    }

    /// The cap at `cap_height` below the root, clamped to the tree as `MerkleTreeMmcs::commit`
    /// clamps it: `min(cap_height, num_layers - 1)`.
    pub fn cap(&self, cap_height: usize) -> MerkleCap<F, Digest<F>>
    where
        F: Copy,
    {
        let layer = self.num_layers() - 1 - self.effective_cap_height(cap_height);
        MerkleCap::new(self.digest_layers[layer].clone())
    }

    fn effective_cap_height(&self, cap_height: usize) -> usize {
        cap_height.min(self.num_layers() - 1)
    }

    /// Levels whose siblings an opening carries: those below the cap.
    fn proof_levels(&self, cap_height: usize) -> usize {
        self.num_layers() - 1 - self.effective_cap_height(cap_height)
    }

    /// The row of every matrix that leaf `index` covers (`index >> (log_max - log_height)`).
    fn opened_rows(&self, index: usize) -> Vec<Vec<F>> {
        let log_max = self.num_layers() - 1;
        self.leaves
            .iter()
            .map(|m| {
                let shift = log_max - m.height().trailing_zeros() as usize;
                m.row(index >> shift)
                    .expect("row index within the matrix: heights are checked at assembly")
                    .into_iter()
                    .collect()
            })
            .collect()
    }

    /// The full authentication path of leaf `index` up to the cap (sibling per level).
    pub fn path(&self, index: usize, cap_height: usize) -> Vec<Digest<F>>
    where
        F: Copy,
    {
        (0..self.proof_levels(cap_height))
            .map(|k| self.digest_layers[k][(index >> k) ^ 1])
            .collect()
    }

    /// The pruned multi-path of `indices` (see [`super::openings::pruned_positions`]).
    pub fn pruned_siblings(&self, indices: &[usize], cap_height: usize) -> Vec<Digest<F>>
    where
        F: Copy,
    {
        super::openings::pruned_positions(indices, self.proof_levels(cap_height))
            .into_iter()
            .map(|(level, pos)| self.digest_layers[level][pos])
            .collect()
    }
}

fn log_max_height<F: Clone + Send + Sync, M: Matrix<F>>(
    leaves: &[M],
) -> Result<usize, TreeShapeError> {
    if leaves.is_empty() {
        return Err(TreeShapeError::Empty);
    }
    for (index, m) in leaves.iter().enumerate() {
        if !m.height().is_power_of_two() {
            return Err(TreeShapeError::HeightNotPowerOfTwo {
                index,
                height: m.height(),
            });
        }
    }
    let max = leaves.iter().map(|m| m.height()).max().unwrap_or(1);
    Ok(max.trailing_zeros() as usize)
}

/// An MMCS over [`HostMerkleTree`]s, producing and checking exactly what [`ValMmcs`] does
/// (same Poseidon2 sponge and compression, cap height, proof types).
#[derive(Clone)]
pub struct HostTreeMmcs<F: ProverField> {
    hash: LeafHash<F>,
    compress: NodeCompress<F>,
    cap_height: usize,
    /// Plonky3's MMCS with the same parameters, for verification.
    reference: ValMmcs<F>,
}

impl<F: ProverField> HostTreeMmcs<F> {
    /// The MMCS of the prover configuration these settings define.
    pub fn new(settings: &FriSettings) -> Self {
        let perm = F::default_poseidon2_16();
        let (reference, _) = fri_components::<F>(settings);
        Self {
            hash: LeafHash::<F>::new(perm.clone()),
            compress: NodeCompress::<F>::new(perm),
            cap_height: settings.merkle_cap_height,
            reference,
        }
    }

    /// Configured cap height (clamped per tree).
    pub fn cap_height(&self) -> usize {
        self.cap_height
    }

    /// The Plonky3 MMCS this one is equivalent to.
    pub fn reference(&self) -> &ValMmcs<F> {
        &self.reference
    }

    /// Every digest layer of the tree over `mats`, on the host (scalar Poseidon2 over rayon):
    /// the tallest matrices' concatenated rows hashed into layer 0; node i of layer k + 1 =
    /// `C(layer_k[2i], layer_k[2i+1])`, then `C(node, H(rows i of the matrices of that
    /// height))` when such matrices exist — `MerkleTreeMmcs`'s schedule for power-of-two
    /// heights.
    pub fn digest_layers<M: Matrix<F>>(
        &self,
        mats: &[M],
    ) -> Result<Vec<Vec<Digest<F>>>, TreeShapeError> {
        let log_max = log_max_height(mats)?;
        let of_height = |log_h: usize| -> Vec<&M> {
            mats.iter().filter(|m| m.height() == 1 << log_h).collect()
        };
        let hash_rows = |group: &[&M], r: usize| -> Digest<F> {
            self.hash.hash_iter(
                group
                    .iter()
                    .flat_map(|m| m.row(r).expect("row within height").into_iter()),
            )
        };
        let tallest = of_height(log_max);
        let mut layers = vec![
            (0..1usize << log_max)
                .into_par_iter()
                .map(|r| hash_rows(&tallest, r))
                .collect::<Vec<_>>(),
        ];
        for k in 1..=log_max {
            let prev = &layers[k - 1];
            let inject = of_height(log_max - k);
            let layer = (0..1usize << (log_max - k))
                .into_par_iter()
                .map(|i| {
                    let node = self.compress.compress([prev[2 * i], prev[2 * i + 1]]);
                    if inject.is_empty() {
                        node
                    } else {
                        self.compress.compress([node, hash_rows(&inject, i)])
                    }
                })
                .collect();
            layers.push(layer);
        }
        Ok(layers)
    }
}

impl<F: ProverField> Mmcs<F> for HostTreeMmcs<F>
where
    ValMmcs<F>: Mmcs<
            F,
            Commitment = MerkleCap<F, Digest<F>>,
            Proof = Vec<Digest<F>>,
            MultiProof = PrunedMerklePaths<F, DIGEST_ELEMS>,
            Error = MerkleTreeError,
        >,
{
    type ProverData<M> = HostMerkleTree<F, M>;
    type Commitment = MerkleCap<F, Digest<F>>;
    type Proof = Vec<Digest<F>>;
    type MultiProof = PrunedMerklePaths<F, DIGEST_ELEMS>;
    type Error = MerkleTreeError;

    /// Build the tree on the host. Like `MerkleTreeMmcs::commit`, a shape this MMCS cannot
    /// commit is a caller bug and panics; here that includes heights that are not powers of two.
    fn commit<M: Matrix<F>>(&self, inputs: Vec<M>) -> (Self::Commitment, Self::ProverData<M>) {
        let layers = self
            .digest_layers(&inputs)
            .unwrap_or_else(|e| panic!("HostTreeMmcs::commit: {e}"));
        let tree = HostMerkleTree::from_parts(inputs, layers)
            .unwrap_or_else(|e| panic!("HostTreeMmcs::commit: {e}"));
        (tree.cap(self.cap_height), tree)
    }

    fn open_batch<M: Matrix<F>>(
        &self,
        index: usize,
        prover_data: &Self::ProverData<M>,
    ) -> BatchOpening<F, Self> {
        let max = prover_data.max_height();
        assert!(index < max, "index {index} out of bounds for height {max}");
        BatchOpening::new(
            prover_data.opened_rows(index),
            prover_data.path(index, self.cap_height),
        )
    }

    fn get_matrices<'a, M: Matrix<F>>(&self, prover_data: &'a Self::ProverData<M>) -> Vec<&'a M> {
        prover_data.leaves.iter().collect()
    }

    fn verify_batch(
        &self,
        commit: &Self::Commitment,
        dimensions: &[Dimensions],
        index: usize,
        batch_opening: BatchOpeningRef<'_, F, Self>,
    ) -> Result<(), Self::Error> {
        self.reference.verify_batch(
            commit,
            dimensions,
            index,
            BatchOpeningRef::new(batch_opening.opened_values, batch_opening.opening_proof),
        )
    }

    fn open_multi_batch<M: Matrix<F>>(
        &self,
        indices: &[usize],
        prover_data: &Self::ProverData<M>,
    ) -> (Vec<Vec<Vec<F>>>, Self::MultiProof) {
        let max = prover_data.max_height();
        if let Some(&index) = indices.iter().find(|&&i| i >= max) {
            panic!("index {index} out of bounds for height {max}");
        }
        let opened = indices
            .iter()
            .map(|&i| prover_data.opened_rows(i))
            .collect();
        let sibling_hashes = prover_data.pruned_siblings(indices, self.cap_height);
        (opened, PrunedMerklePaths { sibling_hashes })
    }

    fn verify_multi_batch<R: AsRef<[F]> + PartialEq>(
        &self,
        commit: &Self::Commitment,
        dimensions: &[Dimensions],
        indices: &[usize],
        opened_values: &[Vec<R>],
        proof: &Self::MultiProof,
    ) -> Result<(), Self::Error> {
        self.reference
            .verify_multi_batch(commit, dimensions, indices, opened_values, proof)
    }
}
