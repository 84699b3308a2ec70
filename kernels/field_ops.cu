// Small kernels that expose the field and Poseidon2 headers directly, so tests can compare the
// device arithmetic with Plonky3 element by element.
#include "field.cuh"
#include "params.cuh"
#include "poseidon2.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ void elementwise(const ElementwiseParams& p) {
    const uint32_t* a = reinterpret_cast<const uint32_t*>(p.a);
    const uint32_t* b = reinterpret_cast<const uint32_t*>(p.b);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += gridDim.x * blockDim.x) {
        if (p.op < 5) {
            uint32_t x = a[i];
            uint32_t y = b[i];
            uint32_t r = 0;
            switch (p.op) {
                case 0: r = f_add<F>(x, y); break;
                case 1: r = f_sub<F>(x, y); break;
                case 2: r = f_mul<F>(x, y); break;
                case 3: r = f_halve<F>(x); break;
                default: r = f_sbox<F>(x); break;
            }
            out[i] = r;
        } else {
            Ext4<F> x, y;
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                x.c[k] = a[4 * i + k];
                y.c[k] = b[4 * i + k];
            }
            Ext4<F> r;
            switch (p.op) {
                case 5: r = e_add<F>(x, y); break;
                case 6: r = e_sub<F>(x, y); break;
                default: r = e_mul<F>(x, y); break;
            }
#pragma unroll
            for (int k = 0; k < 4; ++k) out[4 * i + k] = r.c[k];
        }
    }
}

template <class F>
__device__ void permute_batch(const PermuteParams& p, const Poseidon2Constants& c) {
    const uint32_t* in = reinterpret_cast<const uint32_t*>(p.input);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    uint32_t k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= p.num_states) return;
    uint32_t s[P2_WIDTH];
#pragma unroll
    for (int i = 0; i < P2_WIDTH; ++i) s[i] = in[16ull * k + i];
    poseidon2_permute<F>(s, c);
#pragma unroll
    for (int i = 0; i < P2_WIDTH; ++i) out[16ull * k + i] = s[i];
}

}  // namespace

extern "C" __global__ void fill_u32(const FillParams p) {
    uint32_t* dst = reinterpret_cast<uint32_t*>(p.dst);
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < p.n;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        dst[i] = p.value;
    }
}

// Field-independent: words are moved. One thread per output word; consecutive threads write
// consecutive rows of one column (reads are scattered by the bit reversal).
extern "C" __global__ void bitrev_rows(const BitrevRowsParams p) {
    const uint32_t* in = reinterpret_cast<const uint32_t*>(p.input);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint64_t n = 1ull << p.log_n;
    const uint64_t total = n * p.width;
    for (uint64_t i = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const uint64_t c = i >> p.log_n;
        const uint64_t r = i & (n - 1);
        const uint64_t src = p.log_n == 0 ? 0 : (__brevll(r) >> (64 - p.log_n));
        out[i] = in[c * p.in_stride + src];
    }
}

#define SLOTPROOF_FIELD_OPS(suffix, Field)                                                        \
    extern "C" __global__ void elementwise_##suffix(const ElementwiseParams p) {                  \
        elementwise<Field>(p);                                                                    \
    }                                                                                             \
    extern "C" __global__ void poseidon2_permute_##suffix(const PermuteParams p,                  \
                                                          const Poseidon2Constants c) {           \
        permute_batch<Field>(p, c);                                                               \
    }

SLOTPROOF_FIELD_OPS(kb, KoalaBear)
SLOTPROOF_FIELD_OPS(bb, BabyBear)
