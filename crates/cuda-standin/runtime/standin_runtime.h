// The seam between the stand-in driver (driver/*.cpp: the cu* entry points) and the kernel
// runtime (runtime/*.cpp: kernels compiled for the host, run as fibers). The driver owns device
// memory, contexts, streams, events and modules; the runtime owns kernels and their execution.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {

struct standin_dim3 {
    uint32_t x, y, z;
};

// One host-compiled kernel (an `extern "C" __global__` function of kernels/*.cu).
struct standin_kernel;

// Kernels known to the runtime, by their entry name as in the cubin/PTX.
size_t standin_kernel_count(void);
const standin_kernel* standin_kernel_at(size_t i);
const standin_kernel* standin_find_kernel(const char* name);  // null when unknown
const char* standin_kernel_name(const standin_kernel* k);
// Parameters of the entry: count and byte size of each (as cuFuncGetParamInfo reports them).
size_t standin_kernel_param_count(const standin_kernel* k);
size_t standin_kernel_param_size(const standin_kernel* k, size_t i);
// __launch_bounds__ maximum threads per block, or 1024 when the kernel declares none.
uint32_t standin_kernel_max_threads(const standin_kernel* k);
// Bytes of static __shared__ memory the kernel declares.
size_t standin_kernel_static_shared_bytes(const standin_kernel* k);

// Device memory the runtime may touch: every device-buffer access of a kernel must fall inside
// one registered range (bounds check). The driver registers each allocation and unregisters it
// when freed.
void standin_register_device_range(const void* base, size_t bytes);
void standin_unregister_device_range(const void* base);

// Launch options fixed per process (tests may change them between launches).
struct standin_options {
    uint64_t seed;           // seeds the randomised thread order between barriers
    int check_races;         // shared-memory race detector on/off
    int check_bounds;        // device-buffer bounds and vector-alignment checks on/off
    uint32_t worker_threads; // OS threads running blocks in parallel (0 = hardware concurrency)
};
void standin_set_options(const standin_options* options);
void standin_get_options(standin_options* options);

// Run a grid to completion (the driver calls this in stream order). `params` is cuLaunchKernel's
// kernelParams: one pointer per parameter. Returns 0 on success; otherwise a CUresult-style
// code (e.g. 719 CUDA_ERROR_LAUNCH_FAILED for a kernel fault) and a message naming the kernel,
// the block and thread and what was wrong (race, out-of-bounds, misaligned vector access, a
// shuffle lane that never arrived, a barrier not reached by every thread) in `error`.
int standin_launch(const standin_kernel* k, standin_dim3 grid, standin_dim3 block,
                   uint32_t dynamic_shared_bytes, void** params, char* error, size_t error_len);

}  // extern "C"
