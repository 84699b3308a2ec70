//! Merkle openings of engine-resident rounds: the rows a query names and the pruned multi-path,
//! exactly as `MerkleTreeMmcs::open_multi_batch` returns them. Which digests a proof carries is
//! pure index arithmetic (here, shared with [`super::host_tree`]); the engine is asked only for
//! those rows and digests.

use p3_merkle_tree::PrunedMerklePaths;

use super::engine::ProverEngine;
use super::host_tree::{DIGEST_ELEMS, Digest};
use crate::error::{Error, Result};
use crate::field::DeviceField;

/// Levels whose siblings an opening carries: those below the cap (`cap_height` clamped to the
/// tree as `MerkleTreeMmcs` clamps it).
pub fn proof_levels(num_layers: usize, cap_height: usize) -> usize {
    let top = num_layers.saturating_sub(1);
    top - cap_height.min(top)
}

/// The layer a tree's cap is read from.
pub fn cap_layer(num_layers: usize, cap_height: usize) -> usize {
    proof_levels(num_layers, cap_height)
}

/// `(level, position)` of each sibling digest of the pruned multi-path of `indices`, in proof
/// order (Plonky3's `prune_paths` for arity 2): walk the sorted, deduplicated frontier up the
/// levels below the cap; in each sibling pair, send the child no queried leaf lies under.
pub fn pruned_positions(indices: &[usize], levels: usize) -> Vec<(usize, usize)> {
    let mut nodes: Vec<usize> = indices.to_vec();
    nodes.sort_unstable();
    nodes.dedup();
    let mut out = Vec::new();
    let mut parents = Vec::with_capacity(nodes.len());
    for level in 0..levels {
        parents.clear();
        let mut i = 0;
        while i < nodes.len() {
            let group = nodes[i] / 2;
            for k in 0..2 {
                if i < nodes.len() && nodes[i] == 2 * group + k {
                    i += 1;
                } else {
                    out.push((level, 2 * group + k));
                }
            }
            parents.push(group);
        }
        core::mem::swap(&mut nodes, &mut parents);
    }
    out
}

/// The pruned multi-path of `indices` in `tree`: one digest request per level.
pub fn pruned_paths<F: DeviceField, E: ProverEngine<F>>(
    engine: &E,
    tree: &E::Tree,
    indices: &[usize],
    cap_height: usize,
) -> Result<PrunedMerklePaths<F, DIGEST_ELEMS>> {
    let num_layers = engine.tree_layers(tree);
    let leaves = 1usize << num_layers.saturating_sub(1);
    if let Some(&i) = indices.iter().find(|&&i| i >= leaves) {
        return Err(Error::InvalidShape(format!(
            "query index {i} of a tree of {leaves} leaves"
        )));
    }
    let positions = pruned_positions(indices, proof_levels(num_layers, cap_height));
    let mut sibling_hashes: Vec<Digest<F>> = Vec::with_capacity(positions.len());
    let mut start = 0;
    while start < positions.len() {
        let level = positions[start].0;
        let end = start + positions[start..].partition_point(|p| p.0 == level);
        let at: Vec<usize> = positions[start..end].iter().map(|p| p.1).collect();
        sibling_hashes.extend(engine.digests(tree, level, &at)?);
        start = end;
    }
    Ok(PrunedMerklePaths { sibling_hashes })
}

/// `opened[q][m]`: the row of matrix `m` (commit order) that leaf `indices[q]` covers
/// (`index >> (log_max - log_height)`), one engine request per matrix.
pub fn opened_rows<F: DeviceField, E: ProverEngine<F>>(
    engine: &E,
    matrices: &[E::Matrix],
    log_max_height: usize,
    indices: &[usize],
) -> Result<Vec<Vec<Vec<F>>>> {
    let mut opened: Vec<Vec<Vec<F>>> = indices
        .iter()
        .map(|_| Vec::with_capacity(matrices.len()))
        .collect();
    for m in matrices {
        let (height, _) = engine.dims(m);
        let log_h = height.trailing_zeros() as usize;
        let shift = log_max_height.checked_sub(log_h).ok_or_else(|| {
            Error::InvalidShape(format!(
                "matrix of 2^{log_h} rows in a tree of 2^{log_max_height} leaves"
            ))
        })?;
        let rows: Vec<usize> = indices.iter().map(|&i| i >> shift).collect();
        for (q, row) in engine.rows(m, &rows)?.into_iter().enumerate() {
            opened[q].push(row);
        }
    }
    Ok(opened)
}
