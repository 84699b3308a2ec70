//! Launch plans shared by the device code and by the reference model, so the CPU tests exercise
//! exactly the pass decomposition and tree schedule the GPU runs.

use crate::error::{Error, Result};

/// One pass of the shared-memory DIF NTT (see `NttPassParams` in params.cuh).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NttPass {
    /// Highest stage bit + 1: this pass's first stage pairs indices 2^(stage_hi-1) apart.
    pub stage_hi: u32,
    /// Stages done in this pass (tile height 2^num_stages).
    pub num_stages: u32,
    /// log2 of the neighbouring low indices kept side by side in one tile.
    pub log_lanes: u32,
}

impl NttPass {
    /// Words in one block's shared-memory tile.
    pub fn tile_words(&self) -> usize {
        1usize << (self.num_stages + self.log_lanes)
    }
}

/// Tile limits of the NTT passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NttLimits {
    /// The last pass (contiguous tile) does up to this many stages: 2^12 words = 16 KiB.
    pub max_final_stages: u32,
    /// Earlier (strided) passes do up to this many stages ...
    pub max_strided_stages: u32,
    /// ... on 2^log_lanes neighbouring columns of the butterfly grid (coalesced 64-byte runs).
    pub log_lanes: u32,
}

impl NttLimits {
    /// What the device uses: every tile is 2^12 words (16 KiB of shared memory).
    pub const DEVICE: Self = Self {
        max_final_stages: 12,
        max_strided_stages: 8,
        log_lanes: 4,
    };
}

/// Split the log_n stages of a DIF NTT (highest stride first) into passes.
pub fn plan_dif_passes(log_n: u32, limits: NttLimits) -> Vec<NttPass> {
    let mut passes = Vec::new();
    let mut hi = log_n;
    while hi > 0 {
        let pass = if hi <= limits.max_final_stages {
            NttPass {
                stage_hi: hi,
                num_stages: hi,
                log_lanes: 0,
            }
        } else {
            // Stages left for strided passes, spread evenly over as few passes as allowed.
            let strided = hi - limits.max_final_stages;
            let passes_left = strided.div_ceil(limits.max_strided_stages);
            let s = strided.div_ceil(passes_left);
            NttPass {
                stage_hi: hi,
                num_stages: s,
                log_lanes: limits.log_lanes.min(hi - s),
            }
        };
        hi -= pass.num_stages;
        passes.push(pass);
    }
    passes
}

/// The layer schedule of a binary MerkleTreeMmcs over power-of-two heights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePlan {
    /// log2 of the tallest height; the tree has `log_max_height + 1` digest layers.
    pub log_max_height: u32,
    /// Indices (into the committed list, in commit order) of the tallest matrices: their rows,
    /// concatenated, are hashed into layer 0.
    pub leaves: Vec<usize>,
    /// `inject[k]` (k >= 1) lists the matrices of height `max >> k`, injected into layer k;
    /// `inject[0]` is empty.
    pub inject: Vec<Vec<usize>>,
}

/// Build the schedule for matrices of the given heights (commit order). Heights must be powers
/// of two; the GPU path does not implement p3's padding for other heights.
pub fn plan_merkle(heights: &[usize]) -> Result<MerklePlan> {
    if heights.is_empty() {
        return Err(Error::InvalidShape("no matrices to commit".into()));
    }
    if let Some(h) = heights.iter().find(|h| !h.is_power_of_two()) {
        return Err(Error::InvalidShape(format!(
            "matrix height {h} is not a power of two (the CUDA Merkle tree supports only power-of-two heights)"
        )));
    }
    let max = *heights.iter().max().unwrap();
    let log_max_height = max.trailing_zeros();
    let mut inject = vec![Vec::new(); log_max_height as usize + 1];
    let mut leaves = Vec::new();
    for (i, &h) in heights.iter().enumerate() {
        let k = (log_max_height - h.trailing_zeros()) as usize;
        if k == 0 {
            leaves.push(i);
        } else {
            inject[k].push(i);
        }
    }
    Ok(MerklePlan {
        log_max_height,
        leaves,
        inject,
    })
}

/// MerkleTreeMmcs::commit uses `min(cap_height, num_layers - 1)`.
pub fn effective_cap_height(cap_height: usize, num_layers: usize) -> usize {
    cap_height.min(num_layers.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dif_plans_cover_every_stage_once() {
        for limits in [
            NttLimits::DEVICE,
            NttLimits {
                max_final_stages: 3,
                max_strided_stages: 2,
                log_lanes: 1,
            },
        ] {
            for log_n in 0..=27 {
                let plan = plan_dif_passes(log_n, limits);
                let mut hi = log_n;
                for p in &plan {
                    assert_eq!(p.stage_hi, hi);
                    assert!(p.num_stages >= 1 && p.num_stages <= hi);
                    assert!(p.log_lanes <= p.stage_hi - p.num_stages);
                    assert!(p.tile_words() <= 1 << 12);
                    hi -= p.num_stages;
                }
                assert_eq!(hi, 0, "log_n {log_n}: {plan:?}");
            }
        }
        assert_eq!(plan_dif_passes(24, NttLimits::DEVICE).len(), 3);
        assert_eq!(plan_dif_passes(12, NttLimits::DEVICE).len(), 1);
    }

    #[test]
    fn merkle_plan_groups_heights() {
        let p = plan_merkle(&[8, 2, 8, 4, 2]).unwrap();
        assert_eq!(p.log_max_height, 3);
        assert_eq!(p.leaves, vec![0, 2]);
        assert_eq!(p.inject, vec![vec![], vec![3], vec![1, 4], vec![]]);
        assert!(plan_merkle(&[6]).is_err());
        assert!(plan_merkle(&[]).is_err());
    }
}
