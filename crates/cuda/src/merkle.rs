//! Poseidon2 Merkle commitment of device matrices, identical to Plonky3's
//! `MerkleTreeMmcs<_, _, PaddingFreeSponge<Perm16, 16, 8, 8>, TruncatedPermutation<Perm16, 2, 8, 16>, 2, 8>`
//! (default Poseidon2 constants) for power-of-two heights.

use crate::abi::{CompressParams, GatherRowsParams, LeafHashParams, MatrixDesc};
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
    /// Number of leaves (the tallest committed height).
    pub fn num_leaves(&self) -> usize {
        self.layers[0].len() / 8
    }

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

    /// The digests at `positions` of layer `layer` (in the order asked): one `gather_rows`
    /// launch over the layer read as 8-word rows, one download.
    pub fn gather_digests(
        &self,
        backend: &CudaBackend,
        layer: usize,
        positions: &[usize],
    ) -> Result<Vec<[F; 8]>> {
        let Some(buf) = self.layers.get(layer) else {
            return Err(Error::InvalidShape(format!(
                "digest layer {layer} of a tree of {} layers",
                self.layers.len()
            )));
        };
        let digests = buf.len() / 8;
        if let Some(&p) = positions.iter().find(|&&p| p >= digests) {
            return Err(Error::InvalidShape(format!(
                "digest {p} of a layer of {digests}"
            )));
        }
        if positions.is_empty() {
            return Ok(Vec::new());
        }
        // Word c of digest p sits at 8p + c: a "matrix" of column stride 1 whose row q starts
        // at word 8 * positions[q].
        let starts: Vec<u32> = positions.iter().map(|&p| (8 * p) as u32).collect();
        let words = backend.gather_words(buf, 1, &starts, 8)?;
        Ok(F::vec_from_words(words)?
            .chunks_exact(8)
            .map(|c| c.try_into().expect("8-word digests"))
            .collect())
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
        // Digests are stored as two uint4.
        crate::launch::check_aligned(kernel, "out", p.out, 16)?;
        self.launch_per_thread(kernel, rows, &[&p, &c])?;
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
            // Children, injected digests and outputs are read and written as uint4.
            for (what, address) in [
                ("children", p.children),
                ("inject", p.inject),
                ("out", p.out),
            ] {
                crate::launch::check_aligned(kernel, what, address, 16)?;
            }
            self.launch_per_thread(kernel, nodes, &[&p, &c])?;
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

impl CudaBackend {
    /// `out[q * width + c] = data[c * col_stride + rows[q]]` for every query q: one
    /// `gather_rows` launch, one download.
    pub(crate) fn gather_words(
        &self,
        data: &DeviceBuffer,
        col_stride: u64,
        rows: &[u32],
        width: usize,
    ) -> Result<Vec<u32>> {
        if rows.is_empty() || width == 0 {
            return Ok(Vec::new());
        }
        let rows_buf = self.upload_words(rows)?;
        let out = self.alloc(rows.len() * width)?;
        let stream = self.stream();
        let p = GatherRowsParams {
            data: data.ptr(stream),
            col_stride,
            rows: rows_buf.ptr(stream),
            out: out.ptr(stream),
            width: width as u32,
            num_queries: rows.len() as u32,
        };
        let total = rows.len() * width;
        self.launch_stride(crate::kernels::entry_any("gather_rows")?, total, &[&p])?;
        self.download_words(&out)
    }

    /// Rows `rows` of a device matrix (in the order asked), checked canonical.
    pub fn gather_matrix_rows<F: DeviceField>(
        &self,
        m: &DeviceMatrix<F>,
        rows: &[usize],
    ) -> Result<Vec<Vec<F>>> {
        if let Some(&r) = rows.iter().find(|&&r| r >= m.height) {
            return Err(Error::InvalidShape(format!(
                "row {r} of a matrix of {} rows",
                m.height
            )));
        }
        if m.width == 0 {
            return Ok(vec![Vec::new(); rows.len()]);
        }
        let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
        let values =
            F::vec_from_words(self.gather_words(&m.buf, m.height as u64, &idx, m.width)?)?;
        Ok(values.chunks_exact(m.width).map(<[F]>::to_vec).collect())
    }
}

/// One opening, as `MerkleTreeMmcs::open_batch` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceOpening<F> {
    /// For each committed matrix (commit order), its row `index >> (log_max_height - log_height)`.
    pub opened_values: Vec<Vec<F>>,
    /// The sibling digests from the leaf layer up to the cap.
    pub opening_proof: Vec<[F; 8]>,
}

impl CudaBackend {
    /// Open `tree` (made by [`CudaBackend::merkle_commit`] over `mats`, same order) at each leaf
    /// index: the rows are gathered on the device (one launch per matrix for all indices), the
    /// paths read from the digest layers. Equal to p3's `open_batch(index, ..)` per index.
    pub fn open_batches<F: DeviceField>(
        &self,
        mats: &[&DeviceMatrix<F>],
        tree: &DeviceMerkleTree<F>,
        indices: &[usize],
    ) -> Result<Vec<DeviceOpening<F>>> {
        let leaves = tree.num_leaves();
        let heights: Vec<usize> = mats.iter().map(|m| m.height).collect();
        let plan = plan_merkle(&heights)?;
        if 1usize << plan.log_max_height != leaves {
            return Err(Error::InvalidShape(format!(
                "matrices of max height {} for a tree of {leaves} leaves",
                1usize << plan.log_max_height
            )));
        }
        if let Some(&i) = indices.iter().find(|&&i| i >= leaves) {
            return Err(Error::InvalidShape(format!(
                "leaf index {i} out of {leaves}"
            )));
        }
        let mut openings: Vec<DeviceOpening<F>> = Vec::with_capacity(indices.len());
        for &index in indices {
            openings.push(DeviceOpening {
                opened_values: Vec::with_capacity(mats.len()),
                opening_proof: tree.path(self, index)?,
            });
        }
        if indices.is_empty() {
            return Ok(openings);
        }
        let kernel = crate::kernels::entry_any("gather_rows")?;
        for m in mats {
            let shift = plan.log_max_height - m.height.trailing_zeros();
            let rows: Vec<u32> = indices.iter().map(|&i| (i >> shift) as u32).collect();
            let rows_buf = self.upload_words(&rows)?;
            let out = self.alloc(indices.len() * m.width)?;
            if m.width > 0 {
                let stream = self.stream();
                let p = GatherRowsParams {
                    data: m.buf.ptr(stream),
                    col_stride: m.height as u64,
                    rows: rows_buf.ptr(stream),
                    out: out.ptr(stream),
                    width: m.width as u32,
                    num_queries: indices.len() as u32,
                };
                let total = indices.len() * m.width;
                self.launch_stride(kernel, total, &[&p])?;
            }
            let values = F::vec_from_words(self.download_words(&out)?)?;
            for (q, opening) in openings.iter_mut().enumerate() {
                opening
                    .opened_values
                    .push(values[q * m.width..(q + 1) * m.width].to_vec());
            }
        }
        Ok(openings)
    }
}
