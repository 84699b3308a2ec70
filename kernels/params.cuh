// Structures passed by value from Rust to the kernels. Each has a #[repr(C)] twin in
// crates/cuda/src/abi.rs; the static_asserts here and the offset_of! asserts there use the same
// numbers, so a layout change on either side fails to compile (CUDA) or fails a test (Rust).
//
// Device pointers are carried as uint64_t (the Rust side holds CUdeviceptr = u64).
#pragma once

#include <cstddef>
#include <cstdint>

namespace slotproof {

// One pass of a radix-2 decimation-in-frequency NTT over `num_cols` columns, each of
// 2^log_n elements, stored column-major (column c starts at data + c * col_stride).
// The pass performs `num_stages` butterfly stages whose half-sizes go from 2^(stage_hi-1) down to
// 2^(stage_hi-num_stages): the first num_stages - warp_stages in shared memory (2^(num_stages +
// log_lanes) words of dynamic shared memory), the last `warp_stages` in registers, 2^log_regs
// words per thread, exchanged with warp shuffles (warp_stages = 0: none; otherwise
// warp_stages = 5 + log_regs - log_lanes). `log_lanes` is log2 of how many neighbouring low
// indices one block keeps in its tile (for coalescing).
struct NttPassParams {
    uint64_t data;      // uint32_t*, in/out
    uint64_t twiddles;  // const uint32_t*, tw[k] = omega_{2^log_n}^k for k < 2^(log_n-1)
    uint64_t col_stride;
    uint32_t log_n;
    uint32_t num_cols;
    uint32_t stage_hi;
    uint32_t num_stages;
    uint32_t log_lanes;
    uint32_t warp_stages;
    uint32_t log_regs;  // 0..3
    uint32_t _pad;
};
static_assert(sizeof(NttPassParams) == 56, "NttPassParams size");
static_assert(alignof(NttPassParams) == 8, "NttPassParams align");
static_assert(offsetof(NttPassParams, data) == 0, "NttPassParams.data");
static_assert(offsetof(NttPassParams, twiddles) == 8, "NttPassParams.twiddles");
static_assert(offsetof(NttPassParams, col_stride) == 16, "NttPassParams.col_stride");
static_assert(offsetof(NttPassParams, log_n) == 24, "NttPassParams.log_n");
static_assert(offsetof(NttPassParams, num_cols) == 28, "NttPassParams.num_cols");
static_assert(offsetof(NttPassParams, stage_hi) == 32, "NttPassParams.stage_hi");
static_assert(offsetof(NttPassParams, num_stages) == 36, "NttPassParams.num_stages");
static_assert(offsetof(NttPassParams, log_lanes) == 40, "NttPassParams.log_lanes");
static_assert(offsetof(NttPassParams, warp_stages) == 44, "NttPassParams.warp_stages");
static_assert(offsetof(NttPassParams, log_regs) == 48, "NttPassParams.log_regs");

// The step of a coset LDE between the inverse and the forward transform. With N = n << B
// (B = log_blowup), output block t (words [t*n, (t+1)*n) of each column) is
//   dst[t*n + j] = src[bitrev_{log_n}(j)] * (shift * omega_N^bitrev_B(t))^j / n,   j < n.
// A size-n DIF of every block then gives the size-N DIF of the zero-padded coefficients, i.e. the
// first B stages of the big transform are folded into this step (no zero padding is written).
// Per block t: (shift_t)^j / n = pow_lo[t*4096 + (j & 4095)] * pow_hi[t*hi_len + (j >> 12)].
struct CosetScatterParams {
    uint64_t src;     // const uint32_t*, column-major, col_stride 2^log_n
    uint64_t dst;     // uint32_t*, column-major, col_stride 2^(log_n + log_blowup)
    uint64_t pow_lo;  // const uint32_t*, 2^log_blowup x 4096 entries
    uint64_t pow_hi;  // const uint32_t*, 2^log_blowup x hi_len entries
    uint32_t log_n;
    uint32_t log_blowup;
    uint32_t num_cols;
    uint32_t hi_len;  // ceil(n / 4096)
};
// coset_scatter_tiled's block: SCATTER_TILE_X threads across a row of its 32 x 33 tile (the
// transpose reverses 5 index bits, so exactly 32), SCATTER_TILE_Y rows of threads. The host
// launches exactly this block (crates/cuda/src/launch.rs, SCATTER_TILE_BLOCK).
constexpr uint32_t SCATTER_TILE_X = 32;
constexpr uint32_t SCATTER_TILE_Y = 8;
static_assert(SCATTER_TILE_X == 32, "the tiled scatter's transpose is 32 words wide");
static_assert(SCATTER_TILE_Y >= 1 && SCATTER_TILE_Y <= 32 && (32 % SCATTER_TILE_Y) == 0,
              "the tiled scatter's row loops step by SCATTER_TILE_Y over 32 rows");
static_assert(sizeof(CosetScatterParams) == 48, "CosetScatterParams size");
static_assert(alignof(CosetScatterParams) == 8, "CosetScatterParams align");
static_assert(offsetof(CosetScatterParams, src) == 0, "CosetScatterParams.src");
static_assert(offsetof(CosetScatterParams, dst) == 8, "CosetScatterParams.dst");
static_assert(offsetof(CosetScatterParams, pow_lo) == 16, "CosetScatterParams.pow_lo");
static_assert(offsetof(CosetScatterParams, pow_hi) == 24, "CosetScatterParams.pow_hi");
static_assert(offsetof(CosetScatterParams, log_n) == 32, "CosetScatterParams.log_n");
static_assert(offsetof(CosetScatterParams, log_blowup) == 36, "CosetScatterParams.log_blowup");
static_assert(offsetof(CosetScatterParams, num_cols) == 40, "CosetScatterParams.num_cols");
static_assert(offsetof(CosetScatterParams, hi_len) == 44, "CosetScatterParams.hi_len");

// One matrix taking part in a leaf hash: column-major, `width` columns of `col_stride` words.
struct MatrixDesc {
    uint64_t data;  // const uint32_t*
    uint64_t col_stride;
    uint32_t width;
    uint32_t _pad;
};
static_assert(sizeof(MatrixDesc) == 24, "MatrixDesc size");
static_assert(alignof(MatrixDesc) == 8, "MatrixDesc align");
static_assert(offsetof(MatrixDesc, data) == 0, "MatrixDesc.data");
static_assert(offsetof(MatrixDesc, col_stride) == 8, "MatrixDesc.col_stride");
static_assert(offsetof(MatrixDesc, width) == 16, "MatrixDesc.width");

// Hash `num_rows` rows: row r is the concatenation of row r of every matrix in `mats`
// (in order), absorbed by PaddingFreeSponge<Poseidon2-16, rate 8, out 8>. Digest r goes to
// out[8r .. 8r+8].
struct LeafHashParams {
    uint64_t mats;  // const MatrixDesc*, num_mats entries (device memory)
    uint64_t out;   // uint32_t*
    uint32_t num_mats;
    uint32_t num_rows;
};
static_assert(sizeof(LeafHashParams) == 24, "LeafHashParams size");
static_assert(alignof(LeafHashParams) == 8, "LeafHashParams align");
static_assert(offsetof(LeafHashParams, mats) == 0, "LeafHashParams.mats");
static_assert(offsetof(LeafHashParams, out) == 8, "LeafHashParams.out");
static_assert(offsetof(LeafHashParams, num_mats) == 16, "LeafHashParams.num_mats");
static_assert(offsetof(LeafHashParams, num_rows) == 20, "LeafHashParams.num_rows");

// One layer of 2-to-1 compression: out[i] = C(children[2i], children[2i+1]), and when `inject`
// is non-zero, out[i] = C(out[i], inject[i]) (a shorter matrix's row digest, as
// MerkleTreeMmcs injects it). Digests are 8 words.
struct CompressParams {
    uint64_t children;  // const uint32_t*, 2 * num_nodes digests
    uint64_t inject;    // const uint32_t* or 0
    uint64_t out;       // uint32_t*, num_nodes digests
    uint32_t num_nodes;
    uint32_t _pad;
};
static_assert(sizeof(CompressParams) == 32, "CompressParams size");
static_assert(alignof(CompressParams) == 8, "CompressParams align");
static_assert(offsetof(CompressParams, children) == 0, "CompressParams.children");
static_assert(offsetof(CompressParams, inject) == 8, "CompressParams.inject");
static_assert(offsetof(CompressParams, out) == 16, "CompressParams.out");
static_assert(offsetof(CompressParams, num_nodes) == 24, "CompressParams.num_nodes");

// Poseidon2 width-16 round constants and internal diagonal, all in Montgomery form, built on the
// host from Plonky3's default constants. Passed by value (it lives in the constant bank).
// The internal linear layer is  s_i <- sum(s) + diag[i] * s_i  (p3's 1 + Diag(V), V = diag).
constexpr int P2_WIDTH = 16;
constexpr int P2_HALF_FULL_ROUNDS = 4;
constexpr int P2_MAX_PARTIAL_ROUNDS = 24;
struct Poseidon2Constants {
    uint32_t external_initial[P2_HALF_FULL_ROUNDS][P2_WIDTH];
    uint32_t external_terminal[P2_HALF_FULL_ROUNDS][P2_WIDTH];
    uint32_t internal[P2_MAX_PARTIAL_ROUNDS];
    uint32_t diag[P2_WIDTH];
};
static_assert(sizeof(Poseidon2Constants) == 4 * (2 * 4 * 16 + 24 + 16), "Poseidon2Constants size");
static_assert(alignof(Poseidon2Constants) == 4, "Poseidon2Constants align");
static_assert(offsetof(Poseidon2Constants, external_terminal) == 256, "Poseidon2Constants.external_terminal");
static_assert(offsetof(Poseidon2Constants, internal) == 512, "Poseidon2Constants.internal");
static_assert(offsetof(Poseidon2Constants, diag) == 608, "Poseidon2Constants.diag");

// Gather rows of one column-major matrix for openings: out[q * width + c] =
// data[c * col_stride + rows[q]] for q < num_queries, c < width.
struct GatherRowsParams {
    uint64_t data;  // const uint32_t*
    uint64_t col_stride;
    uint64_t rows;  // const uint32_t*, num_queries row indices (< col_stride)
    uint64_t out;   // uint32_t*, num_queries * width words
    uint32_t width;
    uint32_t num_queries;
};
static_assert(sizeof(GatherRowsParams) == 40, "GatherRowsParams size");
static_assert(alignof(GatherRowsParams) == 8, "GatherRowsParams align");
static_assert(offsetof(GatherRowsParams, data) == 0, "GatherRowsParams.data");
static_assert(offsetof(GatherRowsParams, col_stride) == 8, "GatherRowsParams.col_stride");
static_assert(offsetof(GatherRowsParams, rows) == 16, "GatherRowsParams.rows");
static_assert(offsetof(GatherRowsParams, out) == 24, "GatherRowsParams.out");
static_assert(offsetof(GatherRowsParams, width) == 32, "GatherRowsParams.width");
static_assert(offsetof(GatherRowsParams, num_queries) == 36, "GatherRowsParams.num_queries");

// A batch of Poseidon2 permutations: state k is words [16k, 16k+16) of `input`, written to the
// same place in `out` (which may equal `input`).
struct PermuteParams {
    uint64_t input;
    uint64_t out;
    uint32_t num_states;
    uint32_t _pad;
};
static_assert(sizeof(PermuteParams) == 24, "PermuteParams size");
static_assert(alignof(PermuteParams) == 8, "PermuteParams align");
static_assert(offsetof(PermuteParams, input) == 0, "PermuteParams.input");
static_assert(offsetof(PermuteParams, out) == 8, "PermuteParams.out");
static_assert(offsetof(PermuteParams, num_states) == 16, "PermuteParams.num_states");

// Fill `n` words at `dst` with `value` (used to poison buffers before a kernel writes them).
struct FillParams {
    uint64_t dst;
    uint64_t n;
    uint32_t value;
    uint32_t _pad;
};
static_assert(sizeof(FillParams) == 24, "FillParams size");
static_assert(alignof(FillParams) == 8, "FillParams align");
static_assert(offsetof(FillParams, dst) == 0, "FillParams.dst");
static_assert(offsetof(FillParams, n) == 8, "FillParams.n");
static_assert(offsetof(FillParams, value) == 16, "FillParams.value");

// Bit-reverse the rows of a column-major matrix: out[c * 2^log_n + bitrev(r)] = in[c * in_stride
// + r] for the first 2^log_n rows of each of `width` columns (the input may be taller).
struct BitrevRowsParams {
    uint64_t input;
    uint64_t in_stride;
    uint64_t out;
    uint32_t log_n;
    uint32_t width;
};
static_assert(sizeof(BitrevRowsParams) == 32, "BitrevRowsParams size");
static_assert(alignof(BitrevRowsParams) == 8, "BitrevRowsParams align");
static_assert(offsetof(BitrevRowsParams, in_stride) == 8, "BitrevRowsParams.in_stride");
static_assert(offsetof(BitrevRowsParams, out) == 16, "BitrevRowsParams.out");
static_assert(offsetof(BitrevRowsParams, log_n) == 24, "BitrevRowsParams.log_n");
static_assert(offsetof(BitrevRowsParams, width) == 28, "BitrevRowsParams.width");

// Element-wise test kernels for the field headers: out[i] = op(a[i], b[i]) over n elements
// (n base elements, or n extension elements of 4 words for the ext ops).
struct ElementwiseParams {
    uint64_t a;
    uint64_t b;
    uint64_t out;
    uint32_t n;
    uint32_t op;  // 0 add, 1 sub, 2 mul, 3 halve(a), 4 sbox(a), 5 ext add, 6 ext sub, 7 ext mul
};
static_assert(sizeof(ElementwiseParams) == 32, "ElementwiseParams size");
static_assert(alignof(ElementwiseParams) == 8, "ElementwiseParams align");
static_assert(offsetof(ElementwiseParams, a) == 0, "ElementwiseParams.a");
static_assert(offsetof(ElementwiseParams, b) == 8, "ElementwiseParams.b");
static_assert(offsetof(ElementwiseParams, out) == 16, "ElementwiseParams.out");
static_assert(offsetof(ElementwiseParams, n) == 24, "ElementwiseParams.n");
static_assert(offsetof(ElementwiseParams, op) == 28, "ElementwiseParams.op");

}  // namespace slotproof
