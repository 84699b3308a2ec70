// How a host-compiled kernel is described to the runtime. The build script generates, for each
// kernels/*.cu, a translation unit that includes the .cu unchanged and then registers each of its
// `extern "C" __global__` entries through STANDIN_KERNEL below, which deduces the parameter count
// and sizes from the entry's function type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

extern "C" {

struct standin_kernel_desc {
    const char* name;    // entry name, as in the cubin
    const char* source;  // the .cu it comes from
    size_t param_count;
    const size_t* param_sizes;
    // Runs the entry on the calling fiber with the parameters of cuLaunchKernel's kernelParams.
    void (*invoke)(void** params);
    uint32_t max_threads;        // __launch_bounds__, or 1024
    size_t static_shared_bytes;  // static __shared__ bytes reachable from the entry
};

// Adds an entry to the registry (called from the generated registration constructors).
void standin_register_kernel(const standin_kernel_desc* desc);
// Adds a dynamic shared array (`extern __shared__ T name[];`): `address` returns the calling
// thread's instance, `bytes` its capacity (the opt-in maximum).
void standin_register_dynamic_shared(void* (*address)(void), size_t bytes);
}

namespace standin {

template <auto Fn>
struct Entry;

// Parameter copies live on the fiber's stack, so that the entry reads them as private memory.
// Not instrumented: kernelParams point at host memory, which a kernel access may not touch.
template <class... A, void (*Fn)(A...)>
struct Entry<Fn> {
    static constexpr size_t param_count = sizeof...(A);
    static constexpr size_t param_sizes[sizeof...(A) + 1] = {sizeof(A)..., 0};

    template <size_t... I>
    __attribute__((no_sanitize("thread"), noinline)) static void call(void** params, std::index_sequence<I...>) {
        std::tuple<std::remove_cv_t<A>...> args;
        (std::memcpy(static_cast<void*>(&std::get<I>(args)), params[I], sizeof(A)), ...);
        Fn(std::get<I>(args)...);
    }
    __attribute__((no_sanitize("thread"))) static void invoke(void** params) {
        call(params, std::index_sequence_for<A...>{});
    }
};

}  // namespace standin

#define STANDIN_KERNEL(fn, source, max_threads, static_shared)                                   \
    {#fn,                                                                                        \
     source,                                                                                     \
     ::standin::Entry<&fn>::param_count,                                                         \
     ::standin::Entry<&fn>::param_sizes,                                                         \
     &::standin::Entry<&fn>::invoke,                                                             \
     static_cast<uint32_t>(max_threads),                                                         \
     static_cast<size_t>(static_shared)}
