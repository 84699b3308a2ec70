// Contexts: the device's primary context (retained and released by reference count, its handle
// kept across cycles like the real driver's), created contexts, the per-thread current context
// and its stack, and per-context settings.
#include "device_model.h"
#include "state.h"

using namespace standin;

namespace {

// Contexts pushed below the current one on this thread (cuCtxPushCurrent / cuCtxPopCurrent).
std::vector<uintptr_t>& context_stack() {
    thread_local std::vector<uintptr_t> stack;
    return stack;
}

CUresult check_device(CUdevice dev) {
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    return dev == 0 ? cu::SUCCESS : cu::ERROR_INVALID_DEVICE;
}

constexpr int LIMIT_COUNT = 10;

}  // namespace

extern "C" {

CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (!pctx) return cu::ERROR_INVALID_VALUE;
    Driver& d = driver();
    Context& ctx = d.contexts.at(d.primary_id);
    if (d.primary_refs++ == 0) {
        ctx.active = true;
        ctx.flags = d.primary_flags;
        ctx.sticky = cu::SUCCESS;
    }
    *pctx = to_handle<CUcontext>(ctx.id);
    return cu::SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
    std::lock_guard<std::mutex> engine(driver().engine);
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    Driver& d = driver();
    if (d.primary_refs == 0) return cu::ERROR_INVALID_CONTEXT;
    if (--d.primary_refs == 0) {
        Context& ctx = d.contexts.at(d.primary_id);
        release_context_resources(ctx);
        ctx.active = false;
    }
    return cu::SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease(CUdevice dev) { return cuDevicePrimaryCtxRelease_v2(dev); }

CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int* flags, int* active) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (!flags || !active) return cu::ERROR_INVALID_VALUE;
    *flags = driver().primary_flags;
    *active = driver().primary_refs > 0 ? 1 : 0;
    return cu::SUCCESS;
}

CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (flags & ~0xffu) return cu::ERROR_INVALID_VALUE;
    Driver& d = driver();
    d.primary_flags = flags;
    d.contexts.at(d.primary_id).flags = flags;
    return cu::SUCCESS;
}

// Destroys everything in the primary context (and clears a sticky error); references stay.
CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev) {
    std::lock_guard<std::mutex> engine(driver().engine);
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    Driver& d = driver();
    release_context_resources(d.contexts.at(d.primary_id));
    return cu::SUCCESS;
}

CUresult cuCtxCreate_v4(CUcontext* pctx, void* /*params*/, unsigned int flags, CUdevice dev) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (!pctx || (flags & ~0xffu)) return cu::ERROR_INVALID_VALUE;
    Driver& d = driver();
    Context ctx;
    ctx.id = d.new_id();
    ctx.active = true;
    ctx.flags = flags;
    d.contexts.emplace(ctx.id, ctx);
    // A created context is pushed onto the calling thread (it becomes current).
    if (current_context_id() != 0) context_stack().push_back(current_context_id());
    current_context_id() = ctx.id;
    *pctx = to_handle<CUcontext>(ctx.id);
    return cu::SUCCESS;
}

CUresult cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev) {
    return cuCtxCreate_v4(pctx, nullptr, flags, dev);
}

CUresult cuCtxDestroy_v2(CUcontext hctx) {
    std::lock_guard<std::mutex> engine(driver().engine);
    std::lock_guard<std::mutex> lk(driver().mu);
    Driver& d = driver();
    if (!d.initialized) return cu::ERROR_NOT_INITIALIZED;
    uintptr_t id = handle_id(hctx);
    auto it = d.contexts.find(id);
    if (it == d.contexts.end() || it->second.primary) return cu::ERROR_INVALID_CONTEXT;
    release_context_resources(it->second);
    d.contexts.erase(it);
    if (current_context_id() == id) {
        auto& stack = context_stack();
        current_context_id() = stack.empty() ? 0 : stack.back();
        if (!stack.empty()) stack.pop_back();
    }
    return cu::SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext hctx) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    uintptr_t id = handle_id(hctx);
    if (id != 0 && driver().contexts.count(id) == 0) return cu::ERROR_INVALID_CONTEXT;
    current_context_id() = id;
    return cu::SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext* pctx) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    if (!pctx) return cu::ERROR_INVALID_VALUE;
    *pctx = to_handle<CUcontext>(current_context_id());
    return cu::SUCCESS;
}

CUresult cuCtxPushCurrent_v2(CUcontext hctx) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    uintptr_t id = handle_id(hctx);
    if (driver().contexts.count(id) == 0) return cu::ERROR_INVALID_CONTEXT;
    if (current_context_id() != 0) context_stack().push_back(current_context_id());
    current_context_id() = id;
    return cu::SUCCESS;
}

CUresult cuCtxPopCurrent_v2(CUcontext* pctx) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    if (current_context_id() == 0) return cu::ERROR_INVALID_CONTEXT;
    if (pctx) *pctx = to_handle<CUcontext>(current_context_id());
    auto& stack = context_stack();
    current_context_id() = stack.empty() ? 0 : stack.back();
    if (!stack.empty()) stack.pop_back();
    return cu::SUCCESS;
}

CUresult cuCtxGetDevice(CUdevice* device) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!device) return cu::ERROR_INVALID_VALUE;
    *device = 0;
    return cu::SUCCESS;
}

// Work runs at enqueue, so there is never anything to wait for; a sticky error is reported.
CUresult cuCtxSynchronize(void) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    return current_context(&ctx);
}

CUresult cuCtxSetFlags(unsigned int flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (flags & ~0xffu) return cu::ERROR_INVALID_VALUE;
    ctx->flags = flags;
    return cu::SUCCESS;
}

CUresult cuCtxGetFlags(unsigned int* flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!flags) return cu::ERROR_INVALID_VALUE;
    *flags = ctx->flags;
    return cu::SUCCESS;
}

CUresult cuCtxGetLimit(size_t* value, int limit) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!value) return cu::ERROR_INVALID_VALUE;
    if (limit < 0 || limit >= LIMIT_COUNT) return cu::ERROR_UNSUPPORTED_LIMIT;
    *value = ctx->limits[limit];
    return cu::SUCCESS;
}

CUresult cuCtxSetLimit(int limit, size_t value) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (limit < 0 || limit >= LIMIT_COUNT) return cu::ERROR_UNSUPPORTED_LIMIT;
    ctx->limits[limit] = value;
    return cu::SUCCESS;
}

CUresult cuCtxGetCacheConfig(int* config) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!config) return cu::ERROR_INVALID_VALUE;
    *config = ctx->cache_config;
    return cu::SUCCESS;
}

CUresult cuCtxSetCacheConfig(int config) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (config < 0 || config > 3) return cu::ERROR_INVALID_VALUE;
    ctx->cache_config = config;
    return cu::SUCCESS;
}

CUresult cuCtxGetStreamPriorityRange(int* least, int* greatest) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (least) *least = h100::STREAM_PRIORITY_LEAST;
    if (greatest) *greatest = h100::STREAM_PRIORITY_GREATEST;
    return cu::SUCCESS;
}

}  // extern "C"
