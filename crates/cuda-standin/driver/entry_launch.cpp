// cuLaunchKernel: the real driver's launch checks, then the grid runs on the host through the
// runtime, in stream order. A kernel fault fails the launch with the runtime's code and makes the
// context unusable (a sticky error), as a fault on a GPU does.
#include <vector>

#include "device_model.h"
#include "state.h"

using namespace standin;

extern "C" CUresult cuGetErrorName(CUresult error, const char** name);

namespace {

// Codes after which a real context is unusable (701 and 702 are launch-time refusals).
bool is_sticky(int code) { return code >= 700 && code < 800 && code != 701 && code != 702; }

const char* error_name(int code) {
    const char* name = nullptr;
    return cuGetErrorName(code, &name) == cu::SUCCESS ? name : "unknown error";
}

}  // namespace

extern "C" CUresult cuLaunchKernel(CUfunction hfunc, unsigned int gx, unsigned int gy,
                                   unsigned int gz, unsigned int bx, unsigned int by,
                                   unsigned int bz, unsigned int shared_bytes, CUstream stream,
                                   void** kernel_params, void** extra) {
    std::lock_guard<std::mutex> engine(driver().engine);
    std::unique_lock<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = stream_context(stream, &ctx)) return rc;
    auto fit = driver().functions.find(handle_id(hfunc));
    if (fit == driver().functions.end() || fit->second.ctx != ctx->id) {
        return cu::ERROR_INVALID_HANDLE;
    }
    const Function& f = fit->second;
    // Grid and block limits of the device.
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) {
        return cu::ERROR_INVALID_VALUE;
    }
    if (bx > h100::MAX_BLOCK_DIM[0] || by > h100::MAX_BLOCK_DIM[1] || bz > h100::MAX_BLOCK_DIM[2] ||
        gx > h100::MAX_GRID_DIM[0] || gy > h100::MAX_GRID_DIM[1] || gz > h100::MAX_GRID_DIM[2]) {
        return cu::ERROR_INVALID_VALUE;
    }
    uint64_t threads = uint64_t{bx} * by * bz;
    if (threads > h100::MAX_THREADS_PER_BLOCK) return cu::ERROR_INVALID_VALUE;
    // The kernel's own limit: its launch bounds and the register file.
    if (threads > f.max_threads) {
        log("launch of %s with %llu threads per block: the kernel allows at most %u",
            f.name.c_str(), static_cast<unsigned long long>(threads), f.max_threads);
        return cu::ERROR_LAUNCH_OUT_OF_RESOURCES;
    }
    // Dynamic shared memory: 48 KiB less static without the opt-in, the opt-in value with it.
    if (shared_bytes > f.max_dynamic_shared ||
        uint64_t{shared_bytes} + f.static_shared > h100::OPTIN_SHARED_PER_BLOCK) {
        log("launch of %s with %u bytes of dynamic shared memory: the function allows %u "
            "(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) besides %u static",
            f.name.c_str(), shared_bytes, f.max_dynamic_shared, f.static_shared);
        return cu::ERROR_INVALID_VALUE;
    }
    // Parameters: kernelParams (one pointer per parameter) or one packed `extra` buffer.
    size_t count = f.param_sizes.size();
    std::vector<void*> args(count);
    if (kernel_params && extra) return cu::ERROR_INVALID_VALUE;
    if (extra) {
        unsigned char* buffer = nullptr;
        const size_t* size = nullptr;
        for (size_t i = 0; extra[i] != reinterpret_cast<void*>(cu::LAUNCH_PARAM_END); i += 2) {
            auto key = reinterpret_cast<uintptr_t>(extra[i]);
            if (key == cu::LAUNCH_PARAM_BUFFER_POINTER) {
                buffer = static_cast<unsigned char*>(extra[i + 1]);
            } else if (key == cu::LAUNCH_PARAM_BUFFER_SIZE) {
                size = static_cast<const size_t*>(extra[i + 1]);
            } else {
                return cu::ERROR_INVALID_VALUE;
            }
        }
        if (!buffer || !size) return cu::ERROR_INVALID_VALUE;
        if (*size != f.param_bytes) {
            log("launch of %s: a parameter buffer of %zu bytes, the kernel takes %zu",
                f.name.c_str(), *size, f.param_bytes);
            return cu::ERROR_INVALID_VALUE;
        }
        for (size_t i = 0; i < count; ++i) args[i] = buffer + f.param_offsets[i];
    } else if (count > 0) {
        if (!kernel_params) return cu::ERROR_INVALID_VALUE;
        for (size_t i = 0; i < count; ++i) {
            if (!kernel_params[i]) return cu::ERROR_INVALID_VALUE;
            args[i] = kernel_params[i];
        }
    }
    const standin_kernel* kernel = f.kernel;
    std::string name = f.name;
    uintptr_t ctx_id = ctx->id;
    lk.unlock();

    char error[4096] = {0};
    int rc = standin_launch(kernel, standin_dim3{gx, gy, gz}, standin_dim3{bx, by, bz},
                            shared_bytes, args.data(), error, sizeof error);
    if (rc == 0) return cu::SUCCESS;
    log("kernel %s<<<(%u, %u, %u), (%u, %u, %u), %u>>> failed with %s: %s", name.c_str(), gx, gy,
        gz, bx, by, bz, shared_bytes, error_name(rc), error[0] ? error : "(no message)");
    if (is_sticky(rc)) {
        lk.lock();
        auto it = driver().contexts.find(ctx_id);
        if (it != driver().contexts.end()) it->second.sticky = rc;
    }
    return rc;
}
