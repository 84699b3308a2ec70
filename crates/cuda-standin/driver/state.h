// The driver's bookkeeping: contexts, streams, events, modules, functions, device allocations and
// pinned host memory, behind one mutex; and the "engine" lock under which work executes.
//
// Handles given out are ids from one counter that never repeats, so a destroyed or foreign
// handle is recognised (CUDA_ERROR_INVALID_HANDLE / INVALID_CONTEXT) instead of being
// dereferenced. Work runs at enqueue, one operation at a time under `engine`, which preserves
// every stream's order; events record host timestamps.
#pragma once
#include <cstdarg>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuda_abi.h"
#include "standin_runtime.h"

namespace standin {

struct Context {
    uintptr_t id = 0;
    bool primary = false;
    // A primary context keeps its handle across release/retain; between them it is inactive.
    bool active = false;
    unsigned flags = 0;
    // A kernel fault makes the context unusable until it is destroyed (the real driver's
    // "sticky" errors): every call on it then returns this code.
    CUresult sticky = cu::SUCCESS;
    size_t limits[10] = {1024, 1 << 20, 8 << 20, 2, 2048, 64, 0, 0, 0, 0};
    int cache_config = 0;
};

struct Stream {
    uintptr_t id = 0;
    uintptr_t ctx = 0;
    unsigned flags = 0;
    int priority = 0;
};

struct Event {
    uintptr_t id = 0;
    uintptr_t ctx = 0;
    unsigned flags = 0;
    bool recorded = false;
    int64_t ns = 0;  // host steady-clock time of the last record
};

struct Function {
    uintptr_t id = 0;
    uintptr_t module = 0;
    uintptr_t ctx = 0;
    std::string name;
    const standin_kernel* kernel = nullptr;
    uint32_t max_threads = 0;       // launch bounds and register file, whichever is lower
    uint32_t static_shared = 0;     // bytes of static __shared__
    uint32_t max_dynamic_shared = 0;  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    int carveout = -1;
    int registers = -1;             // per thread, from the cubin; -1 when the image is PTX
    int binary_version = 0;
    int ptx_version = 0;
    std::vector<size_t> param_offsets;
    std::vector<size_t> param_sizes;
    size_t param_bytes = 0;
};

struct Module {
    uintptr_t id = 0;
    uintptr_t ctx = 0;
    std::vector<uintptr_t> functions;
};

struct Allocation {
    size_t bytes = 0;
    uintptr_t ctx = 0;
};

struct Driver {
    std::mutex mu;      // guards everything below
    std::mutex engine;  // held while work executes (launches, copies, memsets, (un)registering memory)
    bool initialized = false;
    uint64_t memory_limit = 0;
    uint64_t memory_used = 0;
    uintptr_t next_id = 0x5100000;
    uintptr_t primary_id = 0;
    unsigned primary_refs = 0;
    unsigned primary_flags = 0;
    std::unordered_map<uintptr_t, Context> contexts;
    std::unordered_map<uintptr_t, Stream> streams;
    std::unordered_map<uintptr_t, Event> events;
    std::unordered_map<uintptr_t, Module> modules;
    std::unordered_map<uintptr_t, Function> functions;
    std::map<uintptr_t, Allocation> allocations;  // device memory by base address
    std::map<uintptr_t, size_t> pinned;           // cuMemHostAlloc'd host memory
    std::map<uintptr_t, size_t> registered;       // cuMemHostRegister'd host ranges

    uintptr_t new_id() { return next_id += 0x40; }
};

Driver& driver();
// The calling thread's current context (0: none).
uintptr_t& current_context_id();

// The following expect `driver().mu` held.
// The current context, usable: NOT_INITIALIZED, INVALID_CONTEXT or its sticky error otherwise.
CUresult current_context(Context** out);
// The context work on `stream` runs in (the current one for the default streams).
CUresult stream_context(CUstream stream, Context** out);
// The live context of an object, or INVALID_CONTEXT / its sticky error.
CUresult usable_context(uintptr_t ctx_id, Context** out);
// Free everything a context owns (its memory, streams, events, modules); needs `engine` too.
void release_context_resources(Context& ctx);
// Free one device allocation (needs `engine` too).
void release_allocation(std::map<uintptr_t, Allocation>::iterator it);
// The allocation holding [ptr, ptr + bytes), or end().
std::map<uintptr_t, Allocation>::iterator find_device_range(uint64_t ptr, size_t bytes);

// Monotonic host time in nanoseconds.
int64_t now_ns();
// One line on stderr, prefixed so that a test failure says where it came from.
void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

inline uintptr_t handle_id(const void* h) { return reinterpret_cast<uintptr_t>(h); }
template <class H>
inline H to_handle(uintptr_t id) {
    return reinterpret_cast<H>(id);
}

}  // namespace standin
