// Runs a grid: blocks on a few OS threads, every CUDA thread of a block a fiber on one of them,
// in a seeded random order between barriers; __syncthreads and warp shuffles as rendezvous that
// fail the launch, naming the kernel, block and threads, when some thread can never arrive.
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "standin_internal.h"

#if !defined(__x86_64__)
#error "the stand-in kernel runtime switches fibers with x86-64 assembly"
#endif

namespace standin {
extern "C" {
STANDIN_HIDDEN void standin_fiber_switch(void** save_sp, void* load_sp);
STANDIN_HIDDEN void standin_fiber_start();
STANDIN_HIDDEN void standin_fiber_main(Fiber* f);
}
}  // namespace standin

// Saves the callee-saved registers on the current stack, stores the stack pointer to *save_sp
// and resumes the context whose stack pointer is load_sp. A fiber's first resume "returns" into
// standin_fiber_start with its Fiber* in r12. (The kernels change neither MXCSR nor the x87
// control word, so those are not switched.)
asm(R"(
    .text
    .p2align 4
    .globl standin_fiber_switch
    .hidden standin_fiber_switch
    .type standin_fiber_switch, @function
standin_fiber_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size standin_fiber_switch, .-standin_fiber_switch

    .p2align 4
    .globl standin_fiber_start
    .hidden standin_fiber_start
    .type standin_fiber_start, @function
standin_fiber_start:
    movq %r12, %rdi
    call standin_fiber_main
    ud2
    .size standin_fiber_start, .-standin_fiber_start
)");

namespace standin {
namespace {

// ---- Fiber stacks: one reserved region, kMaxBlockThreads stacks per worker slot ------------

uint8_t* g_region = nullptr;
size_t g_region_bytes = 0;
std::once_flag g_region_once;

void reserve_region() {
    std::call_once(g_region_once, [] {
        const size_t bytes = size_t{kMaxWorkers} * kMaxBlockThreads * kStackBytes;
        // Over-allocate by one stack to align the region to the stack size.
        void* p = mmap(nullptr, bytes + kStackBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            std::perror("stand-in runtime: reserving fiber stacks");
            std::abort();
        }
        uintptr_t a = (reinterpret_cast<uintptr_t>(p) + kStackBytes - 1) & ~(uintptr_t{kStackBytes} - 1);
        g_region = reinterpret_cast<uint8_t*>(a);
        g_region_bytes = bytes;
    });
}

inline uintptr_t stack_pointer() {
    uintptr_t sp;
    asm volatile("movq %%rsp, %0" : "=r"(sp));
    return sp;
}

// ---- Worker slots --------------------------------------------------------------------------

Worker g_workers[kMaxWorkers];

void ensure_fibers(Worker& w, uint32_t n) {
    while (w.fibers.size() < n) {
        const size_t i = w.fibers.size();
        w.fibers.emplace_back();
        uint8_t* stack = w.stacks + i * kStackBytes;
        // Guard page at the bottom: an overflowing kernel faults instead of running into the
        // next fiber's header.
        if (mprotect(stack, kPageBytes, PROT_NONE) != 0) {
            std::perror("stand-in runtime: guard page");
            std::abort();
        }
        w.fibers.back().stack = stack;
    }
    // Headers point at the fibers; the vector may have moved.
    for (size_t i = 0; i < w.fibers.size(); ++i) {
        w.fibers[i].worker = &w;
        reinterpret_cast<StackHeader*>(w.fibers[i].stack + kStackBytes - kHeaderBytes)->fiber = &w.fibers[i];
    }
}

int find_tls(dl_phdr_info* info, size_t, void* data) {
    auto* w = static_cast<Worker*>(data);
    Dl_info self;
    if (dladdr(reinterpret_cast<void*>(&find_tls), &self) == 0) return 0;
    if (info->dlpi_addr != reinterpret_cast<ElfW(Addr)>(self.dli_fbase)) return 0;
    w->globals.clear();
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_TLS && info->dlpi_tls_data != nullptr) {
            w->tls_lo = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
            w->tls_size = ph.p_memsz;
        }
        // Data segments: where __device__ / __constant__ globals of the kernels live.
        if (ph.p_type == PT_LOAD && !(ph.p_flags & PF_X)) {
            const uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
            w->globals.push_back(Range{lo, lo + ph.p_memsz});
        }
    }
    return 1;
}

// Reads where this OS thread's shared memory (the library's TLS block) is. Keyed by the address
// of one of this library's thread-locals: a new thread may reuse an old one's pthread id, but
// not while keeping the old one's TLS block (and a block at the same address is the same range).
void bind_to_thread(Worker& w) {
    static thread_local int touch;
    __atomic_store_n(&touch, 1, __ATOMIC_RELAXED);
    const uint64_t key = reinterpret_cast<uintptr_t>(&touch);
    if (w.tls_owner == key && w.tls_size != 0) return;
    w.tls_lo = w.tls_size = 0;
    dl_iterate_phdr(&find_tls, &w);
    if (w.tls_size == 0 || key - w.tls_lo >= w.tls_size) {
        std::fprintf(stderr, "stand-in runtime: cannot find this thread's TLS block of the library\n");
        std::abort();
    }
    w.dynamic_shared.clear();
    for (auto get : dynamic_shared_getters()) {
        const uintptr_t a = reinterpret_cast<uintptr_t>(get());
        w.dynamic_shared.push_back(Range{a, a + kMaxSharedBytes});
    }
    w.shadow.assign(w.tls_size / 4 + 1, ShadowCell{0, kNobody, kNobody});
    w.epoch = 1;
    w.tls_owner = key;
}

uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t hash_name(const char* s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; ++s) h = (h ^ static_cast<uint8_t>(*s)) * 0x100000001b3ull;
    return h;
}

void record_error(Launch& l, int code, const std::string& msg) {
    std::lock_guard<std::mutex> g(l.error_mutex);
    if (l.error_code == kSuccess) {
        l.error_code = code;
        l.error = msg;
    }
    l.failed.store(true, std::memory_order_relaxed);
}

std::string block_prefix(const Worker& w) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "kernel %s, block (%u,%u,%u)", w.launch->kernel->desc.name, w.block_idx.x,
                  w.block_idx.y, w.block_idx.z);
    return buf;
}

std::string thread_name(const Fiber& f) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "thread (%u,%u,%u)", f.thread_idx.x, f.thread_idx.y, f.thread_idx.z);
    return buf;
}

const char* state_name(FiberState s) {
    switch (s) {
        case FiberState::AtBarrier: return "waits at __syncthreads";
        case FiberState::AtShuffle: return "waits at a shuffle";
        case FiberState::Exited: return "has exited";
        default: return "is running";
    }
}

// Every thread is blocked or done, and the block cannot go on: say why.
std::string deadlock_message(Worker& w) {
    std::string msg = block_prefix(w) + ": ";
    const uint32_t n = w.block_threads;
    for (uint32_t t = 0; t < n; ++t) {
        const Fiber& f = w.fibers[t];
        if (f.state != FiberState::AtShuffle) continue;
        const uint32_t base = t & ~31u;
        msg += thread_name(f) + " (warp " + std::to_string(t / 32) + ", lane " + std::to_string(t & 31) +
               ") waits at a shuffle with mask 0x";
        char hex[16];
        std::snprintf(hex, sizeof hex, "%08x", f.shfl_mask);
        msg += hex;
        msg += " that never completes:";
        for (uint32_t j = 0; j < 32; ++j) {
            if (!(f.shfl_mask >> j & 1u)) continue;
            if (base + j >= n) {
                msg += " lane " + std::to_string(j) + " does not exist;";
                continue;
            }
            const Fiber& g = w.fibers[base + j];
            if (g.state != FiberState::AtShuffle)
                msg += " lane " + std::to_string(j) + " " + state_name(g.state) + ";";
        }
        return msg;
    }
    // Only barrier waiters and exited threads are left.
    uint32_t first_exited = n, first_waiting = n;
    for (uint32_t t = 0; t < n; ++t) {
        if (w.fibers[t].state == FiberState::Exited && first_exited == n) first_exited = t;
        if (w.fibers[t].state == FiberState::AtBarrier && first_waiting == n) first_waiting = t;
    }
    msg += std::to_string(w.at_barrier) + " threads wait at __syncthreads (first " +
           thread_name(w.fibers[first_waiting]) + ") but " + std::to_string(w.exited) +
           " threads exited without reaching it (first " + thread_name(w.fibers[first_exited]) + ")";
    return msg;
}

void switch_to_scheduler(Fiber& f) { standin_fiber_switch(&f.sp, f.worker->sched_sp); }

// Runs one block to completion; false when it failed (the launch's error is then set).
bool run_block(Worker& w, uint64_t linear_block) {
    Launch& l = *w.launch;
    const standin_dim3 g = l.grid, b = l.block;
    w.block_idx = standin_dim3{static_cast<uint32_t>(linear_block % g.x),
                               static_cast<uint32_t>(linear_block / g.x % g.y),
                               static_cast<uint32_t>(linear_block / (uint64_t{g.x} * g.y))};
    const uint32_t n = b.x * b.y * b.z;
    w.block_threads = n;
    w.rng = l.options.seed ^ hash_name(l.kernel->desc.name) ^ (linear_block * 0x2545f4914f6cdd1dull);
    w.faulted = false;
    // A new block starts a new barrier interval (the shadow of the previous block is stale).
    if (++w.epoch == 0) {
        std::fill(w.shadow.begin(), w.shadow.end(), ShadowCell{0, kNobody, kNobody});
        w.epoch = 1;
    }
    w.runnable.clear();
    for (uint32_t t = 0; t < n; ++t) {
        Fiber& f = w.fibers[t];
        f.tid = t;
        f.thread_idx = standin_dim3{t % b.x, t / b.x % b.y, t / (b.x * b.y)};
        f.state = FiberState::Runnable;
        // Initial frame: six callee-saved registers (r12 = the fiber), then the entry point,
        // placed so that standin_fiber_start runs with a 16-byte aligned stack.
        uintptr_t top = reinterpret_cast<uintptr_t>(f.stack) + kStackBytes - kHeaderBytes;
        auto* frame = reinterpret_cast<uintptr_t*>(top - 72);
        std::memset(frame, 0, 72);
        frame[3] = reinterpret_cast<uintptr_t>(&f);
        frame[6] = reinterpret_cast<uintptr_t>(&standin_fiber_start);
        f.sp = frame;
        w.runnable.push_back(t);
    }
    w.exited = w.at_barrier = w.at_shuffle = 0;
    std::fill(std::begin(w.warp_waiting), std::end(w.warp_waiting), 0u);
    std::fill(std::begin(w.warp_exited), std::end(w.warp_exited), 0u);

    while (true) {
        while (!w.runnable.empty()) {
            const size_t i = static_cast<size_t>((static_cast<unsigned __int128>(splitmix(w.rng)) * w.runnable.size()) >> 64);
            const uint32_t t = w.runnable[i];
            w.runnable[i] = w.runnable.back();
            w.runnable.pop_back();
            Fiber& f = w.fibers[t];
            f.state = FiberState::Running;
            standin_fiber_switch(&w.sched_sp, f.sp);
            if (w.faulted) return false;
        }
        if (w.exited == n) return true;
        if (w.at_barrier == n) {
            // Everyone arrived: next barrier interval.
            if (++w.epoch == 0) {
                std::fill(w.shadow.begin(), w.shadow.end(), ShadowCell{0, kNobody, kNobody});
                w.epoch = 1;
            }
            w.at_barrier = 0;
            for (uint32_t t = 0; t < n; ++t) {
                w.fibers[t].state = FiberState::Runnable;
                w.runnable.push_back(t);
            }
            continue;
        }
        record_error(l, kLaunchFailed, deadlock_message(w));
        return false;
    }
}

void run_blocks(Worker& w, Launch& l) {
    bind_to_thread(w);
    ensure_fibers(w, l.block.x * l.block.y * l.block.z);
    w.launch = &l;
    w.cache_lo = w.cache_hi = 0;
    while (!l.failed.load(std::memory_order_relaxed)) {
        const uint64_t b = l.next_block.fetch_add(1, std::memory_order_relaxed);
        if (b >= l.total_blocks) break;
        if (!run_block(w, b)) break;
    }
    w.launch = nullptr;
}

// ---- The pool: worker slot 0 is the launching thread, slots 1.. are pool threads ------------

// Never destroyed: pool threads wait on these condition variables until the process ends, and
// destroying a condition variable with waiters blocks exit.
struct Pool {
    std::mutex launch_mutex;  // launches run one at a time
    std::mutex mutex;
    std::condition_variable cv, done_cv;
    Launch* launch = nullptr;
    uint64_t generation = 0;
    uint32_t size = 0;     // pool threads started
    uint32_t active = 0;   // pool threads asked to take part in the current launch
    uint32_t running = 0;  // of those, still running
};
Pool& pool() {
    static Pool* p = new Pool;
    return *p;
}

void pool_thread(uint32_t slot) {
    Pool& pl = pool();
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(pl.mutex);
    while (true) {
        pl.cv.wait(lk, [&] { return pl.generation != seen; });
        seen = pl.generation;
        if (slot > pl.active) continue;
        Launch* l = pl.launch;
        lk.unlock();
        run_blocks(g_workers[slot], *l);
        lk.lock();
        if (--pl.running == 0) pl.done_cv.notify_all();
    }
}

void init_workers() {
    static std::once_flag once;
    std::call_once(once, [] {
        reserve_region();
        for (uint32_t i = 0; i < kMaxWorkers; ++i) {
            g_workers[i].slot = i;
            g_workers[i].stacks = g_region + size_t{i} * kMaxBlockThreads * kStackBytes;
        }
    });
}

}  // namespace

Fiber* current_fiber() {
    const uintptr_t sp = stack_pointer();
    if (sp - reinterpret_cast<uintptr_t>(g_region) >= g_region_bytes) return nullptr;
    return reinterpret_cast<StackHeader*>((sp & ~(uintptr_t{kStackBytes} - 1)) + kStackBytes - kHeaderBytes)->fiber;
}

void fiber_fault(int code, const char* fmt, ...) {
    Fiber* f = current_fiber();
    Worker& w = *f->worker;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    record_error(*w.launch, code, block_prefix(w) + ", " + thread_name(*f) + ": " + buf);
    w.faulted = true;
    switch_to_scheduler(*f);
    __builtin_unreachable();
}

extern "C" void standin_fiber_main(Fiber* f) {
    f->worker->launch->kernel->desc.invoke(f->worker->launch->params);
    Worker& w = *f->worker;
    f->state = FiberState::Exited;
    ++w.exited;
    w.warp_exited[f->tid >> 5] |= 1u << (f->tid & 31u);
    switch_to_scheduler(*f);
    __builtin_unreachable();
}

}  // namespace standin

using namespace standin;

extern "C" {

STANDIN_HIDDEN standin_dim3 standin_thread_idx(void) { return current_fiber()->thread_idx; }
STANDIN_HIDDEN standin_dim3 standin_block_idx(void) { return current_fiber()->worker->block_idx; }
STANDIN_HIDDEN standin_dim3 standin_block_dim(void) { return current_fiber()->worker->launch->block; }
STANDIN_HIDDEN standin_dim3 standin_grid_dim(void) { return current_fiber()->worker->launch->grid; }

STANDIN_HIDDEN void standin_syncthreads(void) {
    Fiber& f = *current_fiber();
    Worker& w = *f.worker;
    f.state = FiberState::AtBarrier;
    ++w.at_barrier;
    switch_to_scheduler(f);
}

STANDIN_HIDDEN uint64_t standin_shfl(uint32_t mask, uint64_t value, int kind, int arg, int width) {
    Fiber& f = *current_fiber();
    Worker& w = *f.worker;
    const uint32_t lane = f.tid & 31u;
    const uint32_t base = f.tid & ~31u;
    if (width <= 0 || width > 32 || (width & (width - 1)) != 0)
        fiber_fault(kLaunchFailed, "shuffle width %d is not a power of two <= 32", width);
    if (!(mask >> lane & 1u))
        fiber_fault(kLaunchFailed, "shuffle with mask 0x%08x that does not name the calling lane %u", mask, lane);
    f.shfl_mask = mask;
    f.shfl_kind = kind;
    f.shfl_arg = arg;
    f.shfl_width = width;
    f.shfl_value = value;
    f.state = FiberState::AtShuffle;
    const uint32_t warp = f.tid >> 5;
    // Lanes past the end of the block (a partial last warp) do not exist.
    const uint32_t present = w.block_threads - base >= 32 ? 0xffffffffu : (1u << (w.block_threads - base)) - 1;
    if (mask & ~present) {
        const uint32_t j = static_cast<uint32_t>(__builtin_ctz(mask & ~present));
        fiber_fault(kLaunchFailed, "shuffle mask 0x%08x names lane %u, which does not exist (block of %u threads)",
                    mask, j, w.block_threads);
    }
    if (mask & w.warp_exited[warp]) {
        const uint32_t j = static_cast<uint32_t>(__builtin_ctz(mask & w.warp_exited[warp]));
        fiber_fault(kLaunchFailed, "shuffle mask 0x%08x names lane %u, which has exited", mask, j);
    }
    w.warp_waiting[warp] |= 1u << lane;
    if ((w.warp_waiting[warp] & mask) != mask) {
        ++w.at_shuffle;
        switch_to_scheduler(f);
        return f.shfl_result;
    }
    // Every lane of the mask waits at a shuffle: it must be this one.
    for (uint32_t j = 0; j < 32; ++j) {
        if (!(mask >> j & 1u)) continue;
        const Fiber& g = w.fibers[base + j];
        if (g.shfl_mask != mask)
            fiber_fault(kLaunchFailed, "shuffle mask 0x%08x, but lane %u waits at a shuffle with mask 0x%08x", mask, j,
                        g.shfl_mask);
        if (g.shfl_kind != kind) fiber_fault(kLaunchFailed, "lanes %u and %u meet at different shuffle kinds", lane, j);
    }
    w.warp_waiting[warp] &= ~mask;
    // The last lane has arrived: exchange, then release the others.
    for (uint32_t j = 0; j < 32; ++j) {
        if (!(mask >> j & 1u)) continue;
        Fiber& g = w.fibers[base + j];
        const uint32_t wd = static_cast<uint32_t>(g.shfl_width);
        const uint32_t seg = j & ~(wd - 1);
        const uint32_t a = static_cast<uint32_t>(g.shfl_arg);
        uint32_t src = j;
        switch (g.shfl_kind) {
            case 0: src = seg | (a & (wd - 1)); break;                       // idx
            case 1: src = (j - seg) >= a ? j - a : j; break;                  // up
            case 2: src = (j - seg) + a < wd ? j + a : j; break;              // down
            default: src = ((j ^ a) & ~(wd - 1)) == seg ? (j ^ a) & 31u : j;  // xor
        }
        if (!(mask >> src & 1u))
            fiber_fault(kLaunchFailed, "lane %u reads lane %u through a shuffle whose mask 0x%08x leaves it out", j,
                        src, mask);
        g.shfl_result = w.fibers[base + src].shfl_value;
    }
    for (uint32_t j = 0; j < 32; ++j) {
        if (!(mask >> j & 1u) || j == lane) continue;
        Fiber& g = w.fibers[base + j];
        g.state = FiberState::Runnable;
        w.runnable.push_back(g.tid);
        --w.at_shuffle;
    }
    f.state = FiberState::Running;
    return f.shfl_result;
}

STANDIN_HIDDEN uint64_t standin_atomic(void* addr, int bytes_and_sign, int op, uint64_t value, uint64_t compare) {
    const int bytes = bytes_and_sign & 0xff;
    const bool is_signed = (bytes_and_sign & 0x100) != 0;
    check_access(reinterpret_cast<uintptr_t>(addr), static_cast<size_t>(bytes),
                 kAccessWrite | kAccessCheckAlign | kAccessAtomic);
    auto run = [&](auto* p, auto v, auto c) -> uint64_t {
        using T = std::remove_pointer_t<decltype(p)>;
        T old = __atomic_load_n(p, __ATOMIC_RELAXED);
        while (true) {
            T next;
            switch (op) {
                case 0: next = static_cast<T>(old + v); break;
                case 1: next = old < v ? old : v; break;
                case 2: next = old > v ? old : v; break;
                case 3: next = v; break;
                case 4: next = old == c ? v : old; break;
                case 5: next = old & v; break;
                case 6: next = old | v; break;
                default: next = old ^ v; break;
            }
            if (__atomic_compare_exchange_n(p, &old, next, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
                return static_cast<uint64_t>(old);
        }
    };
    if (bytes == 4) {
        if (is_signed)
            return static_cast<uint32_t>(run(static_cast<int32_t*>(addr), static_cast<int32_t>(value),
                                             static_cast<int32_t>(compare)));
        return run(static_cast<uint32_t*>(addr), static_cast<uint32_t>(value), static_cast<uint32_t>(compare));
    }
    if (is_signed)
        return run(static_cast<int64_t*>(addr), static_cast<int64_t>(value), static_cast<int64_t>(compare));
    return run(static_cast<uint64_t*>(addr), value, compare);
}

int standin_launch(const standin_kernel* k, standin_dim3 grid, standin_dim3 block, uint32_t dynamic_shared_bytes,
                   void** params, char* error, size_t error_len) {
    auto fail = [&](int code, const std::string& msg) {
        if (error != nullptr && error_len > 0) std::snprintf(error, error_len, "%s", msg.c_str());
        return code;
    };
    if (error != nullptr && error_len > 0) error[0] = '\0';
    if (k == nullptr) return fail(kInvalidValue, "launch of a null kernel");
    const uint64_t threads = uint64_t{block.x} * block.y * block.z;
    const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
    const std::string name = k->desc.name;
    if (threads == 0 || blocks == 0) return fail(kInvalidValue, "kernel " + name + ": empty grid or block");
    if (threads > kMaxBlockThreads || block.z > 64)
        return fail(kInvalidValue, "kernel " + name + ": block of " + std::to_string(threads) + " threads");
    if (threads > k->desc.max_threads)
        return fail(kLaunchOutOfResources, "kernel " + name + ": block of " + std::to_string(threads) +
                                               " threads exceeds its __launch_bounds__ (" +
                                               std::to_string(k->desc.max_threads) + ")");
    if (size_t{dynamic_shared_bytes} + k->desc.static_shared_bytes > kMaxSharedBytes)
        return fail(kInvalidValue, "kernel " + name + ": " + std::to_string(dynamic_shared_bytes) +
                                       " bytes of dynamic shared memory exceed the per-block maximum");
    if (k->desc.param_count > 0 && params == nullptr)
        return fail(kInvalidValue, "kernel " + name + ": no parameters given");

    init_workers();
    Pool& pl = pool();
    std::lock_guard<std::mutex> launch_guard(pl.launch_mutex);
    Launch l;
    l.kernel = k;
    l.grid = grid;
    l.block = block;
    l.dynamic_shared_bytes = dynamic_shared_bytes;
    l.params = params;
    l.options = current_options();
    l.ranges = device_ranges_snapshot();
    l.total_blocks = blocks;

    uint32_t workers = l.options.worker_threads;
    if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    workers = static_cast<uint32_t>(std::min<uint64_t>(std::min<uint64_t>(workers, kMaxWorkers), blocks));
    const uint32_t helpers = workers - 1;
    if (helpers > 0) {
        std::unique_lock<std::mutex> lk(pl.mutex);
        while (pl.size < helpers) {
            ++pl.size;
            std::thread(pool_thread, pl.size).detach();
        }
        pl.launch = &l;
        pl.active = helpers;
        pl.running = helpers;
        ++pl.generation;
        pl.cv.notify_all();
    }
    run_blocks(g_workers[0], l);
    if (helpers > 0) {
        std::unique_lock<std::mutex> lk(pl.mutex);
        pl.done_cv.wait(lk, [&] { return pl.running == 0; });
        pl.launch = nullptr;
    }
    if (l.error_code != kSuccess) return fail(l.error_code, l.error);
    return kSuccess;
}

}  // extern "C"
