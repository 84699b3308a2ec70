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
// The stages are grouped into passes (crates/cuda/src/plan.rs picks them from the device's
// shared-memory limit; 2^24 rows take two passes on sm_90 with opt-in shared memory). A pass
// loads a tile of 2^num_stages x 2^log_lanes words (stride 2^(stage_hi - num_stages) between the
// 2^num_stages words of one butterfly group, 2^log_lanes neighbouring groups side by side for
// coalescing) into shared memory and runs its first stages there. Its last `warp_stages` stages
// (the smallest strides) run in registers: each warp takes chunks of 2^(5 + LOG_REGS) tile words,
// word (i << 5) | lane of a chunk in register i of that lane, so a butterfly whose tile bit is
// >= 5 pairs two registers of one thread and one whose tile bit is < 5 pairs two lanes
// (__shfl_xor_sync), with no shared memory and no __syncthreads; with two or more registers a
// lane-bit stage swaps that lane bit with register bit 0 so that every lane still does whole
// butterflies. The results go straight from registers to global memory.
#include "field.cuh"
#include "params.cuh"

using namespace slotproof;

namespace {

constexpr uint32_t FULL_WARP = 0xffffffffu;

// Where a pass's block sits in the column, and its tile shape.
struct PassGeometry {
    uint32_t l;          // log_lanes
    uint32_t lane_mask;  // 2^l - 1
    uint32_t lo_bits;    // stage_hi - num_stages: stride log of the tile rows
    uint32_t lane_base;  // first low index of this block's lanes
    uint64_t base;       // global index of tile word 0
};

__device__ __forceinline__ PassGeometry pass_geometry(const NttPassParams& p) {
    PassGeometry g;
    g.l = p.log_lanes;
    g.lane_mask = (1u << g.l) - 1;
    g.lo_bits = p.stage_hi - p.num_stages;
    const uint32_t lane_blocks_log = g.lo_bits - g.l;
    // blockDim.y tiles per block (small tiles share a block, see NttPass::tiles_per_block).
    const uint64_t bid = static_cast<uint64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
    const uint64_t hi = bid >> lane_blocks_log;
    const uint32_t lane_block = static_cast<uint32_t>(bid & ((1ull << lane_blocks_log) - 1));
    g.lane_base = lane_block << g.l;
    g.base = (hi << p.stage_hi) | g.lane_base;
    return g;
}

// Global index (within the column) of tile word e.
__device__ __forceinline__ uint64_t tile_to_global(const PassGeometry& g, uint32_t e) {
    return g.base + (static_cast<uint64_t>(e >> g.l) << g.lo_bits) + (e & g.lane_mask);
}

// Twiddle index of the butterfly whose lower tile word is e0, at a stage pairing global indices
// 2^b apart: omega_{2^(b+1)}^(i mod 2^b) = tw[(i mod 2^b) << (log_n - b - 1)].
__device__ __forceinline__ uint32_t twiddle_index(const PassGeometry& g, uint32_t e0, uint32_t b,
                                                  uint32_t log_n) {
    const uint32_t k = (((e0 >> g.l) << g.lo_bits) | g.lane_base | (e0 & g.lane_mask)) & ((1u << b) - 1);
    return k << (log_n - b - 1);
}

// The warp phase: the last 5 + LOG_REGS - l stages of the pass, tile bits l .. 4 + LOG_REGS.
template <class F, uint32_t LOG_REGS>
__device__ __forceinline__ void dif_warp_stages(const NttPassParams& p, const PassGeometry& g,
                                                const uint32_t* tile, uint32_t* col,
                                                const uint32_t* tw) {
    constexpr uint32_t REGS = 1u << LOG_REGS;
    constexpr uint32_t CHUNK_LOG = 5 + LOG_REGS;
    const uint32_t lane = threadIdx.x & 31u;
    const uint32_t num_chunks = (1u << (p.num_stages + g.l)) >> CHUNK_LOG;
    for (uint32_t chunk = threadIdx.x >> 5; chunk < num_chunks; chunk += blockDim.x >> 5) {
        const uint32_t chunk_base = chunk << CHUNK_LOG;
        uint32_t v[REGS];
#pragma unroll
        for (uint32_t i = 0; i < REGS; ++i) v[i] = tile[chunk_base | (i << 5) | lane];

        // Register stages: tile bit 5 + rb pairs registers i0 and i0 | 2^rb of one thread.
        if constexpr (LOG_REGS > 0) {
#pragma unroll
            for (uint32_t t = 0; t < LOG_REGS; ++t) {
                const uint32_t rb = LOG_REGS - 1 - t;
                const uint32_t b = g.lo_bits + 5 + rb - g.l;
#pragma unroll
                for (uint32_t q = 0; q < REGS / 2; ++q) {
                    const uint32_t i0 = ((q >> rb) << (rb + 1)) | (q & ((1u << rb) - 1));
                    const uint32_t i1 = i0 | (1u << rb);
                    const uint32_t w = tw[twiddle_index(g, chunk_base | (i0 << 5) | lane, b, p.log_n)];
                    const uint32_t x = v[i0];
                    const uint32_t y = v[i1];
                    v[i0] = f_add<F>(x, y);
                    v[i1] = f_mul<F>(f_sub<F>(x, y), w);
                }
            }
        }

        if constexpr (LOG_REGS == 0) {
            // Shuffle stages, one word per lane: tile bit beta < 5 pairs lane and lane ^ 2^beta.
            // The lower lane keeps x + y, the upper one (x - y) * w. The twiddle depends only on
            // the tile bits below beta, i.e. on the lane: one load per stage, by the upper lanes.
            for (uint32_t beta = 5; beta-- > g.l;) {
                const uint32_t bit = 1u << beta;
                const bool upper = (lane & bit) != 0;
                const uint32_t b = g.lo_bits + beta - g.l;
                const uint32_t w = upper ? tw[twiddle_index(g, lane & (bit - 1), b, p.log_n)] : 0u;
                const uint32_t other = __shfl_xor_sync(FULL_WARP, v[0], bit);
                v[0] = upper ? f_mul<F>(f_sub<F>(other, v[0]), w) : f_add<F>(v[0], other);
            }
            col[tile_to_global(g, chunk_base | lane)] = v[0];
        } else {
            // Paired shuffle stages: at tile bit beta < 5, register bit 0 and lane bit beta trade
            // places. Registers 2c and 2c+1 hold two words whose tile bit mu (the one register
            // bit 0 stands for, already transformed) is 0 and 1; the lower lane (lane bit beta
            // 0) sends its mu = 1 word and receives the partner's mu = 0 word, the upper lane the
            // reverse, so each lane holds one whole butterfly (x: beta = 0, y: beta = 1) and
            // keeps x + y in register 2c, (x - y) * w in 2c+1. Afterwards register bit 0 stands
            // for tile bit beta and lane bit beta for mu. Half the shuffles and multiplications
            // of one word per exchange. The twiddle depends only on the lane bits below beta
            // (never swapped yet): one load per stage.
            for (uint32_t beta = 5; beta-- > g.l;) {
                const uint32_t bit = 1u << beta;
                const bool upper = (lane & bit) != 0;
                const uint32_t b = g.lo_bits + beta - g.l;
                const uint32_t w = tw[twiddle_index(g, lane & (bit - 1), b, p.log_n)];
#pragma unroll
                for (uint32_t i0 = 0; i0 < REGS; i0 += 2) {
                    const uint32_t send = upper ? v[i0] : v[i0 + 1];
                    const uint32_t recv = __shfl_xor_sync(FULL_WARP, send, bit);
                    const uint32_t x = upper ? recv : v[i0];
                    const uint32_t y = upper ? v[i0 + 1] : recv;
                    v[i0] = f_add<F>(x, y);
                    v[i0 + 1] = f_mul<F>(f_sub<F>(x, y), w);
                }
            }
            // After the stages, register bit 0 stands for tile bit l and lane bits l..4 for tile
            // bits l+1..5: register i of this lane is tile word
            // (i >> 1) << 6 | (lane >> l) << (l + 1) | (i & 1) << l | (lane & lane_mask).
            const uint32_t lane_part = ((lane >> g.l) << (g.l + 1)) | (lane & g.lane_mask);
            if (g.l == 0 && g.lo_bits == 0) {
                // Contiguous tile: registers 2c and 2c+1 are neighbouring words, one 8-byte store
                // (the warp writes 256 contiguous bytes).
#pragma unroll
                for (uint32_t i0 = 0; i0 < REGS; i0 += 2) {
                    const uint32_t e = chunk_base | ((i0 >> 1) << 6) | lane_part;
                    *reinterpret_cast<uint2*>(col + tile_to_global(g, e)) = make_uint2(v[i0], v[i0 + 1]);
                }
            } else {
#pragma unroll
                for (uint32_t i = 0; i < REGS; ++i) {
                    const uint32_t e = chunk_base | ((i >> 1) << 6) | lane_part | ((i & 1u) << g.l);
                    col[tile_to_global(g, e)] = v[i];
                }
            }
        }
    }
}

template <class F>
__device__ void ntt_dif_pass(const NttPassParams& p) {
    extern __shared__ uint32_t shared_tiles[];
    const PassGeometry g = pass_geometry(p);
    const uint32_t s = p.num_stages;
    const uint32_t l = g.l;
    const uint32_t tile_n = 1u << (s + l);
    // Row threadIdx.y of the block works on its own tile; __syncthreads covers all of them (they
    // run the same stages). blockDim.x is a multiple of 32, so no warp spans two tiles.
    uint32_t* tile = shared_tiles + threadIdx.y * tile_n;
    uint32_t* col = reinterpret_cast<uint32_t*>(p.data) + blockIdx.y * p.col_stride;
    const uint32_t* tw = reinterpret_cast<const uint32_t*>(p.twiddles);

    for (uint32_t e = threadIdx.x; e < tile_n; e += blockDim.x) tile[e] = col[tile_to_global(g, e)];
    __syncthreads();

    // Shared-memory stages: butterfly half 2^half_log in tile rows, down to the warp phase.
    for (uint32_t half_log = s; half_log-- > p.warp_stages;) {
        const uint32_t half = 1u << half_log;
        // This stage pairs global indices i and i + 2^b.
        const uint32_t b = g.lo_bits + half_log;
        for (uint32_t q = threadIdx.x; q < (tile_n >> 1); q += blockDim.x) {
            const uint32_t j = q & g.lane_mask;
            const uint32_t r = q >> l;
            const uint32_t m0 = ((r >> half_log) << (half_log + 1)) | (r & (half - 1));
            const uint32_t i0 = (m0 << l) | j;
            const uint32_t i1 = ((m0 + half) << l) | j;
            const uint32_t w = tw[twiddle_index(g, i0, b, p.log_n)];
            const uint32_t x = tile[i0];
            const uint32_t y = tile[i1];
            tile[i0] = f_add<F>(x, y);
            tile[i1] = f_mul<F>(f_sub<F>(x, y), w);
        }
        __syncthreads();
    }

    if (p.warp_stages == 0) {
        for (uint32_t e = threadIdx.x; e < tile_n; e += blockDim.x) col[tile_to_global(g, e)] = tile[e];
        return;
    }
    switch (p.log_regs) {
        case 0: dif_warp_stages<F, 0>(p, g, tile, col, tw); break;
        case 1: dif_warp_stages<F, 1>(p, g, tile, col, tw); break;
        case 2: dif_warp_stages<F, 2>(p, g, tile, col, tw); break;
        default: dif_warp_stages<F, 3>(p, g, tile, col, tw); break;
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
    __shared__ uint32_t tile[SCATTER_TILE_X][SCATTER_TILE_X + 1];
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
    extern "C" __global__ void __launch_bounds__(512) ntt_dif_pass_##suffix(const NttPassParams p) { \
        ntt_dif_pass<Field>(p);                                                                   \
    }                                                                                             \
    extern "C" __global__ void coset_scatter_##suffix(const CosetScatterParams p) {               \
        coset_scatter<Field>(p);                                                                  \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(SCATTER_TILE_X * SCATTER_TILE_Y)                  \
        coset_scatter_tiled_##suffix(const CosetScatterParams p) {                                \
        coset_scatter_tiled<Field>(p);                                                            \
    }

SLOTPROOF_NTT(kb, KoalaBear)
SLOTPROOF_NTT(bb, BabyBear)
