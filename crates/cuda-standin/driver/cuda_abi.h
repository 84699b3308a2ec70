// The slice of the CUDA 13.0 driver ABI (cuda.h) the stand-in implements, declared here because
// no CUDA headers exist where CI runs. Numeric values are those of cuda.h 13.0; the handle
// types are opaque pointers as there, and `CUdeviceptr` is 64-bit.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {

typedef int CUresult;
typedef int CUdevice;
typedef uint64_t CUdeviceptr;
typedef struct CUctx_st* CUcontext;
typedef struct CUstream_st* CUstream;
typedef struct CUevent_st* CUevent;
typedef struct CUmod_st* CUmodule;
typedef struct CUfunc_st* CUfunction;
typedef struct CUmemPoolHandle_st* CUmemoryPool;
typedef struct CUuuid_st {
    char bytes[16];
} CUuuid;

}  // extern "C"

namespace cu {

// CUresult (cudaError_enum).
enum : CUresult {
    SUCCESS = 0,
    ERROR_INVALID_VALUE = 1,
    ERROR_OUT_OF_MEMORY = 2,
    ERROR_NOT_INITIALIZED = 3,
    ERROR_DEINITIALIZED = 4,
    ERROR_NO_DEVICE = 100,
    ERROR_INVALID_DEVICE = 101,
    ERROR_INVALID_IMAGE = 200,
    ERROR_INVALID_CONTEXT = 201,
    ERROR_NO_BINARY_FOR_GPU = 209,
    ERROR_UNSUPPORTED_LIMIT = 215,
    ERROR_INVALID_PTX = 218,
    ERROR_UNSUPPORTED_PTX_VERSION = 222,
    ERROR_FILE_NOT_FOUND = 301,
    ERROR_INVALID_HANDLE = 400,
    ERROR_NOT_FOUND = 500,
    ERROR_NOT_READY = 600,
    ERROR_ILLEGAL_ADDRESS = 700,
    ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    ERROR_PRIMARY_CONTEXT_ACTIVE = 708,
    ERROR_CONTEXT_IS_DESTROYED = 709,
    ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712,
    ERROR_HOST_MEMORY_NOT_REGISTERED = 713,
    ERROR_MISALIGNED_ADDRESS = 716,
    ERROR_LAUNCH_FAILED = 719,
    ERROR_NOT_PERMITTED = 800,
    ERROR_NOT_SUPPORTED = 801,
    ERROR_UNKNOWN = 999,
};

// CUdevice_attribute values the stand-in answers.
enum DeviceAttribute : int {
    ATTR_MAX_THREADS_PER_BLOCK = 1,
    ATTR_MAX_BLOCK_DIM_X = 2,
    ATTR_MAX_BLOCK_DIM_Y = 3,
    ATTR_MAX_BLOCK_DIM_Z = 4,
    ATTR_MAX_GRID_DIM_X = 5,
    ATTR_MAX_GRID_DIM_Y = 6,
    ATTR_MAX_GRID_DIM_Z = 7,
    ATTR_MAX_SHARED_MEMORY_PER_BLOCK = 8,
    ATTR_TOTAL_CONSTANT_MEMORY = 9,
    ATTR_WARP_SIZE = 10,
    ATTR_MAX_PITCH = 11,
    ATTR_MAX_REGISTERS_PER_BLOCK = 12,
    ATTR_CLOCK_RATE = 13,
    ATTR_TEXTURE_ALIGNMENT = 14,
    ATTR_GPU_OVERLAP = 15,
    ATTR_MULTIPROCESSOR_COUNT = 16,
    ATTR_KERNEL_EXEC_TIMEOUT = 17,
    ATTR_INTEGRATED = 18,
    ATTR_CAN_MAP_HOST_MEMORY = 19,
    ATTR_COMPUTE_MODE = 20,
    ATTR_CONCURRENT_KERNELS = 31,
    ATTR_ECC_ENABLED = 32,
    ATTR_PCI_BUS_ID = 33,
    ATTR_PCI_DEVICE_ID = 34,
    ATTR_TCC_DRIVER = 35,
    ATTR_MEMORY_CLOCK_RATE = 36,
    ATTR_GLOBAL_MEMORY_BUS_WIDTH = 37,
    ATTR_L2_CACHE_SIZE = 38,
    ATTR_MAX_THREADS_PER_MULTIPROCESSOR = 39,
    ATTR_ASYNC_ENGINE_COUNT = 40,
    ATTR_UNIFIED_ADDRESSING = 41,
    ATTR_PCI_DOMAIN_ID = 50,
    ATTR_COMPUTE_CAPABILITY_MAJOR = 75,
    ATTR_COMPUTE_CAPABILITY_MINOR = 76,
    ATTR_STREAM_PRIORITIES_SUPPORTED = 78,
    ATTR_GLOBAL_L1_CACHE_SUPPORTED = 79,
    ATTR_LOCAL_L1_CACHE_SUPPORTED = 80,
    ATTR_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81,
    ATTR_MAX_REGISTERS_PER_MULTIPROCESSOR = 82,
    ATTR_MANAGED_MEMORY = 83,
    ATTR_MULTI_GPU_BOARD = 84,
    ATTR_HOST_NATIVE_ATOMIC_SUPPORTED = 86,
    ATTR_PAGEABLE_MEMORY_ACCESS = 88,
    ATTR_CONCURRENT_MANAGED_ACCESS = 89,
    ATTR_COMPUTE_PREEMPTION_SUPPORTED = 90,
    ATTR_COOPERATIVE_LAUNCH = 95,
    ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
    ATTR_HOST_REGISTER_SUPPORTED = 99,
    ATTR_MAX_BLOCKS_PER_MULTIPROCESSOR = 106,
    ATTR_MAX_PERSISTING_L2_CACHE_SIZE = 108,
    ATTR_RESERVED_SHARED_MEMORY_PER_BLOCK = 111,
    ATTR_MEMORY_POOLS_SUPPORTED = 115,
};

// CUfunction_attribute.
enum FunctionAttribute : int {
    FUNC_MAX_THREADS_PER_BLOCK = 0,
    FUNC_SHARED_SIZE_BYTES = 1,
    FUNC_CONST_SIZE_BYTES = 2,
    FUNC_LOCAL_SIZE_BYTES = 3,
    FUNC_NUM_REGS = 4,
    FUNC_PTX_VERSION = 5,
    FUNC_BINARY_VERSION = 6,
    FUNC_CACHE_MODE_CA = 7,
    FUNC_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
    FUNC_PREFERRED_SHARED_MEMORY_CARVEOUT = 9,
};

// CUevent_flags, CUstream_flags, cuMemHostAlloc / cuMemHostRegister flags.
constexpr unsigned EVENT_BLOCKING_SYNC = 1;
constexpr unsigned EVENT_DISABLE_TIMING = 2;
constexpr unsigned EVENT_INTERPROCESS = 4;
constexpr unsigned STREAM_NON_BLOCKING = 1;
constexpr unsigned MEMHOSTALLOC_ALL = 1 | 2 | 4;        // PORTABLE | DEVICEMAP | WRITECOMBINED
constexpr unsigned MEMHOSTREGISTER_ALL = 1 | 2 | 4 | 8;  // ... | IOMEMORY | READ_ONLY

// Special stream handles: the legacy default stream and the per-thread default stream.
constexpr uintptr_t STREAM_LEGACY = 0x1;
constexpr uintptr_t STREAM_PER_THREAD = 0x2;

// cuLaunchKernel `extra` keys.
constexpr uintptr_t LAUNCH_PARAM_END = 0x0;
constexpr uintptr_t LAUNCH_PARAM_BUFFER_POINTER = 0x1;
constexpr uintptr_t LAUNCH_PARAM_BUFFER_SIZE = 0x2;

}  // namespace cu
