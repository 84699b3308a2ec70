// Initialisation, the device and its attributes, error names, and the stand-in's own exports.
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "device_model.h"
#include "state.h"

using namespace standin;

namespace {

CUresult check_device(CUdevice dev) {
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    return dev == 0 ? cu::SUCCESS : cu::ERROR_INVALID_DEVICE;
}

// "123", "64K", "512M", "80G" (binary multiples); false when malformed or zero.
bool parse_bytes(const char* text, uint64_t* out) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (end == text) return false;
    unsigned shift = 0;
    switch (std::toupper(static_cast<unsigned char>(*end))) {
        case '\0': break;
        case 'K': shift = 10; ++end; break;
        case 'M': shift = 20; ++end; break;
        case 'G': shift = 30; ++end; break;
        case 'T': shift = 40; ++end; break;
        default: return false;
    }
    if (*end != '\0' || v == 0 || (shift && v > (~0ull >> shift))) return false;
    *out = static_cast<uint64_t>(v) << shift;
    return true;
}

struct ErrorText {
    CUresult code;
    const char* name;
    const char* text;
};

constexpr ErrorText ERRORS[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {215, "CUDA_ERROR_UNSUPPORTED_LIMIT", "limit is not supported on this architecture"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain."},
    {301, "CUDA_ERROR_FILE_NOT_FOUND", "file not found"},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {600, "CUDA_ERROR_NOT_READY", "device not ready"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {708, "CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE", "primary context active"},
    {709, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed"},
    {710, "CUDA_ERROR_ASSERT", "device-side assert triggered"},
    {712, "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED", "part or all of the requested memory range is already mapped"},
    {713, "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED", "pointer does not correspond to a registered memory region"},
    {714, "CUDA_ERROR_HARDWARE_STACK_ERROR", "hardware stack error"},
    {715, "CUDA_ERROR_ILLEGAL_INSTRUCTION", "an illegal instruction was encountered"},
    {716, "CUDA_ERROR_MISALIGNED_ADDRESS", "misaligned address"},
    {717, "CUDA_ERROR_INVALID_ADDRESS_SPACE", "operation not supported on global/shared address space"},
    {718, "CUDA_ERROR_INVALID_PC", "invalid program counter"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {720, "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE", "too many blocks in cooperative launch"},
    {800, "CUDA_ERROR_NOT_PERMITTED", "operation not permitted"},
    {801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

const ErrorText* find_error(CUresult code) {
    for (const auto& e : ERRORS) {
        if (e.code == code) return &e;
    }
    return nullptr;
}

}  // namespace

extern "C" {

const char* slotproof_standin_driver(void) {
    return "slotproof stand-in CUDA driver 1 (kernels run on the CPU)";
}

void slotproof_standin_set_memory_limit(uint64_t bytes) {
    std::lock_guard<std::mutex> lk(driver().mu);
    driver().memory_limit = bytes;
}

CUresult cuInit(unsigned int flags) {
    if (flags != 0) return cu::ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> lk(driver().mu);
    Driver& d = driver();
    if (d.initialized) return cu::SUCCESS;
    if (const char* env = std::getenv("SLOTPROOF_STANDIN_DEVICE_MEMORY")) {
        uint64_t bytes = 0;
        if (!parse_bytes(env, &bytes)) {
            log("SLOTPROOF_STANDIN_DEVICE_MEMORY=%s is not a byte count (e.g. 1073741824, 512M, 2G)",
                env);
            return cu::ERROR_INVALID_VALUE;
        }
        d.memory_limit = bytes;
    }
    d.primary_id = d.new_id();
    Context primary;
    primary.id = d.primary_id;
    primary.primary = true;
    d.contexts.emplace(primary.id, primary);
    d.initialized = true;
    return cu::SUCCESS;
}

CUresult cuDriverGetVersion(int* version) {
    if (!version) return cu::ERROR_INVALID_VALUE;
    *version = h100::DRIVER_VERSION;
    return cu::SUCCESS;
}

CUresult cuDeviceGetCount(int* count) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    if (!count) return cu::ERROR_INVALID_VALUE;
    *count = 1;
    return cu::SUCCESS;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (!driver().initialized) return cu::ERROR_NOT_INITIALIZED;
    if (!device) return cu::ERROR_INVALID_VALUE;
    if (ordinal != 0) return cu::ERROR_INVALID_DEVICE;
    *device = 0;
    return cu::SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (!name || len <= 0) return cu::ERROR_INVALID_VALUE;
    std::strncpy(name, h100::NAME, static_cast<size_t>(len) - 1);
    name[len - 1] = '\0';
    return cu::SUCCESS;
}

CUresult cuDeviceGetUuid_v2(CUuuid* uuid, CUdevice dev) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (!uuid) return cu::ERROR_INVALID_VALUE;
    // Fixed and recognisable: the bytes spell "slotproof-standn".
    std::memcpy(uuid->bytes, "slotproof-standn", 16);
    return cu::SUCCESS;
}

CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice dev) { return cuDeviceGetUuid_v2(uuid, dev); }

CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (!bytes) return cu::ERROR_INVALID_VALUE;
    *bytes = driver().memory_limit;
    return cu::SUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, int attribute, CUdevice dev) {
    std::lock_guard<std::mutex> lk(driver().mu);
    if (CUresult rc = check_device(dev)) return rc;
    if (!value) return cu::ERROR_INVALID_VALUE;
    using namespace cu;
    int v;
    switch (attribute) {
        case ATTR_MAX_THREADS_PER_BLOCK: v = h100::MAX_THREADS_PER_BLOCK; break;
        case ATTR_MAX_BLOCK_DIM_X: v = h100::MAX_BLOCK_DIM[0]; break;
        case ATTR_MAX_BLOCK_DIM_Y: v = h100::MAX_BLOCK_DIM[1]; break;
        case ATTR_MAX_BLOCK_DIM_Z: v = h100::MAX_BLOCK_DIM[2]; break;
        case ATTR_MAX_GRID_DIM_X: v = static_cast<int>(h100::MAX_GRID_DIM[0]); break;
        case ATTR_MAX_GRID_DIM_Y: v = h100::MAX_GRID_DIM[1]; break;
        case ATTR_MAX_GRID_DIM_Z: v = h100::MAX_GRID_DIM[2]; break;
        case ATTR_MAX_SHARED_MEMORY_PER_BLOCK: v = h100::DEFAULT_SHARED_PER_BLOCK; break;
        case ATTR_TOTAL_CONSTANT_MEMORY: v = h100::CONSTANT_MEMORY; break;
        case ATTR_WARP_SIZE: v = h100::WARP_SIZE; break;
        case ATTR_MAX_PITCH: v = 2147483647; break;
        case ATTR_MAX_REGISTERS_PER_BLOCK: v = h100::REGISTERS_PER_BLOCK; break;
        case ATTR_CLOCK_RATE: v = h100::CLOCK_KHZ; break;
        case ATTR_TEXTURE_ALIGNMENT: v = 512; break;
        case ATTR_GPU_OVERLAP: v = 1; break;
        case ATTR_MULTIPROCESSOR_COUNT: v = h100::MULTIPROCESSORS; break;
        case ATTR_KERNEL_EXEC_TIMEOUT: v = 0; break;
        case ATTR_INTEGRATED: v = 0; break;
        case ATTR_CAN_MAP_HOST_MEMORY: v = 1; break;
        case ATTR_COMPUTE_MODE: v = 0; break;
        case ATTR_CONCURRENT_KERNELS: v = 1; break;
        case ATTR_ECC_ENABLED: v = 1; break;
        case ATTR_PCI_BUS_ID: v = 0; break;
        case ATTR_PCI_DEVICE_ID: v = 0; break;
        case ATTR_TCC_DRIVER: v = 0; break;
        case ATTR_MEMORY_CLOCK_RATE: v = h100::MEMORY_CLOCK_KHZ; break;
        case ATTR_GLOBAL_MEMORY_BUS_WIDTH: v = h100::MEMORY_BUS_WIDTH; break;
        case ATTR_L2_CACHE_SIZE: v = h100::L2_CACHE_BYTES; break;
        case ATTR_MAX_THREADS_PER_MULTIPROCESSOR: v = h100::MAX_THREADS_PER_SM; break;
        case ATTR_ASYNC_ENGINE_COUNT: v = 3; break;
        case ATTR_UNIFIED_ADDRESSING: v = 1; break;
        case ATTR_PCI_DOMAIN_ID: v = 0; break;
        case ATTR_COMPUTE_CAPABILITY_MAJOR: v = h100::CC_MAJOR; break;
        case ATTR_COMPUTE_CAPABILITY_MINOR: v = h100::CC_MINOR; break;
        case ATTR_STREAM_PRIORITIES_SUPPORTED: v = 1; break;
        case ATTR_GLOBAL_L1_CACHE_SUPPORTED: v = 1; break;
        case ATTR_LOCAL_L1_CACHE_SUPPORTED: v = 1; break;
        case ATTR_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: v = h100::SHARED_PER_SM; break;
        case ATTR_MAX_REGISTERS_PER_MULTIPROCESSOR: v = h100::REGISTERS_PER_SM; break;
        case ATTR_MANAGED_MEMORY: v = 1; break;
        case ATTR_MULTI_GPU_BOARD: v = 0; break;
        case ATTR_HOST_NATIVE_ATOMIC_SUPPORTED: v = 0; break;
        case ATTR_PAGEABLE_MEMORY_ACCESS: v = 0; break;
        case ATTR_CONCURRENT_MANAGED_ACCESS: v = 1; break;
        case ATTR_COMPUTE_PREEMPTION_SUPPORTED: v = 1; break;
        case ATTR_COOPERATIVE_LAUNCH: v = 1; break;
        case ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: v = h100::OPTIN_SHARED_PER_BLOCK; break;
        case ATTR_HOST_REGISTER_SUPPORTED: v = 1; break;
        case ATTR_MAX_BLOCKS_PER_MULTIPROCESSOR: v = h100::MAX_BLOCKS_PER_SM; break;
        case ATTR_RESERVED_SHARED_MEMORY_PER_BLOCK: v = h100::RESERVED_SHARED_PER_BLOCK; break;
        case ATTR_MEMORY_POOLS_SUPPORTED: v = 1; break;
        default:
            // A real attribute this stand-in does not model: say so rather than invent a value.
            if (attribute > 0 && attribute < 256) {
                log("cuDeviceGetAttribute: attribute %d is not modelled by the stand-in", attribute);
                return ERROR_NOT_SUPPORTED;
            }
            return ERROR_INVALID_VALUE;
    }
    *value = v;
    return SUCCESS;
}

CUresult cuGetErrorName(CUresult error, const char** name) {
    if (!name) return cu::ERROR_INVALID_VALUE;
    const ErrorText* e = find_error(error);
    if (!e) {
        *name = nullptr;
        return cu::ERROR_INVALID_VALUE;
    }
    *name = e->name;
    return cu::SUCCESS;
}

CUresult cuGetErrorString(CUresult error, const char** text) {
    if (!text) return cu::ERROR_INVALID_VALUE;
    const ErrorText* e = find_error(error);
    if (!e) {
        *text = nullptr;
        return cu::ERROR_INVALID_VALUE;
    }
    *text = e->text;
    return cu::SUCCESS;
}

}  // extern "C"
