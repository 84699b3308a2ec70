// What a module image (an sm_90 cubin or PTX text, as cuModuleLoadData receives it) says about
// its entries: names, parameter layout, launch bounds, registers and static shared memory, so
// that a module binds to the host-compiled kernels and launches are checked as nvcc built them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_abi.h"

namespace standin {

struct EntryInfo {
    std::string name;
    bool params_known = false;
    std::vector<size_t> param_offsets;
    std::vector<size_t> param_sizes;
    size_t param_bytes = 0;
    int registers = -1;        // per thread; -1 when the image does not say (PTX)
    uint32_t max_threads = 0;  // __launch_bounds__ / .maxntid; 0 when none
    long static_shared = -1;   // bytes; -1 when the image does not say (PTX)
};

struct ImageInfo {
    bool cubin = false;
    int binary_version = 0;  // sm of a cubin (90), or the PTX target
    int ptx_version = 0;     // PTX ISA of a PTX image (e.g. 90 for 9.0)
    std::vector<EntryInfo> entries;
};

// Parse an image; on failure returns the code the real driver gives (INVALID_IMAGE,
// NO_BINARY_FOR_GPU, INVALID_PTX, UNSUPPORTED_PTX_VERSION) and says why in `why`.
CUresult parse_image(const void* image, ImageInfo* out, std::string* why);

}  // namespace standin
