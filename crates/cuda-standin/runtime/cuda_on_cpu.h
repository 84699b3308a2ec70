// CUDA-on-CPU: force-included (g++ -include) ahead of every kernels/*.cu, which are compiled
// unchanged as C++ for the host. Each CUDA thread runs as a fiber of the stand-in runtime
// (standin_runtime.cpp); this header maps the CUDA language and intrinsics onto it.
//
// The kernel translation units are compiled with -fsanitize=thread but linked without libtsan:
// every memory access then calls one of our __tsan_* hooks (standin_hooks.cpp), which is how
// bounds, alignment and shared-memory race checks reach unchanged sources. The helpers below
// that must not be checked call into the (uninstrumented) runtime instead of touching memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "standin_runtime.h"

// ---- Execution-space and launch qualifiers -------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __noinline__ __attribute__((noinline))
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __restrict__ __restrict
// Shared memory is per block; all fibers of a block run on one OS thread, and blocks running at
// the same time run on different OS threads, so thread-local storage is exactly block-shared
// storage. A block-scope thread_local is implicitly static, as __shared__ variables are.
#define __shared__ thread_local
#define __constant__

// ---- Vector types ----------------------------------------------------------------------------
// The device requires natural alignment for 8- and 16-byte vector accesses; loads and stores
// of uint2 / uint4 go through their copy operations, which have the runtime check the address
// (a compiler may split the copy into scalar accesses, which alone would hide a misalignment).
extern "C" void standin_vector_access(const void* addr, size_t bytes, int is_write);

using uint3 = standin_dim3;
using dim3 = standin_dim3;

#define STANDIN_VECTOR_COPY(T)                                                                  \
    T() = default;                                                                              \
    __attribute__((always_inline)) T(const T& o) {                                              \
        standin_vector_access(&o, sizeof(T), 0);                                                \
        copy_fields(o);                                                                         \
    }                                                                                           \
    __attribute__((always_inline)) T& operator=(const T& o) {                                   \
        standin_vector_access(&o, sizeof(T), 0);                                                \
        standin_vector_access(this, sizeof(T), 1);                                              \
        copy_fields(o);                                                                         \
        return *this;                                                                           \
    }

struct alignas(8) uint2 {
    uint32_t x, y;
    STANDIN_VECTOR_COPY(uint2)
    __attribute__((always_inline)) uint2(uint32_t a, uint32_t b) : x(a), y(b) {}

   private:
    __attribute__((always_inline)) void copy_fields(const uint2& o) {
        x = o.x;
        y = o.y;
    }
};

struct alignas(16) uint4 {
    uint32_t x, y, z, w;
    STANDIN_VECTOR_COPY(uint4)
    __attribute__((always_inline)) uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
        : x(a), y(b), z(c), w(d) {}

   private:
    __attribute__((always_inline)) void copy_fields(const uint4& o) {
        x = o.x;
        y = o.y;
        z = o.z;
        w = o.w;
    }
};

#undef STANDIN_VECTOR_COPY

inline __attribute__((always_inline)) uint2 make_uint2(uint32_t x, uint32_t y) { return uint2(x, y); }
inline __attribute__((always_inline)) uint4 make_uint4(uint32_t x, uint32_t y, uint32_t z, uint32_t w) {
    return uint4(x, y, z, w);
}

// ---- Thread geometry -------------------------------------------------------------------------
// Returned by value, so that reading threadIdx.x is no memory access of the kernel (a hooked
// access to runtime state would be misclassified). `const`: fixed for the fiber running a call.
extern "C" uint3 standin_thread_idx(void) __attribute__((const));
extern "C" uint3 standin_block_idx(void) __attribute__((const));
extern "C" uint3 standin_block_dim(void) __attribute__((const));
extern "C" uint3 standin_grid_dim(void) __attribute__((const));
#define threadIdx (standin_thread_idx())
#define blockIdx (standin_block_idx())
#define blockDim (standin_block_dim())
#define gridDim (standin_grid_dim())
constexpr int warpSize = 32;

// ---- Synchronisation -------------------------------------------------------------------------
extern "C" void standin_syncthreads(void);
extern "C" uint64_t standin_shfl(uint32_t mask, uint64_t value, int kind, int arg, int width);
#define __syncthreads() standin_syncthreads()
inline void __syncwarp(uint32_t = 0xffffffffu) {}

namespace standin_cuda {
enum ShflKind { SHFL_IDX = 0, SHFL_UP = 1, SHFL_DOWN = 2, SHFL_XOR = 3 };

template <class T>
inline __attribute__((always_inline)) T shfl(uint32_t mask, T v, int kind, int arg, int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a <= 8-byte value");
    uint64_t bits = 0;
    __builtin_memcpy(&bits, &v, sizeof(T));
    bits = standin_shfl(mask, bits, kind, arg, width);
    T r;
    __builtin_memcpy(&r, &bits, sizeof(T));
    return r;
}
}  // namespace standin_cuda

template <class T>
inline T __shfl_sync(uint32_t mask, T v, int src, int width = 32) {
    return standin_cuda::shfl(mask, v, standin_cuda::SHFL_IDX, src, width);
}
template <class T>
inline T __shfl_up_sync(uint32_t mask, T v, unsigned delta, int width = 32) {
    return standin_cuda::shfl(mask, v, standin_cuda::SHFL_UP, static_cast<int>(delta), width);
}
template <class T>
inline T __shfl_down_sync(uint32_t mask, T v, unsigned delta, int width = 32) {
    return standin_cuda::shfl(mask, v, standin_cuda::SHFL_DOWN, static_cast<int>(delta), width);
}
template <class T>
inline T __shfl_xor_sync(uint32_t mask, T v, int lane_mask, int width = 32) {
    return standin_cuda::shfl(mask, v, standin_cuda::SHFL_XOR, lane_mask, width);
}

// ---- Atomics (real atomics: blocks run in parallel). The runtime checks the address. -------
extern "C" uint64_t standin_atomic(void* addr, int bytes, int op, uint64_t value, uint64_t compare);
namespace standin_cuda {
enum AtomicOp { ATOM_ADD = 0, ATOM_MIN = 1, ATOM_MAX = 2, ATOM_EXCH = 3, ATOM_CAS = 4, ATOM_AND = 5, ATOM_OR = 6, ATOM_XOR = 7 };
template <class T>
inline T atomic(T* addr, int op, T value, T compare = T()) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "32- or 64-bit atomic");
    static_assert(std::is_integral<T>::value, "integer atomic");
    return static_cast<T>(standin_atomic(addr, sizeof(T) | (std::is_signed<T>::value ? 0x100 : 0), op,
                                         static_cast<uint64_t>(value), static_cast<uint64_t>(compare)));
}
}  // namespace standin_cuda
#define STANDIN_ATOMIC(name, op)                                                                \
    inline int name(int* a, int v) { return standin_cuda::atomic(a, op, v); }                   \
    inline unsigned int name(unsigned int* a, unsigned int v) { return standin_cuda::atomic(a, op, v); } \
    inline unsigned long long name(unsigned long long* a, unsigned long long v) {               \
        return standin_cuda::atomic(a, op, v);                                                  \
    }                                                                                           \
    inline long long name(long long* a, long long v) { return standin_cuda::atomic(a, op, v); }
STANDIN_ATOMIC(atomicAdd, standin_cuda::ATOM_ADD)
STANDIN_ATOMIC(atomicMin, standin_cuda::ATOM_MIN)
STANDIN_ATOMIC(atomicMax, standin_cuda::ATOM_MAX)
STANDIN_ATOMIC(atomicExch, standin_cuda::ATOM_EXCH)
STANDIN_ATOMIC(atomicAnd, standin_cuda::ATOM_AND)
STANDIN_ATOMIC(atomicOr, standin_cuda::ATOM_OR)
STANDIN_ATOMIC(atomicXor, standin_cuda::ATOM_XOR)
#undef STANDIN_ATOMIC
inline unsigned int atomicCAS(unsigned int* a, unsigned int cmp, unsigned int v) {
    return standin_cuda::atomic(a, standin_cuda::ATOM_CAS, v, cmp);
}
inline unsigned long long atomicCAS(unsigned long long* a, unsigned long long cmp, unsigned long long v) {
    return standin_cuda::atomic(a, standin_cuda::ATOM_CAS, v, cmp);
}
inline int atomicCAS(int* a, int cmp, int v) { return standin_cuda::atomic(a, standin_cuda::ATOM_CAS, v, cmp); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- Loads through the read-only cache: plain (checked) loads ------------------------------
template <class T>
inline __attribute__((always_inline)) T __ldg(const T* p) {
    return *p;
}

// ---- Integer intrinsics ----------------------------------------------------------------------
inline __attribute__((always_inline)) uint32_t __umulhi(uint32_t a, uint32_t b) {
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}
inline __attribute__((always_inline)) int __mulhi(int a, int b) {
    return static_cast<int>((static_cast<int64_t>(a) * b) >> 32);
}
inline __attribute__((always_inline)) unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline __attribute__((always_inline)) uint32_t __brev(uint32_t x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
inline __attribute__((always_inline)) unsigned long long __brevll(unsigned long long x) {
    return (static_cast<unsigned long long>(__brev(static_cast<uint32_t>(x))) << 32) |
           __brev(static_cast<uint32_t>(x >> 32));
}
inline __attribute__((always_inline)) int __popc(uint32_t x) { return __builtin_popcount(x); }
inline __attribute__((always_inline)) int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline __attribute__((always_inline)) int __clz(uint32_t x) { return x == 0 ? 32 : __builtin_clz(x); }
inline __attribute__((always_inline)) int __clzll(unsigned long long x) { return x == 0 ? 64 : __builtin_clzll(x); }
inline __attribute__((always_inline)) int __ffs(uint32_t x) { return __builtin_ffs(static_cast<int>(x)); }
inline __attribute__((always_inline)) int __ffsll(unsigned long long x) {
    return __builtin_ffsll(static_cast<long long>(x));
}
