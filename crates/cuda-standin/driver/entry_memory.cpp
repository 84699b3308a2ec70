// Device memory (host memory registered with the kernel runtime, counted against the device
// memory size that tests may lower), copies and memsets, and pinned host memory.
//
// Fresh device memory is filled with 0xFF bytes: real device memory is uninitialised, and a
// pattern that is no canonical field element makes a read of never-written memory show.
#include <cstdlib>
#include <cstring>

#include "device_model.h"
#include "state.h"

using namespace standin;

namespace {

constexpr size_t PAGE = 4096;

size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

CUresult allocate(Context* ctx, CUdeviceptr* dptr, size_t bytes) {
    Driver& d = driver();
    if (!dptr || bytes == 0) return cu::ERROR_INVALID_VALUE;
    if (bytes > d.memory_limit || d.memory_used > d.memory_limit - bytes) {
        return cu::ERROR_OUT_OF_MEMORY;
    }
    void* p = std::aligned_alloc(h100::ALLOCATION_ALIGNMENT,
                                 round_up(bytes, h100::ALLOCATION_ALIGNMENT));
    if (!p) return cu::ERROR_OUT_OF_MEMORY;
    std::memset(p, 0xFF, bytes);
    d.allocations.emplace(reinterpret_cast<uintptr_t>(p), Allocation{bytes, ctx->id});
    d.memory_used += bytes;
    standin_register_device_range(p, bytes);
    *dptr = reinterpret_cast<uintptr_t>(p);
    return cu::SUCCESS;
}

CUresult free_device(CUdeviceptr dptr) {
    auto it = driver().allocations.find(static_cast<uintptr_t>(dptr));
    if (it == driver().allocations.end()) return cu::ERROR_INVALID_VALUE;
    release_allocation(it);
    return cu::SUCCESS;
}

// A host pointer of a copy must not be device memory: on a GPU the CPU could not read it.
bool host_range_ok(const void* p, size_t bytes) {
    if (!p) return false;
    auto& allocs = driver().allocations;
    uintptr_t start = reinterpret_cast<uintptr_t>(p);
    auto it = allocs.upper_bound(start + bytes - 1);
    if (it == allocs.begin()) return true;
    --it;
    return it->first + it->second.bytes <= start;
}

enum class Direction { HtoD, DtoH, DtoD };

// Validate under `mu`, then copy with only `engine` held.
CUresult copy(Context* ctx, Direction dir, void* dst, const void* src, size_t bytes,
              std::unique_lock<std::mutex>& lk) {
    (void)ctx;
    if (bytes == 0) return cu::SUCCESS;
    auto dev_ok = [&](const void* p) {
        return find_device_range(reinterpret_cast<uintptr_t>(p), bytes) != driver().allocations.end();
    };
    bool ok = false;
    switch (dir) {
        case Direction::HtoD: ok = dev_ok(dst) && host_range_ok(src, bytes); break;
        case Direction::DtoH: ok = dev_ok(src) && host_range_ok(dst, bytes); break;
        case Direction::DtoD: ok = dev_ok(src) && dev_ok(dst); break;
    }
    if (!ok) {
        log("memcpy %s of %zu bytes: dst %p or src %p is not %s", 
            dir == Direction::HtoD ? "HtoD" : dir == Direction::DtoH ? "DtoH" : "DtoD", bytes, dst,
            src, "inside one allocation of the right kind");
        return cu::ERROR_INVALID_VALUE;
    }
    lk.unlock();
    std::memmove(dst, src, bytes);
    return cu::SUCCESS;
}

CUresult memset_words(Context* ctx, CUdeviceptr dst, uint32_t value, size_t width, size_t count,
                      std::unique_lock<std::mutex>& lk) {
    (void)ctx;
    if (dst % width != 0) return cu::ERROR_INVALID_VALUE;
    if (count == 0) return cu::SUCCESS;
    if (count > SIZE_MAX / width ||
        find_device_range(dst, count * width) == driver().allocations.end()) {
        return cu::ERROR_INVALID_VALUE;
    }
    lk.unlock();
    auto* p = reinterpret_cast<unsigned char*>(dst);
    if (width == 1) {
        std::memset(p, static_cast<int>(value & 0xFF), count);
    } else if (width == 2) {
        auto v = static_cast<uint16_t>(value);
        for (size_t i = 0; i < count; ++i) std::memcpy(p + 2 * i, &v, 2);
    } else {
        for (size_t i = 0; i < count; ++i) std::memcpy(p + 4 * i, &value, 4);
    }
    return cu::SUCCESS;
}

// The shape of every work-executing entry point: engine, then bookkeeping, then the work.
template <class Work>
CUresult on_stream(CUstream stream, Work work) {
    std::lock_guard<std::mutex> engine(driver().engine);
    std::unique_lock<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = stream_context(stream, &ctx)) return rc;
    return work(ctx, lk);
}

}  // namespace

extern "C" {

CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
    return on_stream(nullptr, [&](Context* ctx, auto&) { return allocate(ctx, dptr, bytes); });
}

CUresult cuMemAllocAsync(CUdeviceptr* dptr, size_t bytes, CUstream stream) {
    return on_stream(stream, [&](Context* ctx, auto&) { return allocate(ctx, dptr, bytes); });
}

CUresult cuMemFree_v2(CUdeviceptr dptr) {
    return on_stream(nullptr, [&](Context*, auto&) { return free_device(dptr); });
}

CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream stream) {
    return on_stream(stream, [&](Context*, auto&) { return free_device(dptr); });
}

CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!free_bytes || !total_bytes) return cu::ERROR_INVALID_VALUE;
    Driver& d = driver();
    *total_bytes = d.memory_limit;
    *free_bytes = d.memory_used < d.memory_limit ? d.memory_limit - d.memory_used : 0;
    return cu::SUCCESS;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
    return on_stream(nullptr, [&](Context* ctx, auto& lk) {
        return copy(ctx, Direction::HtoD, reinterpret_cast<void*>(dst), src, bytes, lk);
    });
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, CUstream stream) {
    return on_stream(stream, [&](Context* ctx, auto& lk) {
        return copy(ctx, Direction::HtoD, reinterpret_cast<void*>(dst), src, bytes, lk);
    });
}

CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
    return on_stream(nullptr, [&](Context* ctx, auto& lk) {
        return copy(ctx, Direction::DtoH, dst, reinterpret_cast<const void*>(src), bytes, lk);
    });
}

CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream stream) {
    return on_stream(stream, [&](Context* ctx, auto& lk) {
        return copy(ctx, Direction::DtoH, dst, reinterpret_cast<const void*>(src), bytes, lk);
    });
}

CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
    return on_stream(nullptr, [&](Context* ctx, auto& lk) {
        return copy(ctx, Direction::DtoD, reinterpret_cast<void*>(dst),
                    reinterpret_cast<const void*>(src), bytes, lk);
    });
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream) {
    return on_stream(stream, [&](Context* ctx, auto& lk) {
        return copy(ctx, Direction::DtoD, reinterpret_cast<void*>(dst),
                    reinterpret_cast<const void*>(src), bytes, lk);
    });
}

CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t count) {
    return on_stream(nullptr,
                     [&](Context* ctx, auto& lk) { return memset_words(ctx, dst, value, 1, count, lk); });
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream) {
    return on_stream(stream,
                     [&](Context* ctx, auto& lk) { return memset_words(ctx, dst, value, 1, count, lk); });
}

CUresult cuMemsetD16_v2(CUdeviceptr dst, unsigned short value, size_t count) {
    return on_stream(nullptr,
                     [&](Context* ctx, auto& lk) { return memset_words(ctx, dst, value, 2, count, lk); });
}

CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count, CUstream stream) {
    return on_stream(stream,
                     [&](Context* ctx, auto& lk) { return memset_words(ctx, dst, value, 2, count, lk); });
}

CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t count) {
    return on_stream(nullptr,
                     [&](Context* ctx, auto& lk) { return memset_words(ctx, dst, value, 4, count, lk); });
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count, CUstream stream) {
    return on_stream(stream,
                     [&](Context* ctx, auto& lk) { return memset_words(ctx, dst, value, 4, count, lk); });
}

// Pinned ("page-locked") host memory is ordinary page-aligned host memory here; it is not
// device memory (kernels cannot reach it) and does not count against the device's size.
CUresult cuMemHostAlloc(void** pp, size_t bytes, unsigned int flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!pp || bytes == 0 || (flags & ~cu::MEMHOSTALLOC_ALL)) return cu::ERROR_INVALID_VALUE;
    void* p = std::aligned_alloc(PAGE, round_up(bytes, PAGE));
    if (!p) return cu::ERROR_OUT_OF_MEMORY;
    driver().pinned.emplace(reinterpret_cast<uintptr_t>(p), bytes);
    *pp = p;
    return cu::SUCCESS;
}

CUresult cuMemAllocHost_v2(void** pp, size_t bytes) { return cuMemHostAlloc(pp, bytes, 0); }

CUresult cuMemFreeHost(void* p) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    auto it = driver().pinned.find(reinterpret_cast<uintptr_t>(p));
    if (it == driver().pinned.end()) return cu::ERROR_INVALID_VALUE;
    std::free(p);
    driver().pinned.erase(it);
    return cu::SUCCESS;
}

CUresult cuMemHostRegister_v2(void* p, size_t bytes, unsigned int flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!p || bytes == 0 || (flags & ~cu::MEMHOSTREGISTER_ALL)) return cu::ERROR_INVALID_VALUE;
    auto& reg = driver().registered;
    uintptr_t start = reinterpret_cast<uintptr_t>(p);
    auto it = reg.upper_bound(start + bytes - 1);
    if (it != reg.begin() && std::prev(it)->first + std::prev(it)->second > start) {
        return cu::ERROR_HOST_MEMORY_ALREADY_REGISTERED;
    }
    reg.emplace(start, bytes);
    return cu::SUCCESS;
}

CUresult cuMemHostUnregister(void* p) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    auto it = driver().registered.find(reinterpret_cast<uintptr_t>(p));
    if (it == driver().registered.end()) return cu::ERROR_HOST_MEMORY_NOT_REGISTERED;
    driver().registered.erase(it);
    return cu::SUCCESS;
}

}  // extern "C"
