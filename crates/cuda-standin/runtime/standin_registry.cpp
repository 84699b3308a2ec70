// The kernel registry, the launch options and the registered device ranges.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "standin_internal.h"

namespace standin {
namespace {

// Function-local statics: registration runs from other translation units' constructors.
std::vector<standin_kernel*>& kernels() {
    static std::vector<standin_kernel*> v;
    return v;
}
std::vector<void* (*)(void)>& dynamic_getters() {
    static std::vector<void* (*)(void)> v;
    return v;
}

std::mutex& state_mutex() {
    static std::mutex m;
    return m;
}
standin_options& options_storage() {
    static standin_options o{0, 1, 1, 0};
    return o;
}
// Copy-on-write: a launch keeps the snapshot it started with.
std::shared_ptr<const std::vector<Range>>& ranges_storage() {
    static std::shared_ptr<const std::vector<Range>> r = std::make_shared<const std::vector<Range>>();
    return r;
}

}  // namespace

std::shared_ptr<const std::vector<Range>> device_ranges_snapshot() {
    std::lock_guard<std::mutex> g(state_mutex());
    return ranges_storage();
}

standin_options current_options() {
    std::lock_guard<std::mutex> g(state_mutex());
    return options_storage();
}

const std::vector<void* (*)(void)>& dynamic_shared_getters() { return dynamic_getters(); }

}  // namespace standin

using namespace standin;

extern "C" {

void standin_register_kernel(const standin_kernel_desc* desc) {
    for (const standin_kernel* k : kernels()) {
        if (std::strcmp(k->desc.name, desc->name) == 0) {
            // Two entries with one name cannot both be what a module lookup means.
            std::fprintf(stderr, "stand-in runtime: kernel %s registered twice (%s and %s)\n", desc->name,
                         k->desc.source, desc->source);
            std::abort();
        }
    }
    auto* k = new standin_kernel{*desc, std::vector<size_t>(desc->param_sizes, desc->param_sizes + desc->param_count)};
    k->desc.param_sizes = k->param_sizes.data();
    auto& v = kernels();
    v.insert(std::upper_bound(v.begin(), v.end(), k,
                              [](const standin_kernel* a, const standin_kernel* b) {
                                  return std::strcmp(a->desc.name, b->desc.name) < 0;
                              }),
             k);
}

void standin_register_dynamic_shared(void* (*address)(void), size_t) { dynamic_getters().push_back(address); }

size_t standin_kernel_count(void) { return kernels().size(); }

const standin_kernel* standin_kernel_at(size_t i) { return i < kernels().size() ? kernels()[i] : nullptr; }

const standin_kernel* standin_find_kernel(const char* name) {
    if (name == nullptr) return nullptr;
    const auto& v = kernels();
    auto it = std::lower_bound(v.begin(), v.end(), name, [](const standin_kernel* a, const char* n) {
        return std::strcmp(a->desc.name, n) < 0;
    });
    return it != v.end() && std::strcmp((*it)->desc.name, name) == 0 ? *it : nullptr;
}

const char* standin_kernel_name(const standin_kernel* k) { return k->desc.name; }
size_t standin_kernel_param_count(const standin_kernel* k) { return k->desc.param_count; }
size_t standin_kernel_param_size(const standin_kernel* k, size_t i) {
    return i < k->desc.param_count ? k->desc.param_sizes[i] : 0;
}
uint32_t standin_kernel_max_threads(const standin_kernel* k) { return k->desc.max_threads; }
size_t standin_kernel_static_shared_bytes(const standin_kernel* k) { return k->desc.static_shared_bytes; }

void standin_register_device_range(const void* base, size_t bytes) {
    const uintptr_t lo = reinterpret_cast<uintptr_t>(base);
    std::lock_guard<std::mutex> g(state_mutex());
    auto next = std::make_shared<std::vector<Range>>(*ranges_storage());
    // A re-registration of the same base replaces the old extent.
    next->erase(std::remove_if(next->begin(), next->end(), [&](const Range& r) { return r.lo == lo; }),
                next->end());
    if (bytes > 0) {
        Range r{lo, lo + bytes};
        next->insert(std::upper_bound(next->begin(), next->end(), r,
                                      [](const Range& a, const Range& b) { return a.lo < b.lo; }),
                     r);
    }
    ranges_storage() = std::move(next);
}

void standin_unregister_device_range(const void* base) {
    const uintptr_t lo = reinterpret_cast<uintptr_t>(base);
    std::lock_guard<std::mutex> g(state_mutex());
    auto next = std::make_shared<std::vector<Range>>(*ranges_storage());
    next->erase(std::remove_if(next->begin(), next->end(), [&](const Range& r) { return r.lo == lo; }),
                next->end());
    ranges_storage() = std::move(next);
}

void standin_set_options(const standin_options* options) {
    std::lock_guard<std::mutex> g(state_mutex());
    options_storage() = *options;
}

void standin_get_options(standin_options* options) {
    std::lock_guard<std::mutex> g(state_mutex());
    *options = options_storage();
}

}  // extern "C"
