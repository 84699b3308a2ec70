//! The block shape of every kernel, in one table: launch sites take their blocks from here,
//! [`CudaBackend::launch`](crate::CudaBackend) refuses any other shape with a typed error, and
//! the static resource check (`resources`) checks every shape here against ptxas's per-kernel
//! registers and shared memory. A kernel whose code assumes its block size (a shared-memory
//! reduction over exactly 256 threads, a 32-wide tile) is therefore never launched otherwise.
//!
//! Device addresses that kernels access with vector loads or stores (`uint2`, `uint4`) or 64-bit
//! atomics are checked with [`check_aligned`] before the launch: a misaligned vector access is
//! a device fault far from its cause, a typed error names the argument.

use cudarc::driver::LaunchConfig;

use crate::error::{Error, Result};
use crate::plan::{NTT_MAX_THREADS, SM90_SHARED_OPTIN_BYTES};

/// Threads per block of the grid-stride kernels (one thread per word or row, any block size
/// works; this is the one the host uses).
pub const STRIDE_THREADS: u32 = 256;
/// Threads per block of the Poseidon2 kernels (permutation, leaf hash, compression: a whole
/// permutation state per thread, so smaller blocks keep more blocks resident).
pub const POSEIDON2_THREADS: u32 = 128;
/// Threads per block of the constraint and lookup interpreters (`quotient_eval`,
/// `logup_fractions`).
pub const INTERPRETER_THREADS: u32 = 128;
/// Threads per block of `opening_dot`: its shared-memory reduction is written for exactly this
/// many (`OPENING_DOT_THREADS` in kernels/prover_params.cuh).
pub const OPENING_DOT_THREADS: u32 = 256;
/// Block of `coset_scatter_tiled`: 32 threads across a 32-word tile row (its transpose needs
/// exactly 32), 8 rows of threads (`SCATTER_TILE_*` in kernels/params.cuh).
pub const SCATTER_TILE_BLOCK: (u32, u32, u32) = (32, 8, 1);
/// The grid's x limit (2^31 - 1 blocks).
pub const MAX_GRID_X: u32 = i32::MAX as u32;
/// Most blocks a grid-stride launch uses in x (the loops cover the rest).
pub const MAX_STRIDE_BLOCKS: usize = 65_535;

/// How a kernel's blocks must be shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelBlock {
    /// Exactly this block (x, y, z), no dynamic shared memory.
    Exact(u32, u32, u32),
    /// `ntt_dif_pass`: x a whole number of warps, x * y at most `max_threads` (its
    /// `__launch_bounds__`), z = 1; dynamic shared memory from the NTT plan, at most the
    /// device's opt-in limit.
    NttPass {
        /// Most threads per block.
        max_threads: u32,
    },
}

impl KernelBlock {
    /// The most threads one block of this kernel may have.
    pub fn max_threads(&self) -> u32 {
        match *self {
            KernelBlock::Exact(x, y, z) => x * y * z,
            KernelBlock::NttPass { max_threads } => max_threads,
        }
    }

    /// The most dynamic shared memory one launch may ask for, on an sm_90 device.
    pub fn max_dynamic_shared_bytes(&self) -> usize {
        match self {
            KernelBlock::Exact(..) => 0,
            // The backend opts a kernel in up to the device's limit (227 KiB on H100 / H200).
            KernelBlock::NttPass { .. } => SM90_SHARED_OPTIN_BYTES,
        }
    }
}

const STRIDE: KernelBlock = KernelBlock::Exact(STRIDE_THREADS, 1, 1);
const POSEIDON2: KernelBlock = KernelBlock::Exact(POSEIDON2_THREADS, 1, 1);
const INTERPRETER: KernelBlock = KernelBlock::Exact(INTERPRETER_THREADS, 1, 1);
const NTT: KernelBlock = KernelBlock::NttPass {
    max_threads: NTT_MAX_THREADS,
};

/// Every entry point the host launches and its block shape.
pub const KERNEL_BLOCKS: &[(&str, KernelBlock)] = &[
    ("fill_u32", STRIDE),
    ("bitrev_rows", STRIDE),
    ("elementwise_kb", STRIDE),
    ("elementwise_bb", STRIDE),
    ("poseidon2_permute_kb", POSEIDON2),
    ("poseidon2_permute_bb", POSEIDON2),
    ("ntt_dif_pass_kb", NTT),
    ("ntt_dif_pass_bb", NTT),
    ("coset_scatter_kb", STRIDE),
    ("coset_scatter_bb", STRIDE),
    (
        "coset_scatter_tiled_kb",
        KernelBlock::Exact(
            SCATTER_TILE_BLOCK.0,
            SCATTER_TILE_BLOCK.1,
            SCATTER_TILE_BLOCK.2,
        ),
    ),
    (
        "coset_scatter_tiled_bb",
        KernelBlock::Exact(
            SCATTER_TILE_BLOCK.0,
            SCATTER_TILE_BLOCK.1,
            SCATTER_TILE_BLOCK.2,
        ),
    ),
    ("merkle_hash_leaves_kb", POSEIDON2),
    ("merkle_hash_leaves_bb", POSEIDON2),
    ("merkle_compress_kb", POSEIDON2),
    ("merkle_compress_bb", POSEIDON2),
    ("gather_rows", STRIDE),
    ("quotient_eval_kb", INTERPRETER),
    ("quotient_eval_bb", INTERPRETER),
    ("quotient_split", STRIDE),
    ("pow_grind_kb", STRIDE),
    ("pow_grind_bb", STRIDE),
    ("fri_fold_kb", STRIDE),
    ("fri_fold_bb", STRIDE),
    ("fri_leaves", STRIDE),
    ("opening_weights_kb", STRIDE),
    ("opening_weights_bb", STRIDE),
    (
        "opening_dot_kb",
        KernelBlock::Exact(OPENING_DOT_THREADS, 1, 1),
    ),
    (
        "opening_dot_bb",
        KernelBlock::Exact(OPENING_DOT_THREADS, 1, 1),
    ),
    ("opening_reduce_kb", STRIDE),
    ("opening_reduce_bb", STRIDE),
    ("logup_fractions_kb", INTERPRETER),
    ("logup_fractions_bb", INTERPRETER),
    (
        "logup_scan_block_kb",
        KernelBlock::Exact(crate::logup::SCAN_THREADS as u32, 1, 1),
    ),
    (
        "logup_scan_block_bb",
        KernelBlock::Exact(crate::logup::SCAN_THREADS as u32, 1, 1),
    ),
    ("logup_scan_add_kb", STRIDE),
    ("logup_scan_add_bb", STRIDE),
    ("logup_accumulator", STRIDE),
];

/// The block shape `kernel` must be launched with.
pub fn kernel_block(kernel: &str) -> Result<KernelBlock> {
    KERNEL_BLOCKS
        .iter()
        .find(|(name, _)| *name == kernel)
        .map(|(_, b)| *b)
        .ok_or_else(|| Error::KernelMissing(kernel.to_string()))
}

/// Refuse a block shape `kernel` is not written for.
pub fn check_block(kernel: &'static str, block: (u32, u32, u32)) -> Result<()> {
    let rule = kernel_block(kernel)?;
    let refuse = |expected: String| {
        Err(Error::LaunchShape {
            kernel,
            block,
            expected,
        })
    };
    match rule {
        KernelBlock::Exact(x, y, z) => {
            if block != (x, y, z) {
                return refuse(format!(
                    "the kernel is written for blocks of ({x}, {y}, {z})"
                ));
            }
        }
        KernelBlock::NttPass { max_threads } => {
            let (x, y, z) = block;
            if x == 0
                || x % 32 != 0
                || y == 0
                || z != 1
                || u64::from(x) * u64::from(y) > u64::from(max_threads)
            {
                return refuse(format!(
                    "whole warps in x, z = 1, at most {max_threads} threads per block"
                ));
            }
        }
    }
    Ok(())
}

/// The launch of a fixed-block kernel over `grid` blocks (its block from [`KERNEL_BLOCKS`]).
pub fn fixed(kernel: &'static str, grid: (u32, u32, u32)) -> Result<LaunchConfig> {
    match kernel_block(kernel)? {
        KernelBlock::Exact(x, y, z) => Ok(LaunchConfig {
            grid_dim: grid,
            block_dim: (x, y, z),
            shared_mem_bytes: 0,
        }),
        KernelBlock::NttPass { .. } => Err(Error::LaunchShape {
            kernel,
            block: (0, 0, 0),
            expected: "an NTT pass takes its block from the plan".into(),
        }),
    }
}

/// The launch of a grid-stride kernel over `work` items: enough blocks for one item per thread,
/// at least one and at most [`MAX_STRIDE_BLOCKS`] (the kernel's loop covers the rest).
pub fn stride(kernel: &'static str, work: usize) -> Result<LaunchConfig> {
    let threads = kernel_block(kernel)?.max_threads() as usize;
    let blocks = work.div_ceil(threads).clamp(1, MAX_STRIDE_BLOCKS) as u32;
    fixed(kernel, (blocks, 1, 1))
}

/// The launch of a kernel that runs one thread per index below `threads` (it returns for
/// indices past the end): `ceil(threads / block)` blocks.
pub fn per_thread(kernel: &'static str, threads: usize) -> Result<LaunchConfig> {
    let block = kernel_block(kernel)?.max_threads() as usize;
    let blocks = u32::try_from(threads.div_ceil(block).max(1))
        .ok()
        .filter(|&b| b <= MAX_GRID_X)
        .ok_or_else(|| {
            Error::InvalidShape(format!(
                "{kernel}: {threads} threads exceed the grid's x limit"
            ))
        })?;
    fixed(kernel, (blocks, 1, 1))
}

/// Refuse a device address a kernel accesses `align` bytes at a time when it is not aligned to
/// that (`uint2`: 8, `uint4`: 16, 64-bit atomics: 8). A null address (an absent optional
/// argument) passes.
pub fn check_aligned(
    kernel: &'static str,
    what: &'static str,
    address: u64,
    align: u64,
) -> Result<()> {
    if address.is_multiple_of(align) {
        Ok(())
    } else {
        Err(Error::Misaligned {
            kernel,
            what,
            address,
            align,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_point_has_exactly_one_block_shape() {
        let mut names: Vec<&str> = KERNEL_BLOCKS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a kernel is listed twice");
        let mut entries = crate::kernels::ENTRY_POINTS.to_vec();
        entries.sort_unstable();
        assert_eq!(names, entries);
    }

    #[test]
    fn other_block_shapes_are_refused() {
        // opening_dot's reduction and the LogUp scan assume their block size exactly.
        assert!(check_block("opening_dot_kb", (256, 1, 1)).is_ok());
        assert!(matches!(
            check_block("opening_dot_kb", (128, 1, 1)),
            Err(Error::LaunchShape {
                kernel: "opening_dot_kb",
                block: (128, 1, 1),
                ..
            })
        ));
        assert!(matches!(
            check_block("logup_scan_block_bb", (512, 1, 1)),
            Err(Error::LaunchShape { .. })
        ));
        assert!(matches!(
            check_block("coset_scatter_tiled_kb", (64, 4, 1)),
            Err(Error::LaunchShape { .. })
        ));
        assert!(matches!(
            check_block("no_such_kernel", (1, 1, 1)),
            Err(Error::KernelMissing(_))
        ));
    }

    #[test]
    fn ntt_blocks_are_whole_warps_within_the_launch_bound() {
        assert!(check_block("ntt_dif_pass_kb", (512, 1, 1)).is_ok());
        assert!(check_block("ntt_dif_pass_kb", (32, 8, 1)).is_ok());
        for bad in [(48, 1, 1), (512, 2, 1), (32, 1, 2), (0, 1, 1), (32, 0, 1)] {
            assert!(
                matches!(
                    check_block("ntt_dif_pass_bb", bad),
                    Err(Error::LaunchShape { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn every_plan_the_host_makes_passes_the_block_check() {
        use crate::plan::{DEFAULT_SHARED_BYTES, NttLimits, plan_dif_passes};
        for limits in [
            NttLimits::DEVICE,
            NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES),
            NttLimits::for_shared_memory(16 * 1024),
            NttLimits::for_shared_memory(1024),
        ] {
            for log_n in 1..=27 {
                for pass in plan_dif_passes(log_n, limits) {
                    check_block("ntt_dif_pass_kb", (pass.threads, pass.tiles_per_block, 1))
                        .unwrap_or_else(|e| panic!("2^{log_n} {limits:?}: {e}"));
                    assert!(
                        pass.shared_bytes()
                            <= KernelBlock::NttPass { max_threads: 0 }.max_dynamic_shared_bytes()
                    );
                }
            }
        }
    }

    #[test]
    fn stride_launches_cover_the_work_with_at_least_one_block() {
        let cfg = stride("fill_u32", 0).unwrap();
        assert_eq!(cfg.grid_dim, (1, 1, 1));
        assert_eq!(cfg.block_dim, (STRIDE_THREADS, 1, 1));
        assert_eq!(stride("fill_u32", 257).unwrap().grid_dim.0, 2);
        assert_eq!(
            stride("fill_u32", usize::MAX / 2).unwrap().grid_dim.0 as usize,
            MAX_STRIDE_BLOCKS
        );
        assert_eq!(
            stride("merkle_compress_kb", 129).unwrap().block_dim,
            (128, 1, 1)
        );
        assert!(stride("ntt_dif_pass_kb", 10).is_err());
        assert_eq!(
            per_thread("quotient_eval_kb", 129).unwrap().grid_dim,
            (2, 1, 1)
        );
        assert_eq!(
            per_thread("quotient_eval_kb", 0).unwrap().grid_dim,
            (1, 1, 1)
        );
        assert!(matches!(
            per_thread("merkle_hash_leaves_kb", usize::MAX),
            Err(Error::InvalidShape(_))
        ));
    }

    /// The block sizes kernels are written for are constants of the kernel headers too; the
    /// headers `static_assert` what the kernels rely on, this checks the values agree.
    #[test]
    fn kernel_header_constants_match_the_host() {
        let params = include_str!("../../../kernels/params.cuh");
        let prover = include_str!("../../../kernels/prover_params.cuh");
        for (header, name, value) in [
            (params, "SCATTER_TILE_X", SCATTER_TILE_BLOCK.0),
            (params, "SCATTER_TILE_Y", SCATTER_TILE_BLOCK.1),
            (prover, "OPENING_DOT_THREADS", OPENING_DOT_THREADS),
            (
                prover,
                "LOGUP_SCAN_THREADS",
                crate::logup::SCAN_THREADS as u32,
            ),
        ] {
            let decl = format!("constexpr uint32_t {name} = {value};");
            assert!(header.contains(&decl), "kernel headers lack `{decl}`");
        }
    }

    #[test]
    fn misaligned_vector_addresses_are_refused() {
        assert!(check_aligned("merkle_compress_kb", "children", 0x7000_0000, 16).is_ok());
        assert!(check_aligned("merkle_compress_kb", "inject", 0, 16).is_ok());
        match check_aligned("merkle_compress_kb", "out", 0x7000_0008, 16) {
            Err(Error::Misaligned {
                what: "out",
                align: 16,
                address: 0x7000_0008,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(check_aligned("ntt_dif_pass_kb", "data", 0x7000_0004, 8).is_err());
    }
}
