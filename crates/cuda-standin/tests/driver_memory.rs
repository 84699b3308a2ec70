//! Device memory against a size the test sets (its own process: the size is global).

mod driver_support;

use cudarc::driver::sys::CUresult as R;
use driver_support::{code, context, set_memory_limit, standin};

const MIB: usize = 1 << 20;

#[test]
fn allocations_beyond_the_device_size_fail_and_info_follows_them() {
    standin();
    set_memory_limit(MIB as u64);
    let ctx = context();
    let stream = ctx.default_stream();
    assert_eq!(ctx.total_mem().unwrap(), MIB);
    assert_eq!(ctx.mem_get_info().unwrap(), (MIB, MIB));

    let half = stream.alloc_zeros::<u8>(MIB / 2).unwrap();
    assert_eq!(ctx.mem_get_info().unwrap(), (MIB / 2, MIB));
    assert_eq!(
        code(
            stream.alloc_zeros::<u8>(MIB / 2 + 1),
            "CUDA_ERROR_OUT_OF_MEMORY"
        ),
        R::CUDA_ERROR_OUT_OF_MEMORY
    );
    // The synchronous allocator counts against the same size.
    ctx.bind_to_thread().unwrap();
    // SAFETY: a plain allocation request, refused for want of memory.
    assert_eq!(
        code(
            unsafe { cudarc::driver::result::malloc_sync(MIB) },
            "OUT_OF_MEMORY"
        ),
        R::CUDA_ERROR_OUT_OF_MEMORY
    );
    let rest = stream.alloc_zeros::<u8>(MIB / 2).unwrap();
    assert_eq!(ctx.mem_get_info().unwrap(), (0, MIB));
    // Pinned host memory is not device memory.
    // SAFETY: allocated, then dropped (freed) right away.
    drop(unsafe { ctx.alloc_pinned::<u8>(4 * MIB) }.unwrap());
    drop(half);
    assert_eq!(ctx.mem_get_info().unwrap(), (MIB / 2, MIB));
    drop(rest);
    ctx.check_err().unwrap();
    assert_eq!(ctx.mem_get_info().unwrap(), (MIB, MIB));
    let all = stream.alloc_zeros::<u8>(MIB).unwrap();
    drop(all);

    // Raising the size makes room again; lowering it below what is in use leaves nothing free.
    set_memory_limit(4 * MIB as u64);
    let big = stream.alloc_zeros::<u8>(3 * MIB).unwrap();
    set_memory_limit(MIB as u64);
    assert_eq!(ctx.mem_get_info().unwrap(), (0, MIB));
    drop(big);
    ctx.check_err().unwrap();
}
