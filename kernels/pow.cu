// Proof-of-work grinding: the smallest witness, as crates/prover/src/challenger.rs finds it.
//
// The host prepares the sponge state that `check_witness` would permute for a candidate w: the
// buffered inputs, w at `witness_slot`, zero padding up to the rate, the first capacity word
// tagged with the number of absorbed elements, and the rest of the capacity. Thread t tries
// start + t, start + t + T, ... in increasing order, and lowers *result with atomicMin whenever
// the last rate word of the permuted state has `bits` zero low bits (canonical value). A thread
// stops once *result is at most its next candidate: nothing it could still find would be smaller.
// The smallest witness w* is never skipped (a thread skips w* only after some witness <= w* was
// recorded, and that can only be w* itself), so *result ends as the smallest witness in range.
#include "field.cuh"
#include "params.cuh"
#include "poseidon2.cuh"
#include "prover_params.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ void pow_search(const PowParams& p, const Poseidon2Constants& c) {
    const uint32_t threads = gridDim.x * blockDim.x;
    volatile uint32_t* result = reinterpret_cast<volatile uint32_t*>(p.result);
    const uint32_t mask = (1u << p.bits) - 1u;
    // 2^64 mod p in Montgomery form is 2^32 * 2^32 mod p: f_mul(w, r2) = w * 2^32 mod p.
    constexpr uint32_t R2 = static_cast<uint32_t>((static_cast<uint64_t>(to_monty<F>(1u)) << 32) % F::P);
    for (uint64_t w = static_cast<uint64_t>(p.start) + blockIdx.x * blockDim.x + threadIdx.x; w < p.end;
         w += threads) {
        if (*result <= w) return;
        uint32_t s[P2_WIDTH];
#pragma unroll
        for (int i = 0; i < P2_WIDTH; ++i) s[i] = p.state[i];
        // Unrolled select keeps the state in registers (a dynamic index would spill it).
        const uint32_t candidate = f_mul<F>(static_cast<uint32_t>(w), R2);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            if (static_cast<uint32_t>(i) == p.witness_slot) s[i] = candidate;
        }
        poseidon2_permute<F>(s, c);
        const uint32_t sample = f_mul<F>(s[7], 1u);  // Montgomery -> canonical
        if ((sample & mask) == 0) {
            atomicMin(reinterpret_cast<uint32_t*>(p.result), static_cast<uint32_t>(w));
            return;
        }
    }
}

}  // namespace

#define SLOTPROOF_POW(suffix, Field)                                                              \
    extern "C" __global__ void __launch_bounds__(256)                                             \
        pow_grind_##suffix(const PowParams p, const Poseidon2Constants c) {                       \
        pow_search<Field>(p, c);                                                                  \
    }

SLOTPROOF_POW(kb, KoalaBear)
SLOTPROOF_POW(bb, BabyBear)
