// Internal structures of the kernel runtime, shared by its translation units (registry, executor,
// access hooks). Not part of the seam with the driver (that is standin_runtime.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "standin_kernel_entry.h"
#include "standin_runtime.h"

#define STANDIN_HIDDEN __attribute__((visibility("hidden")))

namespace standin {

// CUresult values the runtime returns (the driver passes them on unchanged).
constexpr int kSuccess = 0;
constexpr int kInvalidValue = 1;           // CUDA_ERROR_INVALID_VALUE
constexpr int kIllegalAddress = 700;       // CUDA_ERROR_ILLEGAL_ADDRESS
constexpr int kLaunchOutOfResources = 701; // CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES
constexpr int kMisalignedAddress = 716;    // CUDA_ERROR_MISALIGNED_ADDRESS
constexpr int kLaunchFailed = 719;         // CUDA_ERROR_LAUNCH_FAILED

constexpr uint32_t kMaxBlockThreads = 1024;
constexpr size_t kMaxSharedBytes = 227 * 1024;  // H100 opt-in maximum per block
constexpr uint32_t kMaxWorkers = 16;

// Fiber stacks: each is kStackBytes, aligned to kStackBytes, so that the running fiber finds its
// own record from the stack pointer alone (no thread-local lookup in the per-access hooks). The
// lowest page holds the header, the next one is a guard page.
constexpr size_t kStackBytes = 64 * 1024;
constexpr size_t kPageBytes = 4096;

}  // namespace standin

// The registered kernel (the opaque type of the seam header).
struct standin_kernel {
    standin_kernel_desc desc;
    std::vector<size_t> param_sizes;
};

namespace standin {

struct Range {
    uintptr_t lo, hi;  // [lo, hi)
};

enum class FiberState : uint8_t { Runnable, Running, AtBarrier, AtShuffle, Exited };

struct Worker;
struct Launch;

struct Fiber {
    void* sp = nullptr;  // saved stack pointer while switched out
    uint8_t* stack = nullptr;
    Worker* worker = nullptr;
    uint32_t tid = 0;  // linear thread index within the block
    standin_dim3 thread_idx{};
    FiberState state = FiberState::Exited;
    // The pending shuffle while state == AtShuffle; the result once the warp completes it.
    uint32_t shfl_mask = 0;
    int shfl_kind = 0, shfl_arg = 0, shfl_width = 32;
    uint64_t shfl_value = 0, shfl_result = 0;
};

struct StackHeader {
    Fiber* fiber;
};

// One word of shared memory in the current barrier interval: who wrote it, who read it.
struct ShadowCell {
    uint32_t epoch;
    uint16_t writer;  // thread index, or kNobody
    uint16_t reader;  // thread index, kNobody, or kSeveral
};
constexpr uint16_t kNobody = 0xffff;
constexpr uint16_t kSeveral = 0xfffe;

// One OS thread's executor: its fiber stacks, the shared memory it gives its blocks (its
// thread-local block of this library) and the race detector's shadow of that memory.
struct Worker {
    uint32_t slot = 0;
    void* sched_sp = nullptr;
    std::vector<Fiber> fibers;
    uint8_t* stacks = nullptr;  // kMaxBlockThreads stacks, reserved in the global region

    // This OS thread's instance of the library's TLS block (static and dynamic __shared__).
    uintptr_t tls_lo = 0, tls_size = 0;
    uint64_t tls_owner = 0;  // the thread (its TLS address) the range above was read for
    std::vector<Range> dynamic_shared;  // this thread's dynamic shared arrays
    std::vector<ShadowCell> shadow;
    uint32_t epoch = 0;

    // The block being run.
    Launch* launch = nullptr;
    standin_dim3 block_idx{};
    uint32_t block_threads = 0;
    std::vector<uint32_t> runnable;
    uint32_t exited = 0, at_barrier = 0, at_shuffle = 0;
    uint64_t rng = 0;
    bool faulted = false;
    uintptr_t cache_lo = 0, cache_hi = 0;  // last device range hit
};

struct Launch {
    const standin_kernel* kernel;
    standin_dim3 grid, block;
    uint32_t dynamic_shared_bytes;
    void** params;
    standin_options options;
    std::shared_ptr<const std::vector<Range>> ranges;
    uint64_t total_blocks;
    std::atomic<uint64_t> next_block{0};
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    int error_code = kSuccess;
    std::string error;
};

// Registry (standin_registry.cpp).
STANDIN_HIDDEN std::shared_ptr<const std::vector<Range>> device_ranges_snapshot();
STANDIN_HIDDEN standin_options current_options();
STANDIN_HIDDEN const std::vector<void* (*)(void)>& dynamic_shared_getters();

// Executor (standin_exec.cpp).
STANDIN_HIDDEN Fiber* current_fiber();  // null when not running on a fiber
// Records a fault of the running fiber and leaves it for good (the access is not performed).
[[noreturn]] STANDIN_HIDDEN void fiber_fault(int code, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Access checks (standin_hooks.cpp): addr/bytes of a kernel access, flags below.
constexpr int kAccessWrite = 1;
constexpr int kAccessCheckAlign = 2;
constexpr int kAccessAtomic = 4;
STANDIN_HIDDEN void check_access(uintptr_t addr, size_t bytes, int flags);

}  // namespace standin
