// Per-access checks of the kernels. The kernel translation units are compiled with
// -fsanitize=thread (compile time only: libtsan is never linked), so g++ calls the __tsan_*
// functions below around every memory access it could not keep in registers. Each address is
// classified:
//   - the running fiber's own stack: a thread's private memory, nothing to check;
//   - this OS thread's TLS block of the library: shared memory of the running block (race check,
//     and for dynamic shared arrays a bound at the launch's dynamic size);
//   - anything else must lie inside a registered device range (bounds check), and an access the
//     compiler emits as naturally aligned must be so (the device faults on a misaligned one).
// A failed check ends the fiber before the access happens and fails the launch.
#include <cstdio>

#include "standin_internal.h"

namespace standin {
namespace {

inline uintptr_t stack_pointer() {
    uintptr_t sp;
    asm volatile("movq %%rsp, %0" : "=r"(sp));
    return sp;
}

const char* access_name(int flags) {
    if (flags & kAccessAtomic) return "atomic";
    return (flags & kAccessWrite) ? "write" : "read";
}

[[noreturn]] __attribute__((noinline, cold)) void shared_race(Worker& w, const Fiber& f, uintptr_t addr,
                                                              int flags, uint16_t other, bool other_wrote) {
    const Fiber& o = w.fibers[other];
    fiber_fault(kLaunchFailed,
                "shared-memory race at %p (offset %zu of the block's shared memory): this thread's %s and "
                "thread (%u,%u,%u)'s %s of the same word in one barrier interval",
                reinterpret_cast<void*>(addr), static_cast<size_t>(addr - w.tls_lo), access_name(flags), o.thread_idx.x,
                o.thread_idx.y, o.thread_idx.z, other_wrote ? "write" : "read");
    (void)f;
}

[[noreturn]] __attribute__((noinline, cold)) void several_readers(Worker& w, uintptr_t addr) {
    fiber_fault(kLaunchFailed,
                "shared-memory race at %p (offset %zu of the block's shared memory): this thread's write and "
                "other threads' reads of the same word in one barrier interval",
                reinterpret_cast<void*>(addr), static_cast<size_t>(addr - w.tls_lo));
}

void shared_access(Worker& w, Fiber& f, uintptr_t addr, size_t bytes, int flags) {
    const Launch& l = *w.launch;
    if (l.options.check_bounds) {
        for (const Range& r : w.dynamic_shared) {
            if (addr - r.lo < r.hi - r.lo && addr + bytes - r.lo > l.dynamic_shared_bytes)
                fiber_fault(kIllegalAddress,
                            "%zu-byte %s at byte %zu of dynamic shared memory, beyond the launch's %u bytes", bytes,
                            access_name(flags), static_cast<size_t>(addr - r.lo), l.dynamic_shared_bytes);
        }
    }
    if (!l.options.check_races || (flags & kAccessAtomic)) return;
    const uint16_t me = static_cast<uint16_t>(f.tid);
    const uintptr_t first = (addr - w.tls_lo) >> 2, last = (addr + bytes - 1 - w.tls_lo) >> 2;
    for (uintptr_t i = first; i <= last; ++i) {
        ShadowCell& c = w.shadow[i];
        if (c.epoch != w.epoch) c = ShadowCell{w.epoch, kNobody, kNobody};
        if (c.writer != kNobody && c.writer != me) shared_race(w, f, addr, flags, c.writer, true);
        if (flags & kAccessWrite) {
            if (c.reader == kSeveral) several_readers(w, addr);
            if (c.reader != kNobody && c.reader != me) shared_race(w, f, addr, flags, c.reader, false);
            c.writer = me;
        } else if (c.reader == kNobody) {
            c.reader = me;
        } else if (c.reader != me) {
            c.reader = kSeveral;
        }
    }
}

void device_access(Worker& w, uintptr_t addr, size_t bytes, int flags) {
    if ((flags & kAccessCheckAlign) && (addr & (bytes - 1)) != 0)
        fiber_fault(kMisalignedAddress, "misaligned %zu-byte %s at %p", bytes, access_name(flags),
                    reinterpret_cast<void*>(addr));
    if (addr - w.cache_lo < w.cache_hi - w.cache_lo && addr + bytes <= w.cache_hi) return;
    const std::vector<Range>& v = *w.launch->ranges;
    // Last range starting at or below addr.
    size_t lo = 0, hi = v.size();
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (v[mid].lo <= addr) lo = mid + 1;
        else hi = mid;
    }
    if (lo > 0) {
        const Range& r = v[lo - 1];
        if (addr < r.hi && addr + bytes <= r.hi) {
            w.cache_lo = r.lo;
            w.cache_hi = r.hi;
            return;
        }
        if (addr < r.hi)
            fiber_fault(kIllegalAddress, "out-of-bounds %zu-byte %s at %p: runs past the end of the allocation [%p, %p)",
                        bytes, access_name(flags), reinterpret_cast<void*>(addr), reinterpret_cast<void*>(r.lo),
                        reinterpret_cast<void*>(r.hi));
    }
    fiber_fault(kIllegalAddress, "out-of-bounds %zu-byte %s at %p: no device allocation contains it", bytes,
                access_name(flags), reinterpret_cast<void*>(addr));
}

}  // namespace

void check_access(uintptr_t addr, size_t bytes, int flags) {
    const uintptr_t sp = stack_pointer();
    Fiber* f = current_fiber();
    if (f == nullptr) return;  // not kernel code (static initialisation of a kernel TU)
    const uintptr_t stack = sp & ~(uintptr_t{kStackBytes} - 1);
    if (addr - stack < kStackBytes) return;
    Worker& w = *f->worker;
    if (addr - w.tls_lo < w.tls_size) {
        shared_access(w, *f, addr, bytes, flags);
        return;
    }
    if (!w.launch->options.check_bounds) return;
    device_access(w, addr, bytes, flags);
}

}  // namespace standin

using standin::check_access;
using standin::kAccessCheckAlign;
using standin::kAccessWrite;

extern "C" {

STANDIN_HIDDEN void standin_vector_access(const void* addr, size_t bytes, int is_write) {
    check_access(reinterpret_cast<uintptr_t>(addr), bytes, kAccessCheckAlign | (is_write ? kAccessWrite : 0));
}

#define STANDIN_TSAN_SIZED(n)                                                                              \
    STANDIN_HIDDEN void __tsan_read##n(void* a) { check_access(reinterpret_cast<uintptr_t>(a), n, kAccessCheckAlign); } \
    STANDIN_HIDDEN void __tsan_write##n(void* a) {                                                        \
        check_access(reinterpret_cast<uintptr_t>(a), n, kAccessCheckAlign | kAccessWrite);                \
    }                                                                                                      \
    STANDIN_HIDDEN void __tsan_unaligned_read##n(void* a) { check_access(reinterpret_cast<uintptr_t>(a), n, 0); } \
    STANDIN_HIDDEN void __tsan_unaligned_write##n(void* a) {                                              \
        check_access(reinterpret_cast<uintptr_t>(a), n, kAccessWrite);                                    \
    }                                                                                                      \
    STANDIN_HIDDEN void __tsan_volatile_read##n(void* a) {                                                \
        check_access(reinterpret_cast<uintptr_t>(a), n, kAccessCheckAlign);                               \
    }                                                                                                      \
    STANDIN_HIDDEN void __tsan_volatile_write##n(void* a) {                                               \
        check_access(reinterpret_cast<uintptr_t>(a), n, kAccessCheckAlign | kAccessWrite);                \
    }

STANDIN_TSAN_SIZED(1)
STANDIN_TSAN_SIZED(2)
STANDIN_TSAN_SIZED(4)
STANDIN_TSAN_SIZED(8)
STANDIN_TSAN_SIZED(16)
#undef STANDIN_TSAN_SIZED

STANDIN_HIDDEN void __tsan_read_range(void* a, size_t n) {
    if (n > 0) check_access(reinterpret_cast<uintptr_t>(a), n, 0);
}
STANDIN_HIDDEN void __tsan_write_range(void* a, size_t n) {
    if (n > 0) check_access(reinterpret_cast<uintptr_t>(a), n, kAccessWrite);
}
// Function entry/exit are not instrumented (--param=tsan-instrument-func-entry-exit=0); these
// exist for a compiler that emits them anyway.
STANDIN_HIDDEN void __tsan_func_entry(void*) {}
STANDIN_HIDDEN void __tsan_func_exit(void) {}
STANDIN_HIDDEN void __tsan_init(void) {}
STANDIN_HIDDEN void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
STANDIN_HIDDEN void __tsan_atomic_signal_fence(int) {}

}  // extern "C"
