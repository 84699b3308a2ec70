//! Poseidon2 Merkle commitment of device matrices, identical to Plonky3's
//! `MerkleTreeMmcs<_, _, PaddingFreeSponge<Perm16, 16, 8, 8>, TruncatedPermutation<Perm16, 2, 8, 16>, 2, 8>`
//! (default Poseidon2 constants) for power-of-two heights.

use cudarc::driver::LaunchConfig;

use crate::abi::{CompressParams, LeafHashParams, MatrixDesc};
use crate::backend::{CudaBackend, DeviceBuffer, DeviceMatrix};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::plan::{effective_cap_height, plan_merkle};

/// A Merkle tree whose digest layers stay on the device (for openings).
pub struct DeviceMerkleTree<F> {
    /// `layers[k]` holds `max_height >> k` digests of 8 words (row-major); the last is the root.
    layers: Vec<DeviceBuffer>,
    cap_height: usize,
    _f: core::marker::PhantomData<F>,
}

impl<F: DeviceField> DeviceMerkleTree<F> {
    /// Number of digest layers (leaf digests to root).
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// The cap height actually used: `min(configured, num_layers - 1)`, as MerkleTreeMmcs does.
    pub fn cap_height(&self) -> usize {
        self.cap_height
    }

    /// Device buffer of digest layer `k` (`max_height >> k` digests, 8 words each).
    pub fn layer_buffer(&self, k: usize) -> &DeviceBuffer {
        &self.layers[k]
    }

    /// Download digest layer `k`.
    pub fn layer(&self, backend: &CudaBackend, k: usize) -> Result<Vec<[F; 8]>> {
        let words = F::vec_from_words(backend.download_words(&self.layers[k])?)?;
        Ok(words
            .chunks_exact(8)
            .map(|c| c.try_into().unwrap())
            .collect())
    }

    /// The commitment: the `2^cap_height` digests of layer `num_layers - 1 - cap_height`
    /// (equal to `MerkleCap` of `MerkleTreeMmcs::commit`).
    pub fn cap(&self, backend: &CudaBackend) -> Result<Vec<[F; 8]>> {
        self.layer(backend, self.layers.len() - 1 - self.cap_height)
    }

    /// The authentication path of leaf `index`, as `MerkleTreeMmcs::open_batch(index, ..)`
    /// returns it in `opening_proof`: the sibling `(index >> k) ^ 1` of each layer k below the
    /// cap. Downloads only those digests.
    pub fn path(&self, backend: &CudaBackend, index: usize) -> Result<Vec<[F; 8]>> {
        let leaves = self.layers[0].len() / 8;
        if index >= leaves {
            return Err(Error::InvalidShape(format!(
                "leaf index {index} out of {leaves}"
            )));
        }
        (0..self.layers.len() - 1 - self.cap_height)
            .map(|k| {
                let sibling = (index >> k) ^ 1;
                let words = backend.download_range(&self.layers[k], 8 * sibling, 8)?;
                let digest = F::vec_from_words(words)?;
                Ok(digest.try_into().unwrap())
            })
            .collect()
    }

    /// The root digest.
    pub fn root(&self, backend: &CudaBackend) -> Result<[F; 8]> {
        Ok(self.layer(backend, self.layers.len() - 1)?[0])
    }
}

impl CudaBackend {
    fn leaf_hash<F: DeviceField>(
        &self,
        mats: &[&DeviceMatrix<F>],
        rows: usize,
    ) -> Result<DeviceBuffer> {
        let stream = self.stream();
        let descs: Vec<MatrixDesc> = mats
            .iter()
            .map(|m| MatrixDesc {
                data: m.buf.ptr(stream),
                col_stride: m.height as u64,
                width: m.width as u32,
                _pad: 0,
            })
            .collect();
        // The descriptor array lives in device memory: upload it as words.
        let desc_words: Vec<u32> = descs
            .iter()
            .flat_map(|d| {
                [
                    d.data as u32,
                    (d.data >> 32) as u32,
                    d.col_stride as u32,
                    (d.col_stride >> 32) as u32,
                    d.width,
                    d._pad,
                ]
            })
            .collect();
        let desc_buf = self.upload_words(&desc_words)?;
        let out = self.alloc(rows * 8)?;
        let p = LeafHashParams {
            mats: desc_buf.ptr(stream),
            out: out.ptr(stream),
            num_mats: mats.len() as u32,
            num_rows: rows as u32,
        };
        let c = F::poseidon2_constants();
        let kernel = crate::kernels::entry("merkle_hash_leaves", F::KIND)?;
        let cfg = LaunchConfig {
            grid_dim: (rows.div_ceil(128) as u32, 1, 1),
            block_dim: (128, 1, 1),
            shared_mem_bytes: 0,
        };
        self.launch(kernel, cfg, &[&p, &c])?;
        Ok(out)
    }

    /// Commit to `mats` (commit order matters, as in `MerkleTreeMmcs::commit`). Heights must be
    /// powers of two; every height's rows are hashed as p3 does (tallest matrices' rows
    /// concatenated into the leaves, shorter ones injected at their level).
    pub fn merkle_commit<F: DeviceField>(
        &self,
        mats: &[&DeviceMatrix<F>],
        cap_height: usize,
    ) -> Result<DeviceMerkleTree<F>> {
        let heights: Vec<usize> = mats.iter().map(|m| m.height).collect();
        let plan = plan_merkle(&heights)?;
        if let Some(m) = mats.iter().find(|m| m.height > u32::MAX as usize) {
            return Err(Error::InvalidShape(format!(
                "height {} too large",
                m.height
            )));
        }
        let max = 1usize << plan.log_max_height;
        let leaf_mats: Vec<&DeviceMatrix<F>> = plan.leaves.iter().map(|&i| mats[i]).collect();
        let mut layers = vec![self.leaf_hash(&leaf_mats, max)?];
        let c = F::poseidon2_constants();
        let kernel = crate::kernels::entry("merkle_compress", F::KIND)?;
        for k in 1..=plan.log_max_height as usize {
            let nodes = max >> k;
            let inject = if plan.inject[k].is_empty() {
                None
            } else {
                let inj: Vec<&DeviceMatrix<F>> = plan.inject[k].iter().map(|&i| mats[i]).collect();
                Some(self.leaf_hash(&inj, nodes)?)
            };
            let out = self.alloc(nodes * 8)?;
            let stream = self.stream();
            let p = CompressParams {
                children: layers[k - 1].ptr(stream),
                inject: inject.as_ref().map_or(0, |b| b.ptr(stream)),
                out: out.ptr(stream),
                num_nodes: nodes as u32,
                _pad: 0,
            };
            let cfg = LaunchConfig {
                grid_dim: (nodes.div_ceil(128) as u32, 1, 1),
                block_dim: (128, 1, 1),
                shared_mem_bytes: 0,
            };
            self.launch(kernel, cfg, &[&p, &c])?;
            layers.push(out);
        }
        let cap_height = effective_cap_height(cap_height, layers.len());
        Ok(DeviceMerkleTree {
            layers,
            cap_height,
            _f: core::marker::PhantomData,
        })
    }
}
