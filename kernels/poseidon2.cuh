// Poseidon2 width-16 permutation over KoalaBear / BabyBear, the same function as Plonky3's
// Poseidon2<F, Poseidon2ExternalLayerMonty31, Poseidon2InternalLayerMonty31, 16, D> built by
// default_{koalabear,babybear}_poseidon2_16(): the constants come from the host (params.cuh).
//
// Order (p3-poseidon2 0.9.0-rc.2):
//   external_initial: mds_light; then 4 x (add rc, S-box on all lanes, mds_light)
//   internal: PARTIAL_ROUNDS x (s0 += rc; s0 = S(s0); s <- sum(s) + diag * s)
//   external_terminal: 4 x (add rc, S-box on all lanes, mds_light)
// mds_light (width 16) = the 4x4 matrix [[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]] on each
// 4-lane chunk, then lane i += sum over chunks of lane (i mod 4).
#pragma once

#include "field.cuh"
#include "params.cuh"

namespace slotproof {

template <class F>
__device__ __forceinline__ void p2_mat4(uint32_t& x0, uint32_t& x1, uint32_t& x2, uint32_t& x3) {
    uint32_t t01 = f_add<F>(x0, x1);
    uint32_t t23 = f_add<F>(x2, x3);
    uint32_t t0123 = f_add<F>(t01, t23);
    uint32_t t01123 = f_add<F>(t0123, x1);
    uint32_t t01233 = f_add<F>(t0123, x3);
    uint32_t y3 = f_add<F>(t01233, f_double<F>(x0));
    uint32_t y1 = f_add<F>(t01123, f_double<F>(x2));
    uint32_t y0 = f_add<F>(t01123, t01);
    uint32_t y2 = f_add<F>(t01233, t23);
    x0 = y0;
    x1 = y1;
    x2 = y2;
    x3 = y3;
}

template <class F>
__device__ __forceinline__ void p2_mds_light(uint32_t (&s)[P2_WIDTH]) {
#pragma unroll
    for (int c = 0; c < P2_WIDTH; c += 4) p2_mat4<F>(s[c], s[c + 1], s[c + 2], s[c + 3]);
    uint32_t sums[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        sums[k] = f_add<F>(f_add<F>(s[k], s[k + 4]), f_add<F>(s[k + 8], s[k + 12]));
    }
#pragma unroll
    for (int i = 0; i < P2_WIDTH; ++i) s[i] = f_add<F>(s[i], sums[i & 3]);
}

template <class F>
__device__ __forceinline__ void p2_full_round(uint32_t (&s)[P2_WIDTH], const uint32_t (&rc)[P2_WIDTH]) {
#pragma unroll
    for (int i = 0; i < P2_WIDTH; ++i) s[i] = f_sbox<F>(f_add<F>(s[i], rc[i]));
    p2_mds_light<F>(s);
}

template <class F>
__device__ __forceinline__ void p2_internal_round(uint32_t (&s)[P2_WIDTH], uint32_t rc,
                                                  const Poseidon2Constants& c) {
    s[0] = f_sbox<F>(f_add<F>(s[0], rc));
    uint32_t sum = s[0];
#pragma unroll
    for (int i = 1; i < P2_WIDTH; ++i) sum = f_add<F>(sum, s[i]);
#pragma unroll
    for (int i = 0; i < P2_WIDTH; ++i) s[i] = f_add<F>(sum, f_mul<F>(c.diag[i], s[i]));
}

template <class F>
__device__ __forceinline__ void poseidon2_permute(uint32_t (&s)[P2_WIDTH], const Poseidon2Constants& c) {
    static_assert(F::PARTIAL_ROUNDS <= P2_MAX_PARTIAL_ROUNDS, "too many partial rounds");
    p2_mds_light<F>(s);
#pragma unroll
    for (int r = 0; r < P2_HALF_FULL_ROUNDS; ++r) p2_full_round<F>(s, c.external_initial[r]);
#pragma unroll
    for (int r = 0; r < F::PARTIAL_ROUNDS; ++r) p2_internal_round<F>(s, c.internal[r], c);
#pragma unroll
    for (int r = 0; r < P2_HALF_FULL_ROUNDS; ++r) p2_full_round<F>(s, c.external_terminal[r]);
}

// TruncatedPermutation<Perm, 2, 8, 16>: permute [left | right], keep the first 8 words.
template <class F>
__device__ __forceinline__ void p2_compress(const uint32_t (&left)[8], const uint32_t (&right)[8],
                                            uint32_t (&out)[8], const Poseidon2Constants& c) {
    uint32_t s[P2_WIDTH];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        s[i] = left[i];
        s[i + 8] = right[i];
    }
    poseidon2_permute<F>(s, c);
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = s[i];
}

}  // namespace slotproof
