// Batched NTT and coset LDE over column-major matrices (column c of a 2^log_n-row matrix starts at
// c * col_stride words).
//
// Forward transform: radix-2 decimation in frequency (Gentleman-Sande). Natural-order input,
// bit-reversed output: after all stages, word p holds sum_i x_i * omega^(i * bitrev(p)).
// That bit-reversed order is exactly the row order TwoAdicFriPcs commits
// (coset_lde_batch(..).bit_reverse_rows()), so the LDE needs no final permutation.
//
// Coset LDE: inverse DIF (bit-reversed coefficients), coset_scatter (bit reversal, coset shift,
// 1/n, and the first log_blowup forward stages folded in as one shift per output block), then a
// size-n DIF of each of the 2^log_blowup blocks.
//
// The stages are grouped into passes; a pass loads a tile of 2^num_stages x 2^log_lanes words
// (stride 2^(stage_hi - num_stages) between the 2^num_stages words of one butterfly group,
// 2^log_lanes neighbouring groups side by side for coalescing) into shared memory, runs its stages
// there and writes the tile back: a 2^24-row transform takes three global passes.
#include "field.cuh"
#include "params.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ void ntt_dif_pass(const NttPassParams& p) {
    extern __shared__ uint32_t tile[];
    const uint32_t s = p.num_stages;
    const uint32_t l = p.log_lanes;
    const uint32_t lo_bits = p.stage_hi - s;
    const uint32_t lanes = 1u << l;
    const uint32_t tile_n = 1u << (s + l);
    const uint32_t lane_blocks_log = lo_bits - l;

    const uint64_t bid = blockIdx.x;
    const uint64_t hi = bid >> lane_blocks_log;
    const uint32_t lane_block = static_cast<uint32_t>(bid & ((1ull << lane_blocks_log) - 1));
    const uint32_t lane_base = lane_block << l;
    const uint64_t base = (hi << p.stage_hi) | lane_base;
    uint32_t* col = reinterpret_cast<uint32_t*>(p.data) + blockIdx.y * p.col_stride;
    const uint32_t* tw = reinterpret_cast<const uint32_t*>(p.twiddles);

    for (uint32_t e = threadIdx.x; e < tile_n; e += blockDim.x) {
        const uint32_t m = e >> l;
        const uint32_t j = e & (lanes - 1);
        tile[e] = col[base + (static_cast<uint64_t>(m) << lo_bits) + j];
    }
    __syncthreads();

    for (uint32_t t = 0; t < s; ++t) {
        const uint32_t half_log = s - 1 - t;
        const uint32_t half = 1u << half_log;
        // This stage pairs global indices i and i + 2^b.
        const uint32_t b = lo_bits + half_log;
        const uint32_t h_mask = (1u << b) - 1;
        const uint32_t tw_shift = p.log_n - b - 1;
        for (uint32_t q = threadIdx.x; q < (tile_n >> 1); q += blockDim.x) {
            const uint32_t j = q & (lanes - 1);
            const uint32_t r = q >> l;
            const uint32_t m0 = ((r >> half_log) << (half_log + 1)) | (r & (half - 1));
            const uint32_t m1 = m0 + half;
            // Twiddle omega_{2^(b+1)}^(i mod 2^b) = tw[(i mod 2^b) << tw_shift].
            const uint32_t k = ((m0 << lo_bits) | lane_base | j) & h_mask;
            const uint32_t w = tw[k << tw_shift];
            const uint32_t i0 = (m0 << l) | j;
            const uint32_t i1 = (m1 << l) | j;
            const uint32_t x = tile[i0];
            const uint32_t y = tile[i1];
            tile[i0] = f_add<F>(x, y);
            tile[i1] = f_mul<F>(f_sub<F>(x, y), w);
        }
        __syncthreads();
    }

    for (uint32_t e = threadIdx.x; e < tile_n; e += blockDim.x) {
        const uint32_t m = e >> l;
        const uint32_t j = e & (lanes - 1);
        col[base + (static_cast<uint64_t>(m) << lo_bits) + j] = tile[e];
    }
}

template <class F>
__device__ void coset_scatter(const CosetScatterParams& p) {
    const uint64_t n = 1ull << p.log_n;
    const uint64_t big_n = n << p.log_blowup;
    const uint32_t* src = reinterpret_cast<const uint32_t*>(p.src) + blockIdx.y * n;
    uint32_t* dst = reinterpret_cast<uint32_t*>(p.dst) + blockIdx.y * big_n;
    const uint32_t* pow_lo = reinterpret_cast<const uint32_t*>(p.pow_lo);
    const uint32_t* pow_hi = reinterpret_cast<const uint32_t*>(p.pow_hi);
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < big_n;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const uint32_t t = static_cast<uint32_t>(i >> p.log_n);
        const uint32_t j = static_cast<uint32_t>(i & (n - 1));
        const uint32_t c = src[reverse_bits(j, p.log_n)];
        const uint32_t lo = pow_lo[t * 4096u + (j & 4095u)];
        const uint32_t hi = pow_hi[t * p.hi_len + (j >> 12)];
        dst[i] = f_mul<F>(c, f_mul<F>(lo, hi));
    }
}

// The same map as coset_scatter for log_n >= 10, with coalesced reads and writes: block m
// (of 2^(log_n-10)) reads the 32 x 32 words src[a * 2^(log_n-5) + m * 32 + b] (b contiguous)
// into shared memory; since bitrev(A * 2^(log_n-5) + bitrev(m) * 32 + B) =
// bitrev5(B) * 2^(log_n-5) + m * 32 + bitrev5(A), output word j = A * 2^(log_n-5) +
// bitrev(m) * 32 + B takes tile[bitrev5(B)][bitrev5(A)], B contiguous across the warp.
// Block shape 32 x 8; the tile row pitch 33 keeps the transposed reads free of bank conflicts.
template <class F>
__device__ void coset_scatter_tiled(const CosetScatterParams& p) {
    __shared__ uint32_t tile[32][33];
    const uint32_t log_n = p.log_n;
    const uint64_t n = 1ull << log_n;
    const uint64_t big_n = n << p.log_blowup;
    const uint32_t* src = reinterpret_cast<const uint32_t*>(p.src) + blockIdx.y * n;
    uint32_t* dst = reinterpret_cast<uint32_t*>(p.dst) + blockIdx.y * big_n;
    const uint32_t* pow_lo = reinterpret_cast<const uint32_t*>(p.pow_lo);
    const uint32_t* pow_hi = reinterpret_cast<const uint32_t*>(p.pow_hi);
    const uint32_t m = blockIdx.x;
    const uint32_t row_shift = log_n - 5;
    const uint32_t tx = threadIdx.x;

    for (uint32_t a = threadIdx.y; a < 32; a += blockDim.y) {
        tile[a][tx] = src[(static_cast<uint64_t>(a) << row_shift) + (m << 5) + tx];
    }
    __syncthreads();

    const uint32_t m_rev = reverse_bits(m, log_n - 10);
    const uint32_t blocks = 1u << p.log_blowup;
    for (uint32_t A = threadIdx.y; A < 32; A += blockDim.y) {
        const uint32_t c = tile[reverse_bits(tx, 5)][reverse_bits(A, 5)];
        const uint32_t j = (A << row_shift) + (m_rev << 5) + tx;
        for (uint32_t t = 0; t < blocks; ++t) {
            const uint32_t lo = pow_lo[t * 4096u + (j & 4095u)];
            const uint32_t hi = pow_hi[t * p.hi_len + (j >> 12)];
            dst[static_cast<uint64_t>(t) * n + j] = f_mul<F>(c, f_mul<F>(lo, hi));
        }
    }
}

}  // namespace

#define SLOTPROOF_NTT(suffix, Field)                                                              \
    extern "C" __global__ void __launch_bounds__(256) ntt_dif_pass_##suffix(const NttPassParams p) { \
        ntt_dif_pass<Field>(p);                                                                   \
    }                                                                                             \
    extern "C" __global__ void coset_scatter_##suffix(const CosetScatterParams p) {               \
        coset_scatter<Field>(p);                                                                  \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(256)                                             \
        coset_scatter_tiled_##suffix(const CosetScatterParams p) {                                \
        coset_scatter_tiled<Field>(p);                                                            \
    }

SLOTPROOF_NTT(kb, KoalaBear)
SLOTPROOF_NTT(bb, BabyBear)
