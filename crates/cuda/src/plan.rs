//! Launch plans shared by the device code and by the reference model, so the CPU tests exercise
//! exactly the pass decomposition and tree schedule the GPU runs.

use crate::error::{Error, Result};

/// Lanes of a warp; the warp phase of an NTT pass exchanges words between them.
pub const WARP_LANES_LOG: u32 = 5;

/// Most words one thread keeps in registers during the warp phase: 2^3 (the kernel instantiates
/// the warp phase for log_regs 0..=3).
pub const MAX_LOG_REGS: u32 = 3;

/// One pass of the DIF NTT (see `NttPassParams` in params.cuh).
///
/// A block loads a tile of 2^num_stages x 2^log_lanes words into shared memory, runs the first
/// `num_stages - warp_stages` stages there (one `__syncthreads` per stage), then each warp takes
/// chunks of 2^(5 + log_regs) tile words into registers (word `(i << 5) | lane` of a chunk in
/// register i of lane `lane`) and runs the last `warp_stages` stages without shared memory:
/// `log_regs` of them pair registers of one thread, the remaining `5 - log_lanes` pair lanes
/// through `__shfl_xor_sync`. The warp phase stores straight from registers to global memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NttPass {
    /// Highest stage bit + 1: this pass's first stage pairs indices 2^(stage_hi-1) apart.
    pub stage_hi: u32,
    /// Stages done in this pass (tile height 2^num_stages).
    pub num_stages: u32,
    /// log2 of the neighbouring low indices kept side by side in one tile.
    pub log_lanes: u32,
    /// The last stages of the pass, done in registers and warp shuffles (0: none; then
    /// `log_regs` is 0 too). When non-zero it equals `5 + log_regs - log_lanes`.
    pub warp_stages: u32,
    /// log2 of the words each thread holds in the warp phase.
    pub log_regs: u32,
    /// Threads per tile (a multiple of 32): the block's x dimension.
    pub threads: u32,
    /// Tiles one block works on side by side (its y dimension; small tiles share a block so
    /// that blocks keep a useful size). The block's dynamic shared memory is
    /// `tiles_per_block * tile_words()` words.
    pub tiles_per_block: u32,
}

impl NttPass {
    /// Words in one block's shared-memory tile.
    pub fn tile_words(&self) -> usize {
        1usize << (self.num_stages + self.log_lanes)
    }

    /// Shared memory of one tile.
    pub fn tile_bytes(&self) -> usize {
        4 * self.tile_words()
    }

    /// Dynamic shared memory of one block (all its tiles).
    pub fn shared_bytes(&self) -> usize {
        self.tile_bytes() * self.tiles_per_block as usize
    }

    /// Blocks per column (grid x dimension) for a 2^log_n-row transform.
    pub fn blocks(&self, log_n: u32) -> u32 {
        ((1u64 << log_n) / (self.tile_words() as u64 * u64::from(self.tiles_per_block))) as u32
    }

    /// Stages done in shared memory (before the warp phase).
    pub fn shared_stages(&self) -> u32 {
        self.num_stages - self.warp_stages
    }

    /// Warp-phase stages that pair two registers of one thread.
    pub fn register_stages(&self) -> u32 {
        if self.warp_stages == 0 {
            0
        } else {
            self.log_regs
        }
    }

    /// Warp-phase stages that pair two lanes (`__shfl_xor_sync`).
    pub fn shuffle_stages(&self) -> u32 {
        self.warp_stages - self.register_stages()
    }
}

/// Tile limits of the NTT passes, derived from the shared memory a block may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NttLimits {
    /// The last pass (contiguous tile) does up to this many stages.
    pub max_final_stages: u32,
    /// Earlier (strided) passes do up to this many stages ...
    pub max_strided_stages: u32,
    /// ... on 2^log_lanes neighbouring columns of the butterfly grid (coalesced runs of
    /// 4 * 2^log_lanes bytes: 8 lanes fill one 32-byte sector).
    pub log_lanes: u32,
    /// Upper bound on `NttPass::log_regs` (at most [`MAX_LOG_REGS`]).
    pub max_log_regs: u32,
    /// Upper bound on threads per block (the kernel's `__launch_bounds__`).
    pub max_threads: u32,
}

/// Shared memory per block without opting in (every CUDA device).
pub const DEFAULT_SHARED_BYTES: usize = 48 * 1024;
/// `MAX_SHARED_MEMORY_PER_BLOCK_OPTIN` of H100 and H200 (sm_90): 227 KiB.
pub const SM90_SHARED_OPTIN_BYTES: usize = 227 * 1024;
/// Largest tile the plan uses, whatever the device allows: 2^14 words (64 KiB), so that three
/// blocks fit on one sm_90 multiprocessor (228 KiB) and 2^24 rows still take two passes.
pub const MAX_TILE_LOG_WORDS: u32 = 14;
/// Threads per block of `ntt_dif_pass` (its `__launch_bounds__`).
pub const NTT_MAX_THREADS: u32 = 512;

impl NttLimits {
    /// The plan of an sm_90 device with its opt-in shared memory (H100, H200): final passes of up
    /// to 2^13 words, strided passes of 2^11 x 8 words (64 KiB); 2^24 rows in two passes.
    pub const DEVICE: Self = Self::for_shared_memory(SM90_SHARED_OPTIN_BYTES);

    /// The plan when a block may use `bytes` of dynamic shared memory (the device's
    /// `MAX_SHARED_MEMORY_PER_BLOCK_OPTIN`, or [`DEFAULT_SHARED_BYTES`] without opting in).
    pub const fn for_shared_memory(bytes: usize) -> Self {
        let words = bytes / 4;
        // floor(log2(words)), at least 2^4 words (one stage over 8 lanes).
        let mut log_tile = if words < 16 {
            4
        } else {
            usize::BITS - 1 - words.leading_zeros()
        };
        if log_tile > MAX_TILE_LOG_WORDS {
            log_tile = MAX_TILE_LOG_WORDS;
        }
        let log_lanes = if log_tile - 1 < 3 { log_tile - 1 } else { 3 };
        Self {
            max_final_stages: if log_tile < 13 { log_tile } else { 13 },
            max_strided_stages: log_tile - log_lanes,
            log_lanes,
            max_log_regs: MAX_LOG_REGS,
            max_threads: NTT_MAX_THREADS,
        }
    }

    /// The largest tile any pass of this plan uses, in bytes.
    pub fn max_tile_bytes(&self) -> usize {
        4usize
            << self
                .max_final_stages
                .max(self.max_strided_stages + self.log_lanes)
    }
}

/// The warp phase and block size of a pass with a 2^num_stages x 2^log_lanes tile.
fn warp_shape(num_stages: u32, log_lanes: u32, limits: NttLimits) -> (u32, u32, u32) {
    let tile_log = num_stages + log_lanes;
    // Whole warps only: the warp phase shuffles with a full mask.
    let max_threads = (limits.max_threads / 32).max(1) * 32;
    if tile_log < WARP_LANES_LOG || log_lanes > WARP_LANES_LOG {
        // Too small for a warp (or lanes wider than a warp): shared memory only.
        let threads = (1u32 << tile_log.saturating_sub(1)).clamp(32, max_threads);
        return (0, 0, threads);
    }
    let log_regs = limits
        .max_log_regs
        .min(MAX_LOG_REGS)
        .min(tile_log - WARP_LANES_LOG);
    // Tile bits log_lanes .. 5 + log_regs are butterfly bits of the warp phase; this is <= num_stages
    // because log_regs <= tile_log - 5.
    let warp_stages = WARP_LANES_LOG + log_regs - log_lanes;
    if warp_stages == 0 {
        let threads = (1u32 << (tile_log - 1)).clamp(32, max_threads);
        return (0, 0, threads);
    }
    let threads = (1u32 << (tile_log - log_regs)).min(max_threads);
    (warp_stages, log_regs, threads)
}

/// Threads a block aims for when its tiles are small.
pub const NTT_BLOCK_THREADS_TARGET: u32 = 256;

/// How many tiles of a pass share one block: as many as keep the block within
/// [`NTT_BLOCK_THREADS_TARGET`] (and the limits' thread bound) and the largest tile size, and no
/// more than the column has.
fn tiles_per_block(log_n: u32, pass: &NttPass, limits: NttLimits) -> u32 {
    let target = NTT_BLOCK_THREADS_TARGET.min(limits.max_threads.max(32));
    let tiles_in_column = 1u64 << (log_n - pass.num_stages - pass.log_lanes);
    let mut t = 1u32;
    while pass.threads * t * 2 <= target
        && u64::from(t) * 2 <= tiles_in_column
        && pass.tile_bytes() * t as usize * 2 <= limits.max_tile_bytes()
    {
        t *= 2;
    }
    t
}

/// Split the log_n stages of a DIF NTT (highest stride first) into as few passes as the limits
/// allow, balanced: the final (contiguous) pass takes at least its share, the strided passes
/// split the rest evenly.
pub fn plan_dif_passes(log_n: u32, limits: NttLimits) -> Vec<NttPass> {
    let mut passes = Vec::new();
    if log_n == 0 {
        return passes;
    }
    let f = limits.max_final_stages.max(1);
    let st = limits.max_strided_stages.max(1);
    let count = if log_n <= f {
        1
    } else {
        1 + (log_n - f).div_ceil(st)
    };
    let final_stages = if count == 1 {
        log_n
    } else {
        f.min(log_n.div_ceil(count).max(log_n - (count - 1) * st))
    };
    let mut hi = log_n;
    while hi > final_stages {
        let strided = hi - final_stages;
        let passes_left = strided.div_ceil(st);
        let s = strided.div_ceil(passes_left);
        let log_lanes = limits.log_lanes.min(hi - s);
        let (warp_stages, log_regs, threads) = warp_shape(s, log_lanes, limits);
        passes.push(NttPass {
            stage_hi: hi,
            num_stages: s,
            log_lanes,
            warp_stages,
            log_regs,
            threads,
            tiles_per_block: 1,
        });
        hi -= s;
    }
    let (warp_stages, log_regs, threads) = warp_shape(hi, 0, limits);
    passes.push(NttPass {
        stage_hi: hi,
        num_stages: hi,
        log_lanes: 0,
        warp_stages,
        log_regs,
        threads,
        tiles_per_block: 1,
    });
    for pass in &mut passes {
        pass.tiles_per_block = tiles_per_block(log_n, pass, limits);
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

    fn limits_under_test() -> Vec<NttLimits> {
        vec![
            NttLimits::DEVICE,
            NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES),
            NttLimits::for_shared_memory(16 * 1024),
            NttLimits {
                max_final_stages: 3,
                max_strided_stages: 2,
                log_lanes: 1,
                max_log_regs: 0,
                max_threads: 32,
            },
            NttLimits {
                max_final_stages: 7,
                max_strided_stages: 5,
                log_lanes: 2,
                max_log_regs: 2,
                max_threads: 64,
            },
            NttLimits {
                max_final_stages: 9,
                max_strided_stages: 6,
                log_lanes: 3,
                max_log_regs: 1,
                max_threads: 100,
            },
        ]
    }

    #[test]
    fn dif_plans_cover_every_stage_once() {
        for limits in limits_under_test() {
            for log_n in 0..=27 {
                let plan = plan_dif_passes(log_n, limits);
                let mut hi = log_n;
                for (k, p) in plan.iter().enumerate() {
                    let last = k + 1 == plan.len();
                    assert_eq!(p.stage_hi, hi);
                    assert!(p.num_stages >= 1 && p.num_stages <= hi);
                    assert!(p.log_lanes <= p.stage_hi - p.num_stages);
                    assert!(p.tile_bytes() <= limits.max_tile_bytes());
                    if last {
                        assert_eq!(p.log_lanes, 0);
                        assert!(p.num_stages <= limits.max_final_stages.max(1));
                    } else {
                        assert!(p.num_stages <= limits.max_strided_stages);
                    }
                    // Warp phase: tile bits log_lanes .. 5 + log_regs are its butterfly bits.
                    if p.warp_stages > 0 {
                        assert_eq!(p.warp_stages, WARP_LANES_LOG + p.log_regs - p.log_lanes);
                        assert!(p.warp_stages <= p.num_stages);
                        assert!(p.log_regs <= MAX_LOG_REGS.min(limits.max_log_regs));
                        assert!(p.tile_words() >= 1 << (WARP_LANES_LOG + p.log_regs));
                        assert_eq!(p.threads % 32, 0);
                        assert!(p.threads << p.log_regs <= p.tile_words() as u32);
                    } else {
                        assert_eq!(p.log_regs, 0);
                    }
                    assert!(p.threads >= 32 && p.threads <= limits.max_threads.max(32));
                    // Tiles per block: a power of two, within the column, the shared memory of
                    // the largest tile, and the thread bound (unless one tile alone exceeds it).
                    assert!(p.tiles_per_block.is_power_of_two());
                    assert!(p.shared_bytes() <= limits.max_tile_bytes());
                    assert!(
                        p.tiles_per_block == 1
                            || p.threads * p.tiles_per_block <= NTT_BLOCK_THREADS_TARGET
                    );
                    assert!(p.threads * p.tiles_per_block <= limits.max_threads.max(32));
                    assert_eq!(
                        u64::from(p.blocks(log_n))
                            * u64::from(p.tiles_per_block)
                            * p.tile_words() as u64,
                        1u64 << log_n
                    );
                    assert!(p.warp_stages == 0 || p.threads % 32 == 0);
                    assert_eq!(
                        p.shared_stages() + p.register_stages() + p.shuffle_stages(),
                        p.num_stages
                    );
                    hi -= p.num_stages;
                }
                assert_eq!(hi, 0, "log_n {log_n}: {plan:?}");
            }
        }
    }

    #[test]
    fn sm90_plan_takes_two_passes_up_to_2_pow_24() {
        let device = NttLimits::DEVICE;
        assert_eq!(device.max_tile_bytes(), 64 * 1024);
        assert!(device.max_tile_bytes() <= SM90_SHARED_OPTIN_BYTES);
        for log_n in 1..=13 {
            assert_eq!(plan_dif_passes(log_n, device).len(), 1, "2^{log_n}");
        }
        for log_n in 14..=24 {
            assert_eq!(plan_dif_passes(log_n, device).len(), 2, "2^{log_n}");
        }
        assert_eq!(plan_dif_passes(27, device).len(), 3);
        // 2^24: 11 strided stages over 8 lanes (64 KiB), then 13 contiguous stages (32 KiB).
        assert_eq!(
            plan_dif_passes(24, device),
            vec![
                NttPass {
                    stage_hi: 24,
                    num_stages: 11,
                    log_lanes: 3,
                    warp_stages: 5,
                    log_regs: 3,
                    threads: 512,
                    tiles_per_block: 1,
                },
                NttPass {
                    stage_hi: 13,
                    num_stages: 13,
                    log_lanes: 0,
                    warp_stages: 8,
                    log_regs: 3,
                    threads: 512,
                    tiles_per_block: 1,
                },
            ]
        );
        // Balanced: 2^20 is 10 + 10 stages, not 7 + 13.
        let p20 = plan_dif_passes(20, device);
        assert_eq!(
            p20.iter().map(|p| p.num_stages).collect::<Vec<_>>(),
            vec![10, 10]
        );
        // 2^16: the last pass's 2^8-word tiles (one warp each) go eight to a block.
        let p16 = plan_dif_passes(16, device);
        assert_eq!((p16[1].threads, p16[1].tiles_per_block), (32, 8));
        assert_eq!(p16[1].blocks(16), 32);
    }

    #[test]
    fn default_48k_plan_stays_under_the_default_limit() {
        let limits = NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES);
        assert_eq!(limits.max_tile_bytes(), 32 * 1024);
        assert!(limits.max_tile_bytes() <= DEFAULT_SHARED_BYTES);
        assert_eq!(plan_dif_passes(13, limits).len(), 1);
        assert_eq!(plan_dif_passes(23, limits).len(), 2);
        assert_eq!(plan_dif_passes(24, limits).len(), 3);
        // A device with more than 2^14 words to offer still gets 64 KiB tiles.
        assert_eq!(NttLimits::for_shared_memory(1 << 30), NttLimits::DEVICE);
    }

    #[test]
    fn small_tiles_fall_back_to_shared_memory_only() {
        let plan = plan_dif_passes(4, NttLimits::DEVICE);
        assert_eq!(plan.len(), 1);
        assert_eq!(
            (plan[0].warp_stages, plan[0].log_regs, plan[0].threads),
            (0, 0, 32)
        );
        // 2^5: one warp, one word per lane, every stage a shuffle.
        let plan = plan_dif_passes(5, NttLimits::DEVICE);
        assert_eq!(
            (plan[0].warp_stages, plan[0].log_regs, plan[0].threads),
            (5, 0, 32)
        );
        assert_eq!(plan[0].shuffle_stages(), 5);
        // 2^8: one warp, eight words per lane: three register stages, five shuffles.
        let plan = plan_dif_passes(8, NttLimits::DEVICE);
        assert_eq!(
            (plan[0].warp_stages, plan[0].log_regs, plan[0].threads),
            (8, 3, 32)
        );
        assert_eq!(plan[0].shared_stages(), 0);
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
