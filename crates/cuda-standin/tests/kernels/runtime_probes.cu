// Kernels for the stand-in runtime's own tests (built only into libcuda-standin-test.so): one
// correct kernel using barriers, shuffles and shared memory, one that records the order threads
// run in, and purpose-written faulty kernels, one per check the runtime makes.
#include <cstdint>

struct ProbeParams {
    uint64_t in;   // const uint32_t*
    uint64_t out;  // uint32_t*
    uint32_t n;    // words of `in` / `out` the kernel may touch
    uint32_t mode;
};

// out[block] = sum of in over the block (warp shuffles, then shared memory across a barrier);
// out[gridDim.x + i] = inclusive prefix sum of in within each warp (__shfl_up_sync).
extern "C" __global__ void __launch_bounds__(1024) standin_test_block_sum(const ProbeParams p) {
    __shared__ uint32_t warp_totals[32];
    const uint32_t* in = reinterpret_cast<const uint32_t*>(p.in);
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    const uint32_t lane = threadIdx.x & 31u;
    uint32_t v = in[i];
    uint32_t scan = v;
    for (uint32_t d = 1; d < 32; d <<= 1) {
        const uint32_t up = __shfl_up_sync(0xffffffffu, scan, d);
        if (lane >= d) scan += up;
    }
    out[gridDim.x + i] = scan;
    for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xffffffffu, v, d);
    if (lane == 0) warp_totals[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
        uint32_t s = 0;
        for (uint32_t w = 0; w < blockDim.x / 32; ++w) s += warp_totals[w];
        out[blockIdx.x] = s;
    }
}

// out[thread] = the position at which the thread ran (one block, no barrier).
extern "C" __global__ void standin_test_order(const ProbeParams p) {
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    out[threadIdx.x] = atomicAdd(reinterpret_cast<unsigned int*>(out) + blockDim.x, 1u);
}

// mode 0: every thread writes one shared word (write-write race);
// mode 1: thread 0 writes a word that thread 1 reads without a barrier between (write-read race);
// mode 2: the same exchange with a barrier between (correct).
extern "C" __global__ void standin_test_shared_race(const ProbeParams p) {
    __shared__ uint32_t cells[64];
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    if (p.mode == 0) {
        cells[0] = threadIdx.x;
        __syncthreads();
        out[threadIdx.x] = cells[0];
        return;
    }
    if (threadIdx.x == 0) cells[1] = 7;
    if (p.mode == 2) __syncthreads();
    if (threadIdx.x == 1) out[0] = cells[1];
    if (p.mode != 2) __syncthreads();
}

// Writes out[i] for i < n + mode: mode 1 writes one word past the end.
extern "C" __global__ void standin_test_out_of_bounds(const ProbeParams p) {
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < p.n + p.mode) out[i] = i;
}

// uint4 loads from in + 4 * thread + mode words: mode 1 is misaligned by one word.
extern "C" __global__ void standin_test_misaligned_uint4(const ProbeParams p) {
    const uint32_t* in = reinterpret_cast<const uint32_t*>(p.in);
    uint4* out = reinterpret_cast<uint4*>(p.out);
    const uint4 v = *reinterpret_cast<const uint4*>(in + 4 * threadIdx.x + p.mode);
    out[threadIdx.x] = v;
}

// Full-mask shuffle; in mode 1 lane 5 of each warp skips it.
extern "C" __global__ void standin_test_shuffle_lane(const ProbeParams p) {
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    uint32_t v = threadIdx.x;
    if (p.mode == 0 || (threadIdx.x & 31u) != 5) v = __shfl_xor_sync(0xffffffffu, v, 1);
    out[threadIdx.x] = v;
}

// A barrier all threads reach; in mode 1 the first 16 threads return before it.
extern "C" __global__ void standin_test_barrier(const ProbeParams p) {
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    if (p.mode == 1 && threadIdx.x < 16) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}

// Dynamic shared memory of n words: thread t writes word t + mode (mode 1: one past the end).
extern "C" __global__ void standin_test_dynamic_shared(const ProbeParams p) {
    extern __shared__ uint32_t dynamic_words[];
    uint32_t* out = reinterpret_cast<uint32_t*>(p.out);
    if (threadIdx.x < p.n) dynamic_words[threadIdx.x + p.mode] = threadIdx.x;
    __syncthreads();
    if (threadIdx.x < p.n) out[threadIdx.x] = dynamic_words[threadIdx.x];
}
