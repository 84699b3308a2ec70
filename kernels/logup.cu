// The LogUp trace of one AIR instance, equal to p3-lookup's LogUpGadget::generate_permutation
// followed by flatten_to_base(), computed where the main trace already is.
//
//   logup_fractions: one thread per row (grid-stride). The lookups' element, multiplicity and flag
//     expressions run as one lowered base-field program (the quotient kernel's opcodes) into the
//     row's value slots; then every lookup's fraction is formed from them and the challenges and
//     written to its column, and the row's sum of fractions to `totals`.
//   logup_scan_block / logup_scan_add: inclusive prefix sums of the row totals in the extension
//     field (multi-block: block sums scanned recursively by the host, then added back).
//   logup_accumulator: column 0 = exclusive prefix sums (acc[0] = 0), and the terminal.
//
// Inversion is per denominator, in the thread that needs it (field.cuh's e_inv: the norm down
// to the base field, then Fermat), not Montgomery batch inversion: rows are independent, nothing has to be kept
// between a forward and a backward pass, and inverses are unique, so the words equal the CPU's
// batch inversion exactly. Field arithmetic is exact, so sums in another order than the CPU's
// (its dot products, its chunked scan) give the same words.
#include "field.cuh"
#include "prover_params.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ __forceinline__ Ext4<F> e_zero() {
    return Ext4<F>{{0u, 0u, 0u, 0u}};
}

template <class F>
__device__ __forceinline__ Ext4<F> e_load4(const uint32_t* p) {
    Ext4<F> r;
#pragma unroll
    for (int k = 0; k < 4; ++k) r.c[k] = p[k];
    return r;
}

template <class F>
__device__ __forceinline__ void e_store4(uint32_t* p, const Ext4<F>& v) {
#pragma unroll
    for (int k = 0; k < 4; ++k) p[k] = v.c[k];
}

template <class F>
__device__ __forceinline__ Ext4<F> e_times_base(const Ext4<F>& a, uint32_t s) {
    Ext4<F> r;
#pragma unroll
    for (int k = 0; k < 4; ++k) r.c[k] = f_mul<F>(a.c[k], s);
    return r;
}

template <class F>
__device__ __forceinline__ bool e_is_zero(const Ext4<F>& a) {
    return (a.c[0] | a.c[1] | a.c[2] | a.c[3]) == 0u;
}

// alpha - combine(tuple) with combine = e_{k-1} + sum_{i < k-1} beta^(k-1-i) e_i (p3-lookup's
// combine_tuple); `slots` are the tuple's value slots, `betas` beta^0, beta^1, ...
template <class F>
__device__ __forceinline__ Ext4<F> tuple_denominator(const Ext4<F>& alpha, const uint32_t* betas,
                                                     const uint32_t* slots, uint32_t k,
                                                     const uint32_t* vals, uint64_t stride) {
    Ext4<F> combined = e_zero<F>();
    if (k > 0) {
        combined.c[0] = vals[slots[k - 1] * stride];
        for (uint32_t i = 0; i + 1 < k; ++i) {
            const uint32_t e = vals[slots[i] * stride];
            combined = e_add<F>(combined, e_times_base<F>(e_load4<F>(betas + 4 * (k - 1 - i)), e));
        }
    }
    return e_sub<F>(alpha, combined);
}

__device__ __forceinline__ void report(unsigned long long* status, uint32_t row, uint32_t lookup,
                                       uint32_t code) {
    const unsigned long long key = (static_cast<unsigned long long>(row) << 32) |
                                   (static_cast<unsigned long long>(lookup) << 4) | code;
    atomicMin(status, key);
}

template <class F>
__device__ void fraction_rows(const LogUpParams& p) {
    const uint32_t t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= p.num_threads) return;
    const uint32_t* prog = reinterpret_cast<const uint32_t*>(p.program);
    const uint32_t* main = reinterpret_cast<const uint32_t*>(p.main);
    const uint32_t* base_consts = reinterpret_cast<const uint32_t*>(p.base_consts);
    const uint32_t* publics = reinterpret_cast<const uint32_t*>(p.public_values);
    const uint32_t* layout = reinterpret_cast<const uint32_t*>(p.layout);
    const uint32_t* challenges = reinterpret_cast<const uint32_t*>(p.challenges);
    uint32_t* scratch = reinterpret_cast<uint32_t*>(p.scratch);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    uint32_t* totals = reinterpret_cast<uint32_t*>(p.totals);
    unsigned long long* status = reinterpret_cast<unsigned long long*>(p.status);

    // [slot][thread]: a warp's accesses to one register or value slot are contiguous.
    const uint64_t stride = p.num_threads;
    uint32_t* regs = scratch + t;
    uint32_t* vals = scratch + static_cast<uint64_t>(p.num_base_regs) * stride + t;
    const uint32_t one = to_monty<F>(1u);
    const uint64_t height = p.height;

    for (uint32_t row = t; row < p.height; row += p.num_threads) {
        // The gadget's row window: (row, row + 1 mod height); selectors of the trace domain.
        const uint32_t next = row + 1 == p.height ? 0u : row + 1;
        const uint32_t is_first = row == 0 ? one : 0u;
        const uint32_t is_last = row + 1 == p.height ? one : 0u;
        const uint32_t is_transition = row + 1 < p.height ? one : 0u;

        for (uint32_t n = 0; n < p.num_instructions; ++n) {
            const uint4 ins = __ldg(reinterpret_cast<const uint4*>(prog) + n);
            const uint64_t dst = ins.y, a = ins.z, b = ins.w;
            switch (ins.x) {
                case Q_LOAD_MAIN:
                    regs[dst * stride] = main[a * p.main_stride + (b == 0 ? row : next)];
                    break;
                case Q_LOAD_PUBLIC:
                    regs[dst * stride] = publics[a];
                    break;
                case Q_LOAD_CONST:
                    regs[dst * stride] = base_consts[a];
                    break;
                case Q_LOAD_IS_FIRST_ROW:
                    regs[dst * stride] = is_first;
                    break;
                case Q_LOAD_IS_LAST_ROW:
                    regs[dst * stride] = is_last;
                    break;
                case Q_LOAD_IS_TRANSITION:
                    regs[dst * stride] = is_transition;
                    break;
                case Q_ADD:
                    regs[dst * stride] = f_add<F>(regs[a * stride], regs[b * stride]);
                    break;
                case Q_SUB:
                    regs[dst * stride] = f_sub<F>(regs[a * stride], regs[b * stride]);
                    break;
                case Q_MUL:
                    regs[dst * stride] = f_mul<F>(regs[a * stride], regs[b * stride]);
                    break;
                case Q_NEG:
                    regs[dst * stride] = f_neg<F>(regs[a * stride]);
                    break;
                default:  // LOGUP_STORE_VALUE (the host admits no other opcode)
                    vals[b * stride] = regs[a * stride];
                    break;
            }
        }

        Ext4<F> total = e_zero<F>();
        uint32_t cursor = 0;
        for (uint32_t l = 0; l < p.num_lookups; ++l) {
            const uint32_t* ch = challenges + static_cast<uint64_t>(l) * p.challenge_stride;
            const Ext4<F> alpha = e_load4<F>(ch);
            const uint32_t* betas = ch + 4;
            const uint32_t kind = layout[cursor];
            const uint32_t tuples = layout[cursor + 1];
            cursor += 2;
            Ext4<F> frac = e_zero<F>();
            if (kind == LOGUP_ADDITIVE) {
                for (uint32_t j = 0; j < tuples; ++j) {
                    const uint32_t m = vals[layout[cursor] * stride];
                    const uint32_t k = layout[cursor + 2];
                    // A zero multiplicity contributes nothing; the gadget skips its combine too.
                    if (m != 0u) {
                        const Ext4<F> d =
                            tuple_denominator<F>(alpha, betas, layout + cursor + 3, k, vals, stride);
                        if (e_is_zero<F>(d)) report(status, row, l, LOGUP_ZERO_DENOMINATOR);
                        frac = e_add<F>(frac, e_times_base<F>(e_inv<F>(d), m));
                    }
                    cursor += 3 + k;
                }
            } else {
                uint32_t numerator = 0u, flag_sum = 0u;
                Ext4<F> denom = e_zero<F>();
                for (uint32_t j = 0; j < tuples; ++j) {
                    const uint32_t flag = vals[layout[cursor + 1] * stride];
                    const uint32_t k = layout[cursor + 2];
                    if (flag != 0u && flag != one) report(status, row, l, LOGUP_NON_BOOLEAN_FLAG);
                    flag_sum = f_add<F>(flag_sum, flag);
                    if (flag != 0u) {
                        const uint32_t m = vals[layout[cursor] * stride];
                        numerator = f_add<F>(numerator, f_mul<F>(flag, m));
                        const Ext4<F> d =
                            tuple_denominator<F>(alpha, betas, layout + cursor + 3, k, vals, stride);
                        denom = e_add<F>(denom, e_times_base<F>(d, flag));
                    }
                    cursor += 3 + k;
                }
                if (flag_sum != 0u && flag_sum != one) report(status, row, l, LOGUP_FLAGS_ABOVE_ONE);
                // No branch active: denominator 1, fraction 0.
                denom.c[0] = f_add<F>(denom.c[0], f_sub<F>(one, flag_sum));
                if (e_is_zero<F>(denom)) report(status, row, l, LOGUP_ZERO_DENOMINATOR);
                frac = e_times_base<F>(e_inv<F>(denom), numerator);
            }
#pragma unroll
            for (int c = 0; c < 4; ++c) out[(4ull * (l + 1) + c) * height + row] = frac.c[c];
            total = e_add<F>(total, frac);
        }
        e_store4<F>(totals + 4ull * row, total);
    }
}

template <class F>
__device__ __forceinline__ Ext4<F> shfl_up_ext(const Ext4<F>& v, uint32_t delta) {
    Ext4<F> r;
#pragma unroll
    for (int k = 0; k < 4; ++k) r.c[k] = __shfl_up_sync(0xffffffffu, v.c[k], delta);
    return r;
}

constexpr uint32_t SCAN_WARPS = LOGUP_SCAN_THREADS / 32;

template <class F>
__device__ void scan_block(const LogUpScanParams& p) {
    __shared__ uint32_t warp_sums[4 * SCAN_WARPS];
    uint32_t* data = reinterpret_cast<uint32_t*>(p.data);
    const uint32_t lane = threadIdx.x & 31u;
    const uint32_t warp = threadIdx.x >> 5;
    const uint64_t first = static_cast<uint64_t>(blockIdx.x) * LOGUP_SCAN_BLOCK +
                           static_cast<uint64_t>(threadIdx.x) * LOGUP_SCAN_ITEMS;

    // 1. This thread's items, scanned in registers (elements past n count as zero).
    Ext4<F> items[LOGUP_SCAN_ITEMS];
    Ext4<F> run = e_zero<F>();
#pragma unroll
    for (uint32_t i = 0; i < LOGUP_SCAN_ITEMS; ++i) {
        const uint64_t e = first + i;
        if (e < p.n) run = e_add<F>(run, e_load4<F>(data + 4 * e));
        items[i] = run;
    }
    // 2. Inclusive scan of the thread totals within the warp (Hillis-Steele over shuffles).
    Ext4<F> incl = run;
#pragma unroll
    for (uint32_t d = 1; d < 32; d <<= 1) {
        const Ext4<F> up = shfl_up_ext<F>(incl, d);
        if (lane >= d) incl = e_add<F>(incl, up);
    }
    if (lane == 31) e_store4<F>(warp_sums + 4 * warp, incl);
    __syncthreads();
    // 3. Warp 0 scans the warp totals.
    if (warp == 0) {
        Ext4<F> w = lane < SCAN_WARPS ? e_load4<F>(warp_sums + 4 * lane) : e_zero<F>();
#pragma unroll
        for (uint32_t d = 1; d < SCAN_WARPS; d <<= 1) {
            const Ext4<F> up = shfl_up_ext<F>(w, d);
            if (lane >= d) w = e_add<F>(w, up);
        }
        if (lane < SCAN_WARPS) e_store4<F>(warp_sums + 4 * lane, w);
    }
    __syncthreads();
    // 4. This thread's exclusive prefix: earlier lanes of its warp, then earlier warps.
    Ext4<F> prefix = e_sub<F>(incl, run);
    if (warp > 0) prefix = e_add<F>(prefix, e_load4<F>(warp_sums + 4 * (warp - 1)));
#pragma unroll
    for (uint32_t i = 0; i < LOGUP_SCAN_ITEMS; ++i) {
        const uint64_t e = first + i;
        if (e < p.n) e_store4<F>(data + 4 * e, e_add<F>(items[i], prefix));
    }
    if (p.block_sums != 0 && threadIdx.x == LOGUP_SCAN_THREADS - 1) {
        uint32_t* sums = reinterpret_cast<uint32_t*>(p.block_sums);
        e_store4<F>(sums + 4ull * blockIdx.x, e_add<F>(items[LOGUP_SCAN_ITEMS - 1], prefix));
    }
}

template <class F>
__device__ void scan_add(const LogUpScanParams& p) {
    uint32_t* data = reinterpret_cast<uint32_t*>(p.data);
    const uint32_t* sums = reinterpret_cast<const uint32_t*>(p.block_sums);
    // Block 0 needs nothing added.
    for (uint64_t e = LOGUP_SCAN_BLOCK + blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
         e < p.n; e += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        const uint64_t b = e / LOGUP_SCAN_BLOCK;
        e_store4<F>(data + 4 * e, e_add<F>(e_load4<F>(data + 4 * e), e_load4<F>(sums + 4 * (b - 1))));
    }
}

}  // namespace

// Field-independent: words are moved, not combined.
extern "C" __global__ void logup_accumulator(const LogUpAccumulatorParams p) {
    const uint32_t* totals = reinterpret_cast<const uint32_t*>(p.totals);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    uint32_t* terminal = reinterpret_cast<uint32_t*>(p.terminal);
    const uint64_t height = p.height;
    for (uint64_t r = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; r < height;
         r += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
#pragma unroll
        for (int c = 0; c < 4; ++c) out[c * height + r] = r == 0 ? 0u : totals[4 * (r - 1) + c];
        if (r + 1 == height) {
#pragma unroll
            for (int c = 0; c < 4; ++c) terminal[c] = totals[4 * r + c];
        }
    }
}

#define SLOTPROOF_LOGUP(suffix, Field)                                                            \
    extern "C" __global__ void __launch_bounds__(128) logup_fractions_##suffix(                   \
        const LogUpParams p) {                                                                    \
        fraction_rows<Field>(p);                                                                  \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(LOGUP_SCAN_THREADS) logup_scan_block_##suffix(   \
        const LogUpScanParams p) {                                                                \
        scan_block<Field>(p);                                                                     \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(256) logup_scan_add_##suffix(                    \
        const LogUpScanParams p) {                                                                \
        scan_add<Field>(p);                                                                       \
    }

SLOTPROOF_LOGUP(kb, KoalaBear)
SLOTPROOF_LOGUP(bb, BabyBear)
