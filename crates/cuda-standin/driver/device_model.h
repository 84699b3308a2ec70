// The one device the stand-in presents: the limits of an H100 SXM (80 GB HBM3), compute
// capability 9.0. Launch checks and cuDeviceGetAttribute both read these, so what the stand-in
// refuses is what that device would refuse.
#pragma once
#include <cstdint>

namespace standin::h100 {

constexpr const char* NAME = "slotproof stand-in (H100 SXM limits, kernels on the CPU)";
constexpr int CC_MAJOR = 9;
constexpr int CC_MINOR = 0;
constexpr int SM_VERSION = CC_MAJOR * 10 + CC_MINOR;
constexpr int DRIVER_VERSION = 13000;
// The newest PTX ISA a 13.0 driver accepts (PTX ISA 9.0 came with CUDA 13.0).
constexpr int MAX_PTX_VERSION = 90;

constexpr uint32_t MAX_THREADS_PER_BLOCK = 1024;
constexpr uint32_t MAX_BLOCK_DIM[3] = {1024, 1024, 64};
constexpr uint32_t MAX_GRID_DIM[3] = {2147483647u, 65535, 65535};
constexpr uint32_t WARP_SIZE = 32;
constexpr uint32_t MULTIPROCESSORS = 132;
constexpr uint32_t MAX_THREADS_PER_SM = 2048;
constexpr uint32_t MAX_BLOCKS_PER_SM = 32;
// Shared memory: 48 KiB per block by default, 227 KiB with the opt-in attribute, 228 KiB per SM
// (1 KiB of it reserved per block by the system).
constexpr uint32_t DEFAULT_SHARED_PER_BLOCK = 48 * 1024;
constexpr uint32_t OPTIN_SHARED_PER_BLOCK = 227 * 1024;
constexpr uint32_t SHARED_PER_SM = 228 * 1024;
constexpr uint32_t RESERVED_SHARED_PER_BLOCK = 1024;
constexpr uint32_t REGISTERS_PER_SM = 65536;
constexpr uint32_t REGISTERS_PER_BLOCK = 65536;
// Registers are allocated per warp in units of 256 (8 per thread).
constexpr uint32_t REGISTER_ALLOCATION_UNIT_PER_THREAD = 8;
constexpr uint32_t CONSTANT_MEMORY = 65536;
constexpr uint32_t L2_CACHE_BYTES = 50 * 1024 * 1024;
constexpr int CLOCK_KHZ = 1980000;
constexpr int MEMORY_CLOCK_KHZ = 2619000;
constexpr int MEMORY_BUS_WIDTH = 5120;
// Device memory an H100 80 GB reports (81,559 MiB); tests lower it to reach out-of-memory.
constexpr uint64_t DEVICE_MEMORY_BYTES = 81559ull * 1024 * 1024;
// cuMemAlloc returns 256-byte aligned addresses.
constexpr uint64_t ALLOCATION_ALIGNMENT = 256;
// Stream priorities: 0 is the lowest, -5 the highest.
constexpr int STREAM_PRIORITY_LEAST = 0;
constexpr int STREAM_PRIORITY_GREATEST = -5;

}  // namespace standin::h100
