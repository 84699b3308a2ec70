#include "state.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "device_model.h"

namespace standin {

Driver& driver() {
    // Never destroyed: other libraries' exit handlers (cudarc's statics) may still call in.
    static Driver* d = [] {
        auto* d = new Driver();
        d->memory_limit = h100::DEVICE_MEMORY_BYTES;
        return d;
    }();
    return *d;
}

uintptr_t& current_context_id() {
    thread_local uintptr_t id = 0;
    return id;
}

CUresult usable_context(uintptr_t ctx_id, Context** out) {
    auto it = driver().contexts.find(ctx_id);
    if (it == driver().contexts.end() || !it->second.active) return cu::ERROR_INVALID_CONTEXT;
    if (it->second.sticky != cu::SUCCESS) return it->second.sticky;
    *out = &it->second;
    return cu::SUCCESS;
}

CUresult current_context(Context** out) {
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    uintptr_t id = current_context_id();
    if (id == 0) return cu::ERROR_INVALID_CONTEXT;
    return usable_context(id, out);
}

CUresult stream_context(CUstream stream, Context** out) {
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    uintptr_t id = handle_id(stream);
    if (id == 0 || id == cu::STREAM_LEGACY || id == cu::STREAM_PER_THREAD) {
        return current_context(out);
    }
    auto it = driver().streams.find(id);
    if (it == driver().streams.end()) return cu::ERROR_INVALID_HANDLE;
    return usable_context(it->second.ctx, out);
}

void release_allocation(std::map<uintptr_t, Allocation>::iterator it) {
    Driver& d = driver();
    standin_unregister_device_range(reinterpret_cast<void*>(it->first));
    std::free(reinterpret_cast<void*>(it->first));
    d.memory_used -= it->second.bytes;
    d.allocations.erase(it);
}

void release_context_resources(Context& ctx) {
    Driver& d = driver();
    for (auto it = d.allocations.begin(); it != d.allocations.end();) {
        auto next = std::next(it);
        if (it->second.ctx == ctx.id) release_allocation(it);
        it = next;
    }
    auto erase_owned = [&](auto& map) {
        for (auto it = map.begin(); it != map.end();) {
            if (it->second.ctx == ctx.id) {
                it = map.erase(it);
            } else {
                ++it;
            }
        }
    };
    erase_owned(d.streams);
    erase_owned(d.events);
    erase_owned(d.modules);
    erase_owned(d.functions);
    ctx.sticky = cu::SUCCESS;
}

std::map<uintptr_t, Allocation>::iterator find_device_range(uint64_t ptr, size_t bytes) {
    auto& allocs = driver().allocations;
    auto it = allocs.upper_bound(static_cast<uintptr_t>(ptr));
    if (it == allocs.begin()) return allocs.end();
    --it;
    uint64_t base = it->first;
    if (ptr < base || ptr - base > it->second.bytes || bytes > it->second.bytes - (ptr - base)) {
        return allocs.end();
    }
    return it;
}

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void log(const char* fmt, ...) {
    char line[2048];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    std::fprintf(stderr, "slotproof stand-in driver: %s\n", line);
}

}  // namespace standin
