// Quotient evaluation: one interpreter for every AIR. Each thread runs the device constraint
// program (the prover's compiled instruction list, registers renumbered by liveness and with
// accumulate instructions that fold each constraint with its power of alpha as soon as it is
// computed) on its rows of the quotient domain, and writes C_alpha(x) / Z_H(x).
//
// All threads of a warp execute the same instruction at the same time (the program has no
// branches), so the opcode switch does not diverge and every instruction word is a broadcast
// load. Registers live in a global scratch file laid out [register][thread], so that a warp's
// accesses to one register are coalesced.
//
// The selectors follow p3's TwoAdicMultiplicativeCoset::selectors_on_coset (values, not
// formulas, must agree, and field arithmetic is exact):
//   is_first_row = Z_H(x) / (x - 1), is_last_row = Z_H(x) / (x - h^-1), is_transition = x - h^-1,
//   1/Z_H(x) periodic with period 2^(log_q - log_n) (uploaded as a small table).
#include "field.cuh"
#include "prover_params.cuh"

using namespace slotproof;

namespace {

template <class F>
__device__ __forceinline__ Ext4<F> e_load(const uint32_t* p) {
    Ext4<F> r;
#pragma unroll
    for (int k = 0; k < 4; ++k) r.c[k] = p[k];
    return r;
}

template <class F>
__device__ __forceinline__ Ext4<F> e_scale(const Ext4<F>& a, uint32_t s) {
    Ext4<F> r;
#pragma unroll
    for (int k = 0; k < 4; ++k) r.c[k] = f_mul<F>(a.c[k], s);
    return r;
}

// Register file accessors: base register r of this thread at scratch[r * T + t], extension
// register r at scratch[(B + 4r + k) * T + t].
struct Regs {
    uint32_t* base;  // scratch + t
    uint32_t* ext;   // scratch + B * T + t
    uint32_t stride; // T
};

template <class F>
__device__ __forceinline__ Ext4<F> ext_get(const Regs& r, uint32_t i) {
    Ext4<F> v;
#pragma unroll
    for (int k = 0; k < 4; ++k) v.c[k] = r.ext[(4ull * i + k) * r.stride];
    return v;
}

template <class F>
__device__ __forceinline__ void ext_set(const Regs& r, uint32_t i, const Ext4<F>& v) {
#pragma unroll
    for (int k = 0; k < 4; ++k) r.ext[(4ull * i + k) * r.stride] = v.c[k];
}

template <class F>
__device__ void quotient_rows(const QuotientParams& p) {
    const uint32_t t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= p.num_threads) return;
    const uint32_t* prog = reinterpret_cast<const uint32_t*>(p.program);
    const uint32_t* main = reinterpret_cast<const uint32_t*>(p.main);
    const uint32_t* perm = reinterpret_cast<const uint32_t*>(p.perm);
    const uint32_t* base_consts = reinterpret_cast<const uint32_t*>(p.base_consts);
    const uint32_t* ext_consts = reinterpret_cast<const uint32_t*>(p.ext_consts);
    const uint32_t* publics = reinterpret_cast<const uint32_t*>(p.public_values);
    const uint32_t* challenges = reinterpret_cast<const uint32_t*>(p.challenges);
    const uint32_t* perm_values = reinterpret_cast<const uint32_t*>(p.perm_values);
    const uint32_t* weights = reinterpret_cast<const uint32_t*>(p.weights);
    const uint32_t* zh = reinterpret_cast<const uint32_t*>(p.zh);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    uint32_t* scratch = reinterpret_cast<uint32_t*>(p.scratch);

    Regs regs;
    regs.stride = p.num_threads;
    regs.base = scratch + t;
    regs.ext = scratch + static_cast<uint64_t>(p.num_base_regs) * p.num_threads + t;

    const uint32_t q_size = 1u << p.log_quotient;
    const uint32_t q_mask = q_size - 1;
    const uint32_t next_step = 1u << (p.log_quotient - p.log_trace);
    const uint32_t zh_mask = next_step - 1;
    const uint32_t one = to_monty<F>(1u);

    // j is the storage (bit-reversed) row of the inputs this thread reads as its current row, so
    // that a warp's loads of one column are contiguous; i is the quotient-domain index.
    for (uint32_t j = t; j < q_size; j += p.num_threads) {
        const uint32_t i = reverse_bits(j, p.log_quotient);
        const uint32_t row_next = reverse_bits((i + next_step) & q_mask, p.log_quotient);
        const uint32_t x = f_mul<F>(p.shift, f_pow<F>(p.g_quotient, i));
        const uint32_t z_h = zh[i & zh_mask];
        const uint32_t inv_z_h = zh[next_step + (i & zh_mask)];
        const uint32_t is_transition = f_sub<F>(x, p.h_inv);
        const uint32_t is_first = f_mul<F>(z_h, f_inv<F>(f_sub<F>(x, one)));
        const uint32_t is_last = f_mul<F>(z_h, f_inv<F>(is_transition));

        Ext4<F> acc = {{0u, 0u, 0u, 0u}};
        for (uint32_t n = 0; n < p.num_instructions; ++n) {
            const uint4 ins = __ldg(reinterpret_cast<const uint4*>(prog) + n);
            const uint32_t dst = ins.y, a = ins.z, b = ins.w;
            switch (ins.x) {
                case Q_LOAD_MAIN:
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] =
                        main[a * p.main_stride + (b == 0 ? j : row_next)];
                    break;
                case Q_LOAD_PUBLIC:
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] = publics[a];
                    break;
                case Q_LOAD_CONST:
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] = base_consts[a];
                    break;
                case Q_LOAD_IS_FIRST_ROW:
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] = is_first;
                    break;
                case Q_LOAD_IS_LAST_ROW:
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] = is_last;
                    break;
                case Q_LOAD_IS_TRANSITION:
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] = is_transition;
                    break;
                case Q_ADD:
                case Q_SUB:
                case Q_MUL: {
                    const uint32_t x0 = regs.base[static_cast<uint64_t>(a) * regs.stride];
                    const uint32_t x1 = regs.base[static_cast<uint64_t>(b) * regs.stride];
                    const uint32_t r = ins.x == Q_ADD   ? f_add<F>(x0, x1)
                                       : ins.x == Q_SUB ? f_sub<F>(x0, x1)
                                                        : f_mul<F>(x0, x1);
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] = r;
                    break;
                }
                case Q_NEG:
                    regs.base[static_cast<uint64_t>(dst) * regs.stride] =
                        f_neg<F>(regs.base[static_cast<uint64_t>(a) * regs.stride]);
                    break;
                case Q_EXT_LOAD_PERMUTATION: {
                    const uint32_t row = b == 0 ? j : row_next;
                    Ext4<F> v;
#pragma unroll
                    for (int k = 0; k < 4; ++k) v.c[k] = perm[(4ull * a + k) * p.perm_stride + row];
                    ext_set<F>(regs, dst, v);
                    break;
                }
                case Q_EXT_LOAD_CHALLENGE:
                    ext_set<F>(regs, dst, e_load<F>(challenges + 4ull * a));
                    break;
                case Q_EXT_LOAD_PERMUTATION_VALUE:
                    ext_set<F>(regs, dst, e_load<F>(perm_values + 4ull * a));
                    break;
                case Q_EXT_LOAD_CONST:
                    ext_set<F>(regs, dst, e_load<F>(ext_consts + 4ull * a));
                    break;
                case Q_EXT_FROM_BASE: {
                    Ext4<F> v = {{regs.base[static_cast<uint64_t>(a) * regs.stride], 0u, 0u, 0u}};
                    ext_set<F>(regs, dst, v);
                    break;
                }
                case Q_EXT_ADD:
                case Q_EXT_SUB:
                case Q_EXT_MUL: {
                    const Ext4<F> x0 = ext_get<F>(regs, a);
                    const Ext4<F> x1 = ext_get<F>(regs, b);
                    const Ext4<F> r = ins.x == Q_EXT_ADD   ? e_add<F>(x0, x1)
                                      : ins.x == Q_EXT_SUB ? e_sub<F>(x0, x1)
                                                           : e_mul<F>(x0, x1);
                    ext_set<F>(regs, dst, r);
                    break;
                }
                case Q_EXT_NEG: {
                    const Ext4<F> x0 = ext_get<F>(regs, a);
                    Ext4<F> r;
#pragma unroll
                    for (int k = 0; k < 4; ++k) r.c[k] = f_neg<F>(x0.c[k]);
                    ext_set<F>(regs, dst, r);
                    break;
                }
                case Q_ACC_BASE: {
                    const uint32_t v = regs.base[static_cast<uint64_t>(a) * regs.stride];
                    acc = e_add<F>(acc, e_scale<F>(e_load<F>(weights + 4ull * b), v));
                    break;
                }
                default: {  // Q_ACC_EXT
                    acc = e_add<F>(acc, e_mul<F>(e_load<F>(weights + 4ull * b), ext_get<F>(regs, a)));
                    break;
                }
            }
        }
        const Ext4<F> q = e_scale<F>(acc, inv_z_h);
#pragma unroll
        for (int k = 0; k < 4; ++k) out[static_cast<uint64_t>(k) * q_size + i] = q.c[k];
    }
}

}  // namespace

// Field-independent: words are moved, not combined.
extern "C" __global__ void quotient_split(const QuotientSplitParams p) {
    const uint32_t* q = reinterpret_cast<const uint32_t*>(p.quotient);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint64_t q_size = 1ull << p.log_quotient;
    const uint64_t chunk_rows = q_size >> p.log_chunks;
    const uint64_t chunk_mask = (1ull << p.log_chunks) - 1;
    const uint64_t total = 4ull * q_size;
    for (uint64_t w = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; w < total;
         w += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
        // w = k * q_size + i: coefficient k of row i goes to chunk i mod c, row i / c, column k.
        const uint64_t k = w >> p.log_quotient;
        const uint64_t i = w & (q_size - 1);
        const uint64_t chunk = i & chunk_mask;
        const uint64_t row = i >> p.log_chunks;
        out[chunk * 4 * chunk_rows + k * chunk_rows + row] = q[w];
    }
}

#define SLOTPROOF_QUOTIENT(suffix, Field)                                                         \
    extern "C" __global__ void __launch_bounds__(128) quotient_eval_##suffix(                     \
        const QuotientParams p) {                                                                 \
        quotient_rows<Field>(p);                                                                  \
    }

SLOTPROOF_QUOTIENT(kb, KoalaBear)
SLOTPROOF_QUOTIENT(bb, BabyBear)
