//! `#[repr(C)]` twins of the structures in `kernels/params.cuh`, passed by value to kernels.
//!
//! The CUDA side pins sizes and field offsets with `static_assert`; the tests at the bottom of
//! this file assert the same numbers with `offset_of!`, so the two declarations cannot drift
//! apart silently. Device pointers travel as `u64` (`CUdeviceptr`).

use cudarc::driver::DeviceRepr;

/// Width of the Poseidon2 permutation used by the Merkle trees.
pub const P2_WIDTH: usize = 16;
/// Full rounds at each end.
pub const P2_HALF_FULL_ROUNDS: usize = 4;
/// Capacity of the partial-round constant array (KoalaBear uses 20, BabyBear 13).
pub const P2_MAX_PARTIAL_ROUNDS: usize = 24;

/// See `NttPassParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NttPassParams {
    pub data: u64,
    pub twiddles: u64,
    pub col_stride: u64,
    pub log_n: u32,
    pub num_cols: u32,
    pub stage_hi: u32,
    pub num_stages: u32,
    pub log_lanes: u32,
    pub warp_stages: u32,
    pub log_regs: u32,
    pub _pad: u32,
}

/// See `CosetScatterParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CosetScatterParams {
    pub src: u64,
    pub dst: u64,
    pub pow_lo: u64,
    pub pow_hi: u64,
    pub log_n: u32,
    pub log_blowup: u32,
    pub num_cols: u32,
    pub hi_len: u32,
}

/// See `MatrixDesc` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatrixDesc {
    pub data: u64,
    pub col_stride: u64,
    pub width: u32,
    pub _pad: u32,
}

/// See `LeafHashParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeafHashParams {
    pub mats: u64,
    pub out: u64,
    pub num_mats: u32,
    pub num_rows: u32,
}

/// See `CompressParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompressParams {
    pub children: u64,
    pub inject: u64,
    pub out: u64,
    pub num_nodes: u32,
    pub _pad: u32,
}

/// See `GatherRowsParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatherRowsParams {
    pub data: u64,
    pub col_stride: u64,
    pub rows: u64,
    pub out: u64,
    pub width: u32,
    pub num_queries: u32,
}

/// See `PermuteParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PermuteParams {
    pub input: u64,
    pub out: u64,
    pub num_states: u32,
    pub _pad: u32,
}

/// See `FillParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillParams {
    pub dst: u64,
    pub n: u64,
    pub value: u32,
    pub _pad: u32,
}

/// See `BitrevRowsParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BitrevRowsParams {
    pub input: u64,
    pub in_stride: u64,
    pub out: u64,
    pub log_n: u32,
    pub width: u32,
}

/// See `ElementwiseParams` in params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ElementwiseParams {
    pub a: u64,
    pub b: u64,
    pub out: u64,
    pub n: u32,
    pub op: u32,
}

/// Operation codes of the `elementwise_*` test kernels.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementwiseOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Halve = 3,
    Sbox = 4,
    ExtAdd = 5,
    ExtSub = 6,
    ExtMul = 7,
}

impl ElementwiseOp {
    /// Whether the operation works on degree-4 extension elements (4 words each).
    pub fn is_extension(self) -> bool {
        matches!(self, Self::ExtAdd | Self::ExtSub | Self::ExtMul)
    }
}

/// See `Poseidon2Constants` in params.cuh. All words are Montgomery-form field elements.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poseidon2Constants {
    pub external_initial: [[u32; P2_WIDTH]; P2_HALF_FULL_ROUNDS],
    pub external_terminal: [[u32; P2_WIDTH]; P2_HALF_FULL_ROUNDS],
    pub internal: [u32; P2_MAX_PARTIAL_ROUNDS],
    pub diag: [u32; P2_WIDTH],
}

// SAFETY: all of these are plain-old-data #[repr(C)] structs whose layout matches params.cuh
// (checked by the tests below and by static_assert on the CUDA side).
unsafe impl DeviceRepr for NttPassParams {}
unsafe impl DeviceRepr for CosetScatterParams {}
unsafe impl DeviceRepr for MatrixDesc {}
unsafe impl DeviceRepr for LeafHashParams {}
unsafe impl DeviceRepr for CompressParams {}
unsafe impl DeviceRepr for PermuteParams {}
unsafe impl DeviceRepr for GatherRowsParams {}
unsafe impl DeviceRepr for FillParams {}
unsafe impl DeviceRepr for BitrevRowsParams {}
unsafe impl DeviceRepr for ElementwiseParams {}
unsafe impl DeviceRepr for Poseidon2Constants {}

/// A by-value kernel argument (object-safe wrapper over cudarc's `PushKernelArg`).
pub(crate) trait DeviceReprArg {
    fn push_to<'a>(&'a self, builder: &mut cudarc::driver::LaunchArgs<'a>);
}

impl<T: DeviceRepr> DeviceReprArg for T {
    fn push_to<'a>(&'a self, builder: &mut cudarc::driver::LaunchArgs<'a>) {
        use cudarc::driver::PushKernelArg;
        builder.arg(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    // The numbers below are the ones in the static_asserts of kernels/params.cuh.

    #[test]
    fn ntt_pass_params_layout() {
        assert_eq!(size_of::<NttPassParams>(), 56);
        assert_eq!(align_of::<NttPassParams>(), 8);
        assert_eq!(offset_of!(NttPassParams, data), 0);
        assert_eq!(offset_of!(NttPassParams, twiddles), 8);
        assert_eq!(offset_of!(NttPassParams, col_stride), 16);
        assert_eq!(offset_of!(NttPassParams, log_n), 24);
        assert_eq!(offset_of!(NttPassParams, num_cols), 28);
        assert_eq!(offset_of!(NttPassParams, stage_hi), 32);
        assert_eq!(offset_of!(NttPassParams, num_stages), 36);
        assert_eq!(offset_of!(NttPassParams, log_lanes), 40);
        assert_eq!(offset_of!(NttPassParams, warp_stages), 44);
        assert_eq!(offset_of!(NttPassParams, log_regs), 48);
    }

    #[test]
    fn coset_scatter_params_layout() {
        assert_eq!(size_of::<CosetScatterParams>(), 48);
        assert_eq!(align_of::<CosetScatterParams>(), 8);
        assert_eq!(offset_of!(CosetScatterParams, src), 0);
        assert_eq!(offset_of!(CosetScatterParams, dst), 8);
        assert_eq!(offset_of!(CosetScatterParams, pow_lo), 16);
        assert_eq!(offset_of!(CosetScatterParams, pow_hi), 24);
        assert_eq!(offset_of!(CosetScatterParams, log_n), 32);
        assert_eq!(offset_of!(CosetScatterParams, log_blowup), 36);
        assert_eq!(offset_of!(CosetScatterParams, num_cols), 40);
        assert_eq!(offset_of!(CosetScatterParams, hi_len), 44);
    }

    #[test]
    fn merkle_params_layout() {
        assert_eq!(size_of::<MatrixDesc>(), 24);
        assert_eq!(align_of::<MatrixDesc>(), 8);
        assert_eq!(offset_of!(MatrixDesc, data), 0);
        assert_eq!(offset_of!(MatrixDesc, col_stride), 8);
        assert_eq!(offset_of!(MatrixDesc, width), 16);

        assert_eq!(size_of::<LeafHashParams>(), 24);
        assert_eq!(align_of::<LeafHashParams>(), 8);
        assert_eq!(offset_of!(LeafHashParams, mats), 0);
        assert_eq!(offset_of!(LeafHashParams, out), 8);
        assert_eq!(offset_of!(LeafHashParams, num_mats), 16);
        assert_eq!(offset_of!(LeafHashParams, num_rows), 20);

        assert_eq!(size_of::<CompressParams>(), 32);
        assert_eq!(align_of::<CompressParams>(), 8);
        assert_eq!(offset_of!(CompressParams, children), 0);
        assert_eq!(offset_of!(CompressParams, inject), 8);
        assert_eq!(offset_of!(CompressParams, out), 16);
        assert_eq!(offset_of!(CompressParams, num_nodes), 24);
    }

    #[test]
    fn gather_rows_params_layout() {
        assert_eq!(size_of::<GatherRowsParams>(), 40);
        assert_eq!(align_of::<GatherRowsParams>(), 8);
        assert_eq!(offset_of!(GatherRowsParams, data), 0);
        assert_eq!(offset_of!(GatherRowsParams, col_stride), 8);
        assert_eq!(offset_of!(GatherRowsParams, rows), 16);
        assert_eq!(offset_of!(GatherRowsParams, out), 24);
        assert_eq!(offset_of!(GatherRowsParams, width), 32);
        assert_eq!(offset_of!(GatherRowsParams, num_queries), 36);
    }

    #[test]
    fn test_kernel_params_layout() {
        assert_eq!(size_of::<PermuteParams>(), 24);
        assert_eq!(align_of::<PermuteParams>(), 8);
        assert_eq!(offset_of!(PermuteParams, input), 0);
        assert_eq!(offset_of!(PermuteParams, out), 8);
        assert_eq!(offset_of!(PermuteParams, num_states), 16);

        assert_eq!(size_of::<FillParams>(), 24);
        assert_eq!(align_of::<FillParams>(), 8);
        assert_eq!(offset_of!(FillParams, dst), 0);
        assert_eq!(offset_of!(FillParams, n), 8);
        assert_eq!(offset_of!(FillParams, value), 16);

        assert_eq!(size_of::<BitrevRowsParams>(), 32);
        assert_eq!(align_of::<BitrevRowsParams>(), 8);
        assert_eq!(offset_of!(BitrevRowsParams, in_stride), 8);
        assert_eq!(offset_of!(BitrevRowsParams, out), 16);
        assert_eq!(offset_of!(BitrevRowsParams, log_n), 24);
        assert_eq!(offset_of!(BitrevRowsParams, width), 28);

        assert_eq!(size_of::<ElementwiseParams>(), 32);
        assert_eq!(align_of::<ElementwiseParams>(), 8);
        assert_eq!(offset_of!(ElementwiseParams, a), 0);
        assert_eq!(offset_of!(ElementwiseParams, b), 8);
        assert_eq!(offset_of!(ElementwiseParams, out), 16);
        assert_eq!(offset_of!(ElementwiseParams, n), 24);
        assert_eq!(offset_of!(ElementwiseParams, op), 28);
    }

    #[test]
    fn poseidon2_constants_layout() {
        assert_eq!(size_of::<Poseidon2Constants>(), 4 * (2 * 4 * 16 + 24 + 16));
        assert_eq!(align_of::<Poseidon2Constants>(), 4);
        assert_eq!(offset_of!(Poseidon2Constants, external_initial), 0);
        assert_eq!(offset_of!(Poseidon2Constants, external_terminal), 256);
        assert_eq!(offset_of!(Poseidon2Constants, internal), 512);
        assert_eq!(offset_of!(Poseidon2Constants, diag), 608);
        // The kernel parameter space holds at most 4 KiB per launch (before CUDA 12.1 drivers):
        // the constants plus the largest params struct must fit.
        assert!(size_of::<Poseidon2Constants>() + size_of::<NttPassParams>() <= 4096);
    }

    /// The header must contain the same numbers as this file: read params.cuh and check that each
    /// static_assert about a size or offset appears with the value asserted above.
    #[test]
    fn params_header_matches() {
        let header = include_str!("../../../kernels/params.cuh");
        for expr in [
            "sizeof(NttPassParams) == 56",
            "offsetof(NttPassParams, log_lanes) == 40",
            "offsetof(NttPassParams, warp_stages) == 44",
            "offsetof(NttPassParams, log_regs) == 48",
            "sizeof(CosetScatterParams) == 48",
            "offsetof(CosetScatterParams, num_cols) == 40",
            "offsetof(CosetScatterParams, hi_len) == 44",
            "sizeof(MatrixDesc) == 24",
            "offsetof(MatrixDesc, width) == 16",
            "sizeof(LeafHashParams) == 24",
            "offsetof(LeafHashParams, num_rows) == 20",
            "sizeof(CompressParams) == 32",
            "offsetof(CompressParams, num_nodes) == 24",
            "sizeof(GatherRowsParams) == 40",
            "offsetof(GatherRowsParams, num_queries) == 36",
            "sizeof(PermuteParams) == 24",
            "sizeof(FillParams) == 24",
            "offsetof(FillParams, value) == 16",
            "sizeof(BitrevRowsParams) == 32",
            "offsetof(BitrevRowsParams, in_stride) == 8",
            "offsetof(BitrevRowsParams, out) == 16",
            "offsetof(BitrevRowsParams, log_n) == 24",
            "offsetof(BitrevRowsParams, width) == 28",
            "sizeof(ElementwiseParams) == 32",
            "offsetof(ElementwiseParams, op) == 28",
            "offsetof(Poseidon2Constants, diag) == 608",
            "constexpr int P2_MAX_PARTIAL_ROUNDS = 24;",
        ] {
            assert!(header.contains(expr), "params.cuh lacks `{expr}`");
        }
    }
}
