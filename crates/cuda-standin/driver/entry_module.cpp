// Modules and functions: an image's entries are bound by name to the kernels the runtime
// compiled for the host. An entry the runtime does not have, or whose parameters nvcc laid out
// differently from the host build, fails the load; launch limits come from the image where it
// states them (launch bounds, registers, static shared memory).
#include <algorithm>
#include <fstream>
#include <sstream>

#include "device_model.h"
#include "image.h"
#include "state.h"

using namespace standin;

namespace {

// Threads per block the register file allows at `registers` per thread (allocated per warp in
// units of 8 registers per thread).
uint32_t register_limited_threads(int registers) {
    uint32_t unit = h100::REGISTER_ALLOCATION_UNIT_PER_THREAD;
    uint32_t per_thread = (static_cast<uint32_t>(std::max(registers, 1)) + unit - 1) / unit * unit;
    uint32_t warps = h100::REGISTERS_PER_BLOCK / (per_thread * h100::WARP_SIZE);
    return std::min(h100::MAX_THREADS_PER_BLOCK, warps * h100::WARP_SIZE);
}

std::string list(const std::vector<size_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

CUresult bind_entry(const EntryInfo& e, const ImageInfo& info, Function* f) {
    const standin_kernel* k = standin_find_kernel(e.name.c_str());
    if (!k) {
        log("module load: entry %s has no host-compiled kernel in the stand-in runtime",
            e.name.c_str());
        return cu::ERROR_NO_BINARY_FOR_GPU;
    }
    std::vector<size_t> host_sizes(standin_kernel_param_count(k));
    for (size_t i = 0; i < host_sizes.size(); ++i) host_sizes[i] = standin_kernel_param_size(k, i);
    if (e.params_known && e.param_sizes != host_sizes) {
        log("module load: entry %s takes parameters of %s bytes in the image but %s in the host "
            "build (the structs differ between nvcc and the host compiler)",
            e.name.c_str(), list(e.param_sizes).c_str(), list(host_sizes).c_str());
        return cu::ERROR_INVALID_IMAGE;
    }
    f->name = e.name;
    f->kernel = k;
    uint32_t bound = standin_kernel_max_threads(k);
    if (e.max_threads) bound = std::min(bound, e.max_threads);
    if (e.registers > 0) bound = std::min(bound, register_limited_threads(e.registers));
    f->max_threads = bound;
    f->static_shared = e.static_shared >= 0 ? static_cast<uint32_t>(e.static_shared)
                                            : static_cast<uint32_t>(standin_kernel_static_shared_bytes(k));
    f->max_dynamic_shared = f->static_shared < h100::DEFAULT_SHARED_PER_BLOCK
                                ? h100::DEFAULT_SHARED_PER_BLOCK - f->static_shared
                                : 0;
    f->registers = e.registers;
    f->binary_version = info.binary_version;
    f->ptx_version = info.ptx_version;
    if (e.params_known) {
        f->param_offsets = e.param_offsets;
        f->param_sizes = e.param_sizes;
        f->param_bytes = e.param_bytes;
    } else {
        // Natural alignment (the size's largest power of two, at most 8) when the image is silent.
        size_t offset = 0;
        for (size_t size : host_sizes) {
            size_t align = std::min<size_t>(8, size & (~size + 1));
            offset = (offset + align - 1) / align * align;
            f->param_offsets.push_back(offset);
            f->param_sizes.push_back(size);
            offset += size;
        }
        f->param_bytes = offset;
    }
    return cu::SUCCESS;
}

CUresult load(CUmodule* pmod, const void* image) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Context* ctx;
    if (CUresult rc = current_context(&ctx)) return rc;
    if (!pmod) return cu::ERROR_INVALID_VALUE;
    ImageInfo info;
    std::string why;
    CUresult rc;
    try {
        rc = parse_image(image, &info, &why);
    } catch (const std::exception&) {
        rc = cu::ERROR_INVALID_IMAGE;
        why = "unreadable image";
    }
    if (rc) {
        log("module load: %s", why.c_str());
        return rc;
    }
    Driver& d = driver();
    Module m;
    m.id = d.new_id();
    m.ctx = ctx->id;
    std::vector<Function> functions;
    for (const auto& e : info.entries) {
        Function f;
        if (CUresult brc = bind_entry(e, info, &f)) return brc;
        f.id = d.new_id();
        f.module = m.id;
        f.ctx = ctx->id;
        functions.push_back(std::move(f));
    }
    for (auto& f : functions) {
        m.functions.push_back(f.id);
        d.functions.emplace(f.id, std::move(f));
    }
    d.modules.emplace(m.id, m);
    *pmod = to_handle<CUmodule>(m.id);
    return cu::SUCCESS;
}

// The function behind a handle, in a usable context.
CUresult find_function(CUfunction h, Function** out) {
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    auto it = driver().functions.find(handle_id(h));
    if (it == driver().functions.end()) return cu::ERROR_INVALID_HANDLE;
    Context* ctx;
    if (CUresult rc = usable_context(it->second.ctx, &ctx)) return rc;
    *out = &it->second;
    return cu::SUCCESS;
}

}  // namespace

extern "C" {

CUresult cuModuleLoadData(CUmodule* pmod, const void* image) { return load(pmod, image); }

CUresult cuModuleLoadDataEx(CUmodule* pmod, const void* image, unsigned int /*num_options*/,
                            void* /*options*/, void** /*option_values*/) {
    return load(pmod, image);
}

CUresult cuModuleLoad(CUmodule* pmod, const char* fname) {
    if (!fname) return cu::ERROR_INVALID_VALUE;
    std::ifstream file(fname, std::ios::binary);
    if (!file) return cu::ERROR_FILE_NOT_FOUND;
    std::stringstream content;
    content << file.rdbuf();
    std::string bytes = content.str();  // NUL-terminated, as PTX text must be
    return load(pmod, bytes.c_str());
}

CUresult cuModuleUnload(CUmodule hmod) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Driver& d = driver();
    if (!d.initialized) return cu::ERROR_NOT_INITIALIZED;
    auto it = d.modules.find(handle_id(hmod));
    if (it == d.modules.end()) return cu::ERROR_INVALID_HANDLE;
    for (uintptr_t f : it->second.functions) d.functions.erase(f);
    uintptr_t ctx_id = it->second.ctx;
    d.modules.erase(it);
    Context* ctx;
    return usable_context(ctx_id, &ctx);
}

CUresult cuModuleGetFunction(CUfunction* hfunc, CUmodule hmod, const char* name) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Driver& d = driver();
    if (!d.initialized) return cu::ERROR_NOT_INITIALIZED;
    auto it = d.modules.find(handle_id(hmod));
    if (it == d.modules.end()) return cu::ERROR_INVALID_HANDLE;
    Context* ctx;
    if (CUresult rc = usable_context(it->second.ctx, &ctx)) return rc;
    if (!hfunc || !name) return cu::ERROR_INVALID_VALUE;
    for (uintptr_t f : it->second.functions) {
        if (d.functions.at(f).name == name) {
            *hfunc = to_handle<CUfunction>(f);
            return cu::SUCCESS;
        }
    }
    return cu::ERROR_NOT_FOUND;
}

CUresult cuFuncGetAttribute(int* value, int attribute, CUfunction hfunc) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Function* f;
    if (CUresult rc = find_function(hfunc, &f)) return rc;
    if (!value) return cu::ERROR_INVALID_VALUE;
    using namespace cu;
    switch (attribute) {
        case FUNC_MAX_THREADS_PER_BLOCK: *value = static_cast<int>(f->max_threads); return SUCCESS;
        case FUNC_SHARED_SIZE_BYTES: *value = static_cast<int>(f->static_shared); return SUCCESS;
        case FUNC_NUM_REGS:
            if (f->registers < 0) return ERROR_NOT_SUPPORTED;  // PTX: ptxas would decide
            *value = f->registers;
            return SUCCESS;
        case FUNC_PTX_VERSION:
            if (f->ptx_version == 0) return ERROR_NOT_SUPPORTED;
            *value = f->ptx_version;
            return SUCCESS;
        case FUNC_BINARY_VERSION: *value = f->binary_version; return SUCCESS;
        case FUNC_CACHE_MODE_CA: *value = 0; return SUCCESS;
        case FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES:
            *value = static_cast<int>(f->max_dynamic_shared);
            return SUCCESS;
        case FUNC_PREFERRED_SHARED_MEMORY_CARVEOUT: *value = f->carveout; return SUCCESS;
        default:
            // Constant/local memory and cluster attributes are not modelled.
            if (attribute >= 0 && attribute < 16) return ERROR_NOT_SUPPORTED;
            return ERROR_INVALID_VALUE;
    }
}

CUresult cuFuncSetAttribute(CUfunction hfunc, int attribute, int value) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Function* f;
    if (CUresult rc = find_function(hfunc, &f)) return rc;
    switch (attribute) {
        case cu::FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES:
            // Static and dynamic shared memory together may not pass the opt-in limit.
            if (value < 0 ||
                static_cast<uint64_t>(value) + f->static_shared > h100::OPTIN_SHARED_PER_BLOCK) {
                return cu::ERROR_INVALID_VALUE;
            }
            f->max_dynamic_shared = static_cast<uint32_t>(value);
            return cu::SUCCESS;
        case cu::FUNC_PREFERRED_SHARED_MEMORY_CARVEOUT:
            if (value < -1 || value > 100) return cu::ERROR_INVALID_VALUE;
            f->carveout = value;
            return cu::SUCCESS;
        default:
            return cu::ERROR_INVALID_VALUE;
    }
}

CUresult cuFuncSetCacheConfig(CUfunction hfunc, int config) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Function* f;
    if (CUresult rc = find_function(hfunc, &f)) return rc;
    return config >= 0 && config <= 3 ? cu::SUCCESS : cu::ERROR_INVALID_VALUE;
}

CUresult cuFuncGetParamInfo(CUfunction hfunc, size_t index, size_t* offset, size_t* size) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Function* f;
    if (CUresult rc = find_function(hfunc, &f)) return rc;
    if (index >= f->param_sizes.size()) return cu::ERROR_INVALID_VALUE;
    if (offset) *offset = f->param_offsets[index];
    if (size) *size = f->param_sizes[index];
    return cu::SUCCESS;
}

CUresult cuFuncGetName(const char** name, CUfunction hfunc) {
    std::lock_guard<std::mutex> lk(driver().mu);
    Function* f;
    if (CUresult rc = find_function(hfunc, &f)) return rc;
    if (!name) return cu::ERROR_INVALID_VALUE;
    *name = f->name.c_str();
    return cu::SUCCESS;
}

}  // extern "C"
