// FRI folding and the leaf layout of FRI commit rounds, equal to p3-fri's TwoAdicFriFolding.
//
// p3 folds arity 2^k as k arity-2 folds with beta, beta^2, ..., beta^(2^(k-1)); each is
//   out[i] = (lo + hi) / 2 + (lo - hi) * beta * g_inv^bitrev(i) / 2,  lo = in[2i], hi = in[2i+1]
// over a bit-reversed codeword, g generating the subgroup of the input's order. The host launches
// fri_fold once per arity-2 step; field arithmetic is exact, so computing g_inv^bitrev(i) / 2 per
// row (instead of p3's table) gives the same words.
#include "field.cuh"
#include "prover_params.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ void fold(const FriFoldParams& p) {
    const uint32_t* in = reinterpret_cast<const uint32_t*>(p.input);
    const uint32_t* roll = reinterpret_cast<const uint32_t*>(p.roll_in);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint64_t n = 1ull << p.log_n;
    Ext4<F> beta, roll_beta;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        beta.c[k] = p.beta[k];
        roll_beta.c[k] = p.roll_beta[k];
    }
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const uint32_t factor =
            f_halve<F>(f_pow<F>(p.g_inv, reverse_bits(static_cast<uint32_t>(i), p.log_n)));
        Ext4<F> lo, hi;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            lo.c[k] = in[8 * i + k];
            hi.c[k] = in[8 * i + 4 + k];
        }
        const Ext4<F> sum = e_add<F>(lo, hi);
        Ext4<F> half_sum;
#pragma unroll
        for (int k = 0; k < 4; ++k) half_sum.c[k] = f_halve<F>(sum.c[k]);
        // (lo - hi) * beta * factor, in p3's order of operations (exact either way).
        Ext4<F> t = e_mul<F>(e_sub<F>(lo, hi), beta);
#pragma unroll
        for (int k = 0; k < 4; ++k) t.c[k] = f_mul<F>(t.c[k], factor);
        Ext4<F> r = e_add<F>(half_sum, t);
        if (roll != nullptr) {
            Ext4<F> v;
#pragma unroll
            for (int k = 0; k < 4; ++k) v.c[k] = roll[4 * i + k];
            r = e_add<F>(r, e_mul<F>(roll_beta, v));
        }
#pragma unroll
        for (int k = 0; k < 4; ++k) out[4 * i + k] = r.c[k];
    }
}

}  // namespace

// Field-independent: words are moved.
extern "C" __global__ void fri_leaves(const FriLeavesParams p) {
    const uint32_t* cw = reinterpret_cast<const uint32_t*>(p.codeword);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint64_t total = 4ull << p.log_n;
    const uint64_t rows = 1ull << (p.log_n - p.log_arity);
    for (uint64_t w = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; w < total;
         w += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        // w = 4 * element + k with element = arity * r + e: column c = 4e + k, row r.
        const uint64_t element = w >> 2;
        const uint64_t k = w & 3;
        const uint64_t r = element >> p.log_arity;
        const uint64_t e = element & ((1ull << p.log_arity) - 1);
        out[(4 * e + k) * rows + r] = cw[w];
    }
}

#define SLOTPROOF_FRI(suffix, Field)                                                              \
    extern "C" __global__ void __launch_bounds__(256) fri_fold_##suffix(const FriFoldParams p) { \
        fold<Field>(p);                                                                           \
    }

SLOTPROOF_FRI(kb, KoalaBear)
SLOTPROOF_FRI(bb, BabyBear)
