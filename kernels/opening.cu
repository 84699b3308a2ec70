// Openings: barycentric evaluation of committed LDEs at out-of-domain points, and the
// alpha-reduction of the claims into one codeword per LDE height. The CPU reference is
// crates/prover/src/opening.rs; the arithmetic is exact, so the summation order is free.
#include "field.cuh"
#include "prover_params.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ __forceinline__ Ext4<F> e_from(const uint32_t (&w)[4]) {
    Ext4<F> r;
#pragma unroll
    for (int k = 0; k < 4; ++k) r.c[k] = w[k];
    return r;
}

// z - x for a base element x.
template <class F>
__device__ __forceinline__ Ext4<F> e_sub_base(Ext4<F> z, uint32_t x) {
    z.c[0] = f_sub<F>(z.c[0], x);
    return z;
}

template <class F>
__device__ void weights(const OpeningWeightsParams& p) {
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint64_t h = 1ull << p.log_h;
    const Ext4<F> z = e_from<F>(p.z);
    const Ext4<F> scale = e_from<F>(p.scale);
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < h;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const uint32_t x =
            f_mul<F>(p.shift, f_pow<F>(p.omega, reverse_bits(static_cast<uint32_t>(i), p.log_h)));
        Ext4<F> w = e_mul<F>(scale, e_inv<F>(e_sub_base<F>(z, x)));
#pragma unroll
        for (int k = 0; k < 4; ++k) out[4 * i + k] = f_mul<F>(w.c[k], x);
    }
}

template <class F>
__device__ void dot(const OpeningDotParams& p) {
    __shared__ uint32_t partial[4][OPENING_DOT_THREADS];
    const uint32_t* m = reinterpret_cast<const uint32_t*>(p.matrix);
    const uint32_t* w = reinterpret_cast<const uint32_t*>(p.weights);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint32_t col = blockIdx.x;
    const uint32_t* column = m + static_cast<uint64_t>(col) * p.col_stride;
    Ext4<F> acc = {{0u, 0u, 0u, 0u}};
    for (uint32_t i = threadIdx.x; i < p.h; i += blockDim.x) {
        const uint32_t v = column[i];
#pragma unroll
        for (int k = 0; k < 4; ++k) acc.c[k] = f_add<F>(acc.c[k], f_mul<F>(w[4ull * i + k], v));
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) partial[k][threadIdx.x] = acc.c[k];
    __syncthreads();
    for (uint32_t half = OPENING_DOT_THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) {
#pragma unroll
            for (int k = 0; k < 4; ++k)
                partial[k][threadIdx.x] = f_add<F>(partial[k][threadIdx.x], partial[k][threadIdx.x + half]);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
#pragma unroll
        for (int k = 0; k < 4; ++k) out[4ull * col + k] = partial[k][0];
    }
}

template <class F>
__device__ void reduce(const OpeningReduceParams& p) {
    const uint32_t* m = reinterpret_cast<const uint32_t*>(p.matrix);
    const uint32_t* ap = reinterpret_cast<const uint32_t*>(p.alpha_powers);
    uint32_t* acc = reinterpret_cast<uint32_t*>(p.acc);
    const uint64_t n = 1ull << p.log_height;
    const Ext4<F> z = e_from<F>(p.z);
    const Ext4<F> claim = e_from<F>(p.claim);
    const Ext4<F> offset = e_from<F>(p.offset);
    for (uint64_t r = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; r < n;
         r += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        Ext4<F> combined = {{0u, 0u, 0u, 0u}};
        for (uint32_t j = 0; j < p.width; ++j) {
            const uint32_t v = m[static_cast<uint64_t>(j) * p.col_stride + r];
#pragma unroll
            for (int k = 0; k < 4; ++k)
                combined.c[k] = f_add<F>(combined.c[k], f_mul<F>(ap[4ull * j + k], v));
        }
        const uint32_t x =
            f_mul<F>(p.shift, f_pow<F>(p.omega, reverse_bits(static_cast<uint32_t>(r), p.log_height)));
        const Ext4<F> d = e_inv<F>(e_sub_base<F>(z, x));
        const Ext4<F> term = e_mul<F>(e_mul<F>(offset, e_sub<F>(claim, combined)), d);
#pragma unroll
        for (int k = 0; k < 4; ++k) acc[4 * r + k] = f_add<F>(acc[4 * r + k], term.c[k]);
    }
}

}  // namespace

#define SLOTPROOF_OPENING(suffix, Field)                                                          \
    extern "C" __global__ void __launch_bounds__(256)                                             \
        opening_weights_##suffix(const OpeningWeightsParams p) {                                  \
        weights<Field>(p);                                                                        \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(OPENING_DOT_THREADS)                               \
        opening_dot_##suffix(const OpeningDotParams p) {                                          \
        dot<Field>(p);                                                                            \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(256)                                             \
        opening_reduce_##suffix(const OpeningReduceParams p) {                                    \
        reduce<Field>(p);                                                                         \
    }

SLOTPROOF_OPENING(kb, KoalaBear)
SLOTPROOF_OPENING(bb, BabyBear)
