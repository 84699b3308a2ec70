// Openings: barycentric evaluation of committed LDEs at out-of-domain points, and the
// alpha-reduction of the claims into one codeword per LDE height. The CPU reference is
// crates/prover/src/opening.rs; the arithmetic is exact, so the summation order is free.
#include "field.cuh"
#include "prover_params.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ __forceinline__ uint32_t f_inv(uint32_t a) {
    return f_pow<F>(a, F::P - 2);
}

// Inverse in F[X]/(X^4 - W) through the tower Y = X^2: a = A + B X with A = a0 + a2 Y,
// B = a1 + a3 Y; a (A - B X) = A^2 - Y B^2 =: N in F[Y]/(Y^2 - W), and N^-1 = conj(N) / norm(N).
template <class F>
__device__ __forceinline__ Ext4<F> e_inv(const Ext4<F>& a) {
    constexpr uint32_t W = to_monty<F>(F::W_CANONICAL);
    const uint32_t* x = a.c;
    // A^2 = (a0^2 + W a2^2) + 2 a0 a2 Y; B^2 = (a1^2 + W a3^2) + 2 a1 a3 Y; Y B^2 = W*b1 + b0 Y.
    const uint32_t a2_0 = f_add<F>(f_square<F>(x[0]), f_mul<F>(W, f_square<F>(x[2])));
    const uint32_t a2_1 = f_double<F>(f_mul<F>(x[0], x[2]));
    const uint32_t b2_0 = f_add<F>(f_square<F>(x[1]), f_mul<F>(W, f_square<F>(x[3])));
    const uint32_t b2_1 = f_double<F>(f_mul<F>(x[1], x[3]));
    const uint32_t n0 = f_sub<F>(a2_0, f_mul<F>(W, b2_1));
    const uint32_t n1 = f_sub<F>(a2_1, b2_0);
    const uint32_t norm = f_sub<F>(f_square<F>(n0), f_mul<F>(W, f_square<F>(n1)));
    const uint32_t ninv = f_inv<F>(norm);
    const uint32_t m0 = f_mul<F>(n0, ninv);             // N^-1 = m0 + m1 Y
    const uint32_t m1 = f_neg<F>(f_mul<F>(n1, ninv));
    // (A - B X) * (m0 + m1 Y), with A - B X = a0 - a1 X + a2 X^2 - a3 X^3 and Y = X^2, X^4 = W.
    const uint32_t c0 = x[0], c1 = f_neg<F>(x[1]), c2 = x[2], c3 = f_neg<F>(x[3]);
    Ext4<F> r;
    r.c[0] = f_add<F>(f_mul<F>(c0, m0), f_mul<F>(W, f_mul<F>(c2, m1)));
    r.c[1] = f_add<F>(f_mul<F>(c1, m0), f_mul<F>(W, f_mul<F>(c3, m1)));
    r.c[2] = f_add<F>(f_mul<F>(c2, m0), f_mul<F>(c0, m1));
    r.c[3] = f_add<F>(f_mul<F>(c3, m0), f_mul<F>(c1, m1));
    return r;
}

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
    __shared__ uint32_t partial[4][256];
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
    for (uint32_t half = blockDim.x / 2; half > 0; half >>= 1) {
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
    extern "C" __global__ void __launch_bounds__(256) opening_dot_##suffix(const OpeningDotParams p) { \
        dot<Field>(p);                                                                            \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(256)                                             \
        opening_reduce_##suffix(const OpeningReduceParams p) {                                    \
        reduce<Field>(p);                                                                         \
    }

SLOTPROOF_OPENING(kb, KoalaBear)
SLOTPROOF_OPENING(bb, BabyBear)
