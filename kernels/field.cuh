// Montgomery arithmetic over 31-bit primes, bit-compatible with Plonky3's MontyField31.
//
// Plonky3 stores an element x of KoalaBear / BabyBear as the u32 `x * 2^32 mod p`, always reduced
// into [0, p). The kernels keep exactly that representation, so a device buffer of u32 and a host
// `&[KoalaBear]` are the same bytes: uploads and downloads never convert.
//
// Every operation below keeps its result in [0, p) (canonical Montgomery form), as Plonky3 does,
// so that equality of device words is equality of field elements and outputs compare bit for bit.
#pragma once

#include <cstdint>

namespace slotproof {

// KoalaBear: p = 2^31 - 2^24 + 1.
struct KoalaBear {
    static constexpr uint32_t P = 0x7f000001u;
    // MU = p^{-1} mod 2^32.
    static constexpr uint32_t MU = 0x81000001u;
    // x^4 = W in the degree-4 binomial extension (p3: BinomiallyExtendable<4>::W).
    static constexpr uint32_t W_CANONICAL = 3u;
    // Poseidon2 width 16: S-box x^3, 4 + 4 full rounds, 20 partial rounds.
    static constexpr int SBOX_DEGREE = 3;
    static constexpr int PARTIAL_ROUNDS = 20;
};

// BabyBear: p = 15 * 2^27 + 1.
struct BabyBear {
    static constexpr uint32_t P = 0x78000001u;
    static constexpr uint32_t MU = 0x88000001u;
    static constexpr uint32_t W_CANONICAL = 11u;
    // Poseidon2 width 16: S-box x^7, 4 + 4 full rounds, 13 partial rounds.
    static constexpr int SBOX_DEGREE = 7;
    static constexpr int PARTIAL_ROUNDS = 13;
};

static_assert(KoalaBear::P * KoalaBear::MU == 1u, "KoalaBear MU must be p^-1 mod 2^32");
static_assert(BabyBear::P * BabyBear::MU == 1u, "BabyBear MU must be p^-1 mod 2^32");

// Canonical value -> Montgomery form, usable in constant expressions.
template <class F>
__host__ __device__ constexpr uint32_t to_monty(uint32_t x) {
    return static_cast<uint32_t>((static_cast<uint64_t>(x) << 32) % F::P);
}

template <class F>
__device__ __forceinline__ uint32_t f_add(uint32_t a, uint32_t b) {
    // a, b < p < 2^31, so a + b < 2^32 does not wrap.
    uint32_t s = a + b;
    return s >= F::P ? s - F::P : s;
}

template <class F>
__device__ __forceinline__ uint32_t f_sub(uint32_t a, uint32_t b) {
    uint32_t d = a - b;
    return a < b ? d + F::P : d;
}

template <class F>
__device__ __forceinline__ uint32_t f_neg(uint32_t a) {
    return a == 0 ? 0 : F::P - a;
}

template <class F>
__device__ __forceinline__ uint32_t f_double(uint32_t a) {
    return f_add<F>(a, a);
}

// Montgomery product: a * b * 2^-32 mod p, inputs and output in [0, p).
// x = a*b; t = (x mod 2^32) * MU mod 2^32; u = t*p; the low words of x and u agree, so
// (x - u) / 2^32 = hi(x) - hi(u), which lies in (-p, p): add p when it is negative.
template <class F>
__device__ __forceinline__ uint32_t f_mul(uint32_t a, uint32_t b) {
    uint32_t x_lo = a * b;
    uint32_t x_hi = __umulhi(a, b);
    uint32_t t = x_lo * F::MU;
    uint32_t u_hi = __umulhi(t, F::P);
    uint32_t r = x_hi - u_hi;
    return x_hi < u_hi ? r + F::P : r;
}

template <class F>
__device__ __forceinline__ uint32_t f_square(uint32_t a) {
    return f_mul<F>(a, a);
}

// x / 2 mod p on the Montgomery word (halving commutes with the 2^32 scaling).
template <class F>
__device__ __forceinline__ uint32_t f_halve(uint32_t a) {
    uint32_t half = a >> 1;
    return (a & 1u) ? half + ((F::P + 1u) >> 1) : half;
}

template <class F>
__device__ __forceinline__ uint32_t f_pow(uint32_t base, uint32_t exp) {
    uint32_t acc = to_monty<F>(1u);
    while (exp != 0) {
        if (exp & 1u) acc = f_mul<F>(acc, base);
        base = f_square<F>(base);
        exp >>= 1;
    }
    return acc;
}

// The Poseidon2 S-box x^D for D in {3, 7}.
template <class F>
__device__ __forceinline__ uint32_t f_sbox(uint32_t x) {
    if constexpr (F::SBOX_DEGREE == 3) {
        return f_mul<F>(f_square<F>(x), x);
    } else {
        static_assert(F::SBOX_DEGREE == 7, "only x^3 and x^7 S-boxes are implemented");
        uint32_t x2 = f_square<F>(x);
        uint32_t x3 = f_mul<F>(x2, x);
        uint32_t x4 = f_square<F>(x2);
        return f_mul<F>(x3, x4);
    }
}

// Degree-4 binomial extension F[X] / (X^4 - W), coefficients in Montgomery form, lowest first
// (the layout of p3's BinomialExtensionField<F, 4>).
template <class F>
struct Ext4 {
    uint32_t c[4];
};

template <class F>
__device__ __forceinline__ Ext4<F> e_add(const Ext4<F>& a, const Ext4<F>& b) {
    Ext4<F> r;
#pragma unroll
    for (int i = 0; i < 4; ++i) r.c[i] = f_add<F>(a.c[i], b.c[i]);
    return r;
}

template <class F>
__device__ __forceinline__ Ext4<F> e_sub(const Ext4<F>& a, const Ext4<F>& b) {
    Ext4<F> r;
#pragma unroll
    for (int i = 0; i < 4; ++i) r.c[i] = f_sub<F>(a.c[i], b.c[i]);
    return r;
}

// Schoolbook product; terms of degree >= 4 fold back multiplied by W.
template <class F>
__device__ __forceinline__ Ext4<F> e_mul(const Ext4<F>& a, const Ext4<F>& b) {
    constexpr uint32_t W = to_monty<F>(F::W_CANONICAL);
    const uint32_t* x = a.c;
    const uint32_t* y = b.c;
    uint32_t hi4 = f_add<F>(f_add<F>(f_mul<F>(x[1], y[3]), f_mul<F>(x[2], y[2])), f_mul<F>(x[3], y[1]));
    uint32_t hi5 = f_add<F>(f_mul<F>(x[2], y[3]), f_mul<F>(x[3], y[2]));
    uint32_t hi6 = f_mul<F>(x[3], y[3]);
    Ext4<F> r;
    r.c[0] = f_add<F>(f_mul<F>(x[0], y[0]), f_mul<F>(hi4, W));
    r.c[1] = f_add<F>(f_add<F>(f_mul<F>(x[0], y[1]), f_mul<F>(x[1], y[0])), f_mul<F>(hi5, W));
    r.c[2] = f_add<F>(f_add<F>(f_add<F>(f_mul<F>(x[0], y[2]), f_mul<F>(x[1], y[1])), f_mul<F>(x[2], y[0])),
                      f_mul<F>(hi6, W));
    r.c[3] = f_add<F>(f_add<F>(f_mul<F>(x[0], y[3]), f_mul<F>(x[1], y[2])),
                      f_add<F>(f_mul<F>(x[2], y[1]), f_mul<F>(x[3], y[0])));
    return r;
}

// a^(p-2): the inverse of a non-zero element (Fermat), 0 for 0.
template <class F>
__device__ __forceinline__ uint32_t f_inv(uint32_t a) {
    return f_pow<F>(a, F::P - 2);
}

// Inverse in F[X]/(X^4 - W) through the tower Y = X^2: a = A + B X with A = a0 + a2 Y,
// B = a1 + a3 Y; a (A - B X) = A^2 - Y B^2 =: N in F[Y]/(Y^2 - W), and N^-1 = conj(N) / norm(N).
// One base inversion and about 25 multiplications; 0 maps to 0.
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

// Bit reversal of the low `bits` bits of i (bits <= 32).
__device__ __forceinline__ uint32_t reverse_bits(uint32_t i, uint32_t bits) {
    return bits == 0 ? 0u : (__brev(i) >> (32u - bits));
}

}  // namespace slotproof
