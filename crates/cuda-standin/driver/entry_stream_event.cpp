// Streams and events. Work runs at enqueue, so a stream is always idle and an event is complete
// as soon as it is recorded; an event's time is the host's at the record.
#include <algorithm>

#include "device_model.h"
#include "state.h"

using namespace standin;

namespace {

CUresult create_stream(CUstream* ph, unsigned flags, int priority) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!ph || (flags & ~cu::STREAM_NON_BLOCKING)) return cu::ERROR_INVALID_VALUE;
    Stream s;
    s.id = driver().new_id();
    s.ctx = ctx->id;
    s.flags = flags;
    s.priority = std::clamp(priority, h100::STREAM_PRIORITY_GREATEST, h100::STREAM_PRIORITY_LEAST);
    driver().streams.emplace(s.id, s);
    *ph = to_handle<CUstream>(s.id);
    return cu::SUCCESS;
}

// The event behind a handle, in a usable context.
CUresult find_event(CUevent h, Event** out) {
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    auto it = driver().events.find(handle_id(h));
    if (it == driver().events.end()) return cu::ERROR_INVALID_HANDLE;
    Context* ctx;
    if (CUresult rc = usable_context(it->second.ctx, &ctx)) return rc;
    *out = &it->second;
    return cu::SUCCESS;
}

CUresult record(CUevent h, CUstream stream) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Event* e;
    if (CUresult rc = find_event(h, &e)) return rc;
    Context* ctx;
    if (CUresult rc = stream_context(stream, &ctx)) return rc;
    if (ctx->id != e->ctx) return cu::ERROR_INVALID_HANDLE;
    e->recorded = true;
    e->ns = now_ns();
    return cu::SUCCESS;
}

CUresult elapsed(float* ms, CUevent start, CUevent end) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!ms) return cu::ERROR_INVALID_VALUE;
    Event* a;
    Event* b;
    if (CUresult rc = find_event(start, &a)) return rc;
    if (CUresult rc = find_event(end, &b)) return rc;
    // What the real driver refuses: an event without timing, or one never recorded.
    if ((a->flags | b->flags) & cu::EVENT_DISABLE_TIMING) return cu::ERROR_INVALID_HANDLE;
    if (!a->recorded || !b->recorded) return cu::ERROR_INVALID_HANDLE;
    *ms = static_cast<float>(static_cast<double>(b->ns - a->ns) / 1e6);
    return cu::SUCCESS;
}

}  // namespace

extern "C" {

CUresult cuStreamCreate(CUstream* ph, unsigned int flags) { return create_stream(ph, flags, 0); }

CUresult cuStreamCreateWithPriority(CUstream* ph, unsigned int flags, int priority) {
    return create_stream(ph, flags, priority);
}

CUresult cuStreamDestroy_v2(CUstream stream) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    auto it = driver().streams.find(handle_id(stream));
    if (it == driver().streams.end()) return cu::ERROR_INVALID_HANDLE;
    uintptr_t ctx_id = it->second.ctx;
    driver().streams.erase(it);
    Context* ctx;
    return usable_context(ctx_id, &ctx);
}

CUresult cuStreamSynchronize(CUstream stream) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    return stream_context(stream, &ctx);
}

CUresult cuStreamQuery(CUstream stream) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    return stream_context(stream, &ctx);
}

CUresult cuStreamWaitEvent(CUstream stream, CUevent event, unsigned int flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = stream_context(stream, &ctx)) return rc;
    Event* e;
    if (CUresult rc = find_event(event, &e)) return rc;
    if (flags > 1) return cu::ERROR_INVALID_VALUE;
    return cu::SUCCESS;
}

CUresult cuStreamGetFlags(CUstream stream, unsigned int* flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = stream_context(stream, &ctx)) return rc;
    if (!flags) return cu::ERROR_INVALID_VALUE;
    auto it = driver().streams.find(handle_id(stream));
    *flags = it == driver().streams.end() ? 0 : it->second.flags;
    return cu::SUCCESS;
}

CUresult cuStreamGetPriority(CUstream stream, int* priority) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = stream_context(stream, &ctx)) return rc;
    if (!priority) return cu::ERROR_INVALID_VALUE;
    auto it = driver().streams.find(handle_id(stream));
    *priority = it == driver().streams.end() ? 0 : it->second.priority;
    return cu::SUCCESS;
}

CUresult cuStreamGetCtx(CUstream stream, CUcontext* pctx) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = stream_context(stream, &ctx)) return rc;
    if (!pctx) return cu::ERROR_INVALID_VALUE;
    *pctx = to_handle<CUcontext>(ctx->id);
    return cu::SUCCESS;
}

CUresult cuEventCreate(CUevent* ph, unsigned int flags) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    constexpr unsigned all = cu::EVENT_BLOCKING_SYNC | cu::EVENT_DISABLE_TIMING | cu::EVENT_INTERPROCESS;
    if (!ph || (flags & ~all)) return cu::ERROR_INVALID_VALUE;
    // An interprocess event must be created without timing.
    if ((flags & cu::EVENT_INTERPROCESS) && !(flags & cu::EVENT_DISABLE_TIMING)) {
        return cu::ERROR_INVALID_VALUE;
    }
    Event e;
    e.id = driver().new_id();
    e.ctx = ctx->id;
    e.flags = flags;
    driver().events.emplace(e.id, e);
    *ph = to_handle<CUevent>(e.id);
    return cu::SUCCESS;
}

CUresult cuEventRecord(CUevent event, CUstream stream) { return record(event, stream); }

CUresult cuEventRecordWithFlags(CUevent event, CUstream stream, unsigned int flags) {
    if (flags > 1) return cu::ERROR_INVALID_VALUE;
    return record(event, stream);
}

CUresult cuEventQuery(CUevent event) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Event* e;
    return find_event(event, &e);
}

CUresult cuEventSynchronize(CUevent event) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Event* e;
    return find_event(event, &e);
}

CUresult cuEventElapsedTime_v2(float* ms, CUevent start, CUevent end) {
    return elapsed(ms, start, end);
}

CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
    return elapsed(ms, start, end);
}

CUresult cuEventDestroy_v2(CUevent event) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    auto it = driver().events.find(handle_id(event));
    if (it == driver().events.end()) return cu::ERROR_INVALID_HANDLE;
    driver().events.erase(it);
    return cu::SUCCESS;
}

}  // extern "C"
