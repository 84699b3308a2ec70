//! The stand-in driver through cudarc's safe API (as slotproof-cuda uses it) and, where cudarc
//! has no wrapper, its raw entry points: what works, and what is refused with the real
//! driver's error codes.

mod driver_support;

use std::ffi::c_void;
use std::sync::Arc;

use cudarc::driver::sys::{
    self, CUdevice_attribute as A, CUfunction_attribute as F, CUresult as R,
};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaStream, DevicePtr, DevicePtrMut, LaunchConfig, PushKernelArg,
    result,
};
use cudarc::nvrtc::Ptx;
use driver_support::{FillParams, KERNELS_PTX, code, context, driver_string, standin};

fn cfg(grid: (u32, u32, u32), block: (u32, u32, u32), shared: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: grid,
        block_dim: block,
        shared_mem_bytes: shared,
    }
}

fn fill_function(ctx: &Arc<CudaContext>, name: &str) -> CudaFunction {
    let module = ctx
        .load_module(Ptx::from_src(KERNELS_PTX))
        .expect("load the test PTX");
    module.load_function(name).expect("entry of the test PTX")
}

/// Launch `fill_u32` writing `value` to the `n` words at `dst`.
fn fill(
    stream: &Arc<CudaStream>,
    f: &CudaFunction,
    dst: u64,
    n: u64,
    value: u32,
    config: LaunchConfig,
) -> Result<(), cudarc::driver::DriverError> {
    let p = FillParams {
        dst,
        n,
        value,
        pad: 0,
    };
    let mut b = stream.launch_builder(f);
    b.arg(&p);
    // SAFETY: `p` is laid out as the kernel's FillParams; callers pass a live allocation of at
    // least `n` words, or (in the fault tests) one the stand-in must catch.
    unsafe { b.launch(config) }.map(|_| ())
}

#[test]
fn reports_the_stand_in_and_the_limits_of_an_h100() {
    let ctx = context();
    assert!(driver_string().contains("stand-in"), "{}", driver_string());
    assert!(ctx.name().unwrap().contains("stand-in"));
    assert_eq!(CudaContext::device_count().unwrap(), 1);
    assert_eq!(ctx.compute_capability().unwrap(), (9, 0));
    let expect = [
        (A::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 1024),
        (A::CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, 1024),
        (A::CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, 1024),
        (A::CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 64),
        (A::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, i32::MAX),
        (A::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, 65535),
        (A::CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, 65535),
        (A::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 132),
        (A::CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32),
        (
            A::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK,
            48 * 1024,
        ),
        (
            A::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            232_448,
        ),
        (
            A::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR,
            228 * 1024,
        ),
        (
            A::CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR,
            65536,
        ),
        (A::CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, 65536),
        (A::CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, 2048),
        (A::CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, 1),
    ];
    for (attr, value) in expect {
        assert_eq!(ctx.attribute(attr).unwrap(), value, "{attr:?}");
    }
    let (free, total) = ctx.mem_get_info().unwrap();
    assert_eq!(total, ctx.total_mem().unwrap());
    assert!(free <= total);
    assert_eq!(total, 81_559 << 20, "an H100 80 GB by default");
    // SAFETY: cuDriverGetVersion(int*) with a valid out pointer.
    let mut version = 0;
    assert_eq!(
        unsafe { sys::cuDriverGetVersion(&mut version) },
        R::CUDA_SUCCESS
    );
    assert_eq!(version, 13000);
}

#[test]
fn copies_and_memsets_round_trip() {
    let ctx = context();
    let stream = ctx.default_stream();
    let words: Vec<u32> = (0..10_000u32)
        .map(|i| i.wrapping_mul(0x9E37_79B9))
        .collect();
    let a = stream.clone_htod(&words).unwrap();
    assert_eq!(stream.clone_dtoh(&a).unwrap(), words);
    // Device to device, whole and into a window of a larger buffer.
    let mut b = stream.alloc_zeros::<u32>(words.len()).unwrap();
    assert!(stream.clone_dtoh(&b).unwrap().iter().all(|&w| w == 0));
    stream.memcpy_dtod(&a, &mut b).unwrap();
    assert_eq!(stream.clone_dtoh(&b).unwrap(), words);
    let mut c = stream.alloc_zeros::<u32>(words.len() + 100).unwrap();
    stream
        .memcpy_dtod(&a.slice(10..110), &mut c.slice_mut(50..150))
        .unwrap();
    let c_host = stream.clone_dtoh(&c).unwrap();
    assert_eq!(&c_host[50..150], &words[10..110]);
    assert!(c_host[..50].iter().chain(&c_host[150..]).all(|&w| w == 0));
    // Fresh memory is not zero: it reads as 0xFF bytes until written.
    // SAFETY: the fresh buffer is only read back to check the fill pattern.
    let fresh = unsafe { stream.alloc::<u32>(64) }.unwrap();
    assert!(
        stream
            .clone_dtoh(&fresh)
            .unwrap()
            .iter()
            .all(|&w| w == u32::MAX)
    );
    // memset D32 and D8, asynchronous, on part of a buffer.
    let mut d = stream.alloc_zeros::<u32>(256).unwrap();
    {
        let (ptr, _record) = d.device_ptr_mut(&stream);
        // SAFETY: both ranges lie inside the 1 KiB allocation `d`.
        unsafe {
            assert_eq!(
                sys::cuMemsetD32Async(ptr + 16, 0xDEAD_BEEF, 100, stream.cu_stream()),
                R::CUDA_SUCCESS
            );
            result::memset_d8_async(ptr + 1000, 0xAB, 8, stream.cu_stream()).unwrap();
            // A 32-bit memset needs a 4-byte aligned address; ranges must lie in one allocation.
            assert_eq!(
                sys::cuMemsetD32Async(ptr + 2, 1, 1, stream.cu_stream()),
                R::CUDA_ERROR_INVALID_VALUE
            );
            assert_eq!(
                sys::cuMemsetD32Async(ptr, 1, 257, stream.cu_stream()),
                R::CUDA_ERROR_INVALID_VALUE
            );
        }
    }
    let d_host = stream.clone_dtoh(&d).unwrap();
    assert!(d_host[4..104].iter().all(|&w| w == 0xDEAD_BEEF));
    assert_eq!(d_host[3], 0);
    assert_eq!(d_host[104], 0);
    assert_eq!(d_host[250], 0xABAB_ABAB);
    assert_eq!(d_host[251], 0xABAB_ABAB);
    stream.synchronize().unwrap();
}

#[test]
fn copies_outside_an_allocation_are_refused() {
    let ctx = context();
    let stream = ctx.default_stream();
    let buf = stream.alloc_zeros::<u32>(16).unwrap();
    let host = [0u32; 32];
    let (ptr, _record) = buf.device_ptr(&stream);
    // SAFETY: the calls are refused before any byte moves (the ranges run past the buffer).
    unsafe {
        assert_eq!(
            sys::cuMemcpyHtoD_v2(ptr, host.as_ptr().cast(), 65),
            R::CUDA_ERROR_INVALID_VALUE
        );
        assert_eq!(
            sys::cuMemcpyHtoD_v2(ptr + 4, host.as_ptr().cast(), 64),
            R::CUDA_ERROR_INVALID_VALUE
        );
        // A device address passed as host memory is refused too (a GPU's CPU could not read it).
        assert_eq!(
            sys::cuMemcpyHtoD_v2(ptr, ptr as *const c_void, 16),
            R::CUDA_ERROR_INVALID_VALUE
        );
        assert_eq!(
            sys::cuMemcpyHtoD_v2(ptr, host.as_ptr().cast(), 64),
            R::CUDA_SUCCESS
        );
    }
}

#[test]
fn streams_and_events_order_and_time_work() {
    let ctx = context();
    let stream = ctx.new_stream().unwrap();
    let f = fill_function(&ctx, "fill_u32");
    let mut buf = stream.alloc_zeros::<u32>(4096).unwrap();
    let start = stream
        .record_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
        .unwrap();
    let (ptr, record) = buf.device_ptr_mut(&stream);
    fill(&stream, &f, ptr, 4096, 7, cfg((4, 1, 1), (256, 1, 1), 0)).unwrap();
    drop(record);
    let end = stream
        .record_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
        .unwrap();
    end.synchronize().unwrap();
    assert!(end.is_complete());
    let ms = start.elapsed_ms(&end).unwrap();
    assert!(ms >= 0.0, "{ms}");
    // Another stream waits on the event, then reads what the first one wrote.
    let other = ctx.new_stream().unwrap();
    other.wait(&end).unwrap();
    other.join(&stream).unwrap();
    assert!(other.clone_dtoh(&buf).unwrap().iter().all(|&w| w == 7));
}

/// Issue 11, defect 1: cudarc creates `record_event(None)` events with CU_EVENT_DISABLE_TIMING,
/// so timing a span between two of them (as CudaBackend's profiling did) must fail as on a GPU.
#[test]
fn elapsed_time_between_events_without_timing_is_refused() {
    let ctx = context();
    let stream = ctx.default_stream();
    let start = stream.record_event(None).unwrap();
    let end = stream.record_event(None).unwrap();
    assert_eq!(
        code(start.elapsed_ms(&end), "CUDA_ERROR_INVALID_HANDLE"),
        R::CUDA_ERROR_INVALID_HANDLE
    );
    // One timed event is not enough either.
    let timed = stream
        .record_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
        .unwrap();
    assert_eq!(
        code(timed.elapsed_ms(&end), "INVALID_HANDLE"),
        R::CUDA_ERROR_INVALID_HANDLE
    );
    // An event never recorded has no time.
    let unrecorded = ctx
        .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
        .unwrap();
    assert_eq!(
        code(timed.elapsed_ms(&unrecorded), "INVALID_HANDLE"),
        R::CUDA_ERROR_INVALID_HANDLE
    );
}

#[test]
fn bad_and_destroyed_handles_are_refused() {
    let ctx = context();
    ctx.bind_to_thread().unwrap();
    let bogus = 0xDEAD_0000usize;
    // SAFETY: the stand-in checks every handle against its tables before using it.
    unsafe {
        assert_eq!(
            sys::cuStreamSynchronize(bogus as _),
            R::CUDA_ERROR_INVALID_HANDLE
        );
        assert_eq!(sys::cuEventQuery(bogus as _), R::CUDA_ERROR_INVALID_HANDLE);
        assert_eq!(
            sys::cuEventRecord(bogus as _, std::ptr::null_mut()),
            R::CUDA_ERROR_INVALID_HANDLE
        );
        let mut f = std::ptr::null_mut();
        assert_eq!(
            sys::cuModuleGetFunction(&mut f, bogus as _, c"fill_u32".as_ptr()),
            R::CUDA_ERROR_INVALID_HANDLE
        );
        assert_eq!(
            sys::cuLaunchKernel(
                bogus as _,
                1,
                1,
                1,
                1,
                1,
                1,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            R::CUDA_ERROR_INVALID_HANDLE
        );
        // Destroyed objects.
        let mut event = std::ptr::null_mut();
        assert_eq!(sys::cuEventCreate(&mut event, 0), R::CUDA_SUCCESS);
        assert_eq!(sys::cuEventDestroy_v2(event), R::CUDA_SUCCESS);
        assert_eq!(sys::cuEventQuery(event), R::CUDA_ERROR_INVALID_HANDLE);
        assert_eq!(sys::cuEventDestroy_v2(event), R::CUDA_ERROR_INVALID_HANDLE);
        let mut stream = std::ptr::null_mut();
        assert_eq!(sys::cuStreamCreate(&mut stream, 1), R::CUDA_SUCCESS);
        assert_eq!(sys::cuStreamDestroy_v2(stream), R::CUDA_SUCCESS);
        assert_eq!(sys::cuStreamQuery(stream), R::CUDA_ERROR_INVALID_HANDLE);
        // Memory that is not (or no longer) an allocation.
        let mut dptr = 0;
        assert_eq!(sys::cuMemAlloc_v2(&mut dptr, 64), R::CUDA_SUCCESS);
        assert_eq!(sys::cuMemFree_v2(dptr + 4), R::CUDA_ERROR_INVALID_VALUE);
        assert_eq!(sys::cuMemFree_v2(dptr), R::CUDA_SUCCESS);
        assert_eq!(sys::cuMemFree_v2(dptr), R::CUDA_ERROR_INVALID_VALUE);
        assert_eq!(
            sys::cuMemAlloc_v2(&mut dptr, 0),
            R::CUDA_ERROR_INVALID_VALUE
        );
        assert_eq!(sys::cuMemFreeHost(bogus as _), R::CUDA_ERROR_INVALID_VALUE);
        // An unloaded module's functions go with it.
        let mut module = std::ptr::null_mut();
        let ptx = std::ffi::CString::new(KERNELS_PTX).unwrap();
        assert_eq!(
            sys::cuModuleLoadData(&mut module, ptx.as_ptr().cast()),
            R::CUDA_SUCCESS
        );
        assert_eq!(
            sys::cuModuleGetFunction(&mut f, module, c"fill_u32".as_ptr()),
            R::CUDA_SUCCESS
        );
        assert_eq!(sys::cuModuleUnload(module), R::CUDA_SUCCESS);
        let mut value = 0;
        assert_eq!(
            sys::cuFuncGetAttribute(&mut value, F::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f),
            R::CUDA_ERROR_INVALID_HANDLE
        );
    }
    // Error names come from the stand-in as from the real driver.
    let e = cudarc::driver::DriverError(R::CUDA_ERROR_LAUNCH_FAILED);
    assert_eq!(
        e.error_name().unwrap().to_str().unwrap(),
        "CUDA_ERROR_LAUNCH_FAILED"
    );
}

/// Without a current context, context-bound calls fail with CUDA_ERROR_INVALID_CONTEXT; a
/// cudarc buffer dropped on such a thread (issue 11, defect 3) records that error in its context.
#[test]
fn calls_without_a_current_context_are_refused() {
    let ctx = context();
    let stream = ctx.default_stream();
    let buf = stream.alloc_zeros::<u32>(16).unwrap();
    std::thread::spawn(move || {
        // SAFETY: plain calls with valid out pointers on a thread with no current context.
        unsafe {
            let mut dptr = 0;
            assert_eq!(
                sys::cuMemAlloc_v2(&mut dptr, 64),
                R::CUDA_ERROR_INVALID_CONTEXT
            );
            let (mut free, mut total) = (0, 0);
            assert_eq!(
                sys::cuMemGetInfo_v2(&mut free, &mut total),
                R::CUDA_ERROR_INVALID_CONTEXT
            );
            assert_eq!(sys::cuCtxSynchronize(), R::CUDA_ERROR_INVALID_CONTEXT);
        }
        drop(buf);
    })
    .join()
    .unwrap();
    assert_eq!(
        code(ctx.check_err(), "the free's CUDA_ERROR_INVALID_CONTEXT"),
        R::CUDA_ERROR_INVALID_CONTEXT
    );
}

#[test]
fn modules_bind_entries_to_host_kernels() {
    let ctx = context();
    let module = ctx.load_module(Ptx::from_src(KERNELS_PTX)).unwrap();
    let fill = module.load_function("fill_u32").unwrap();
    let fold = module.load_function("fri_fold_bb").unwrap();
    assert_eq!(
        code(module.load_function("not_an_entry"), "CUDA_ERROR_NOT_FOUND"),
        R::CUDA_ERROR_NOT_FOUND
    );
    assert_eq!(fill.max_threads_per_block().unwrap(), 1024);
    assert_eq!(
        fold.max_threads_per_block().unwrap(),
        256,
        "__launch_bounds__(256)"
    );
    assert_eq!(
        fill.get_attribute(F::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
            .unwrap(),
        48 * 1024
    );
    let with = |text: &str| ctx.load_module(Ptx::from_src(text)).map(|_| ());
    // An entry the runtime has no host build of.
    let unknown = KERNELS_PTX.replace("fri_fold_bb", "no_such_kernel");
    assert_eq!(
        code(with(&unknown), "NO_BINARY_FOR_GPU"),
        R::CUDA_ERROR_NO_BINARY_FOR_GPU
    );
    // A parameter layout that differs from the host build's.
    let resized = KERNELS_PTX.replace("fill_u32_param_0[24]", "fill_u32_param_0[16]");
    assert_eq!(
        code(with(&resized), "INVALID_IMAGE"),
        R::CUDA_ERROR_INVALID_IMAGE
    );
    // PTX newer than a 13.0 driver takes, or for a later GPU.
    let newer = KERNELS_PTX.replace(".version 9.0", ".version 9.1");
    assert_eq!(
        code(with(&newer), "UNSUPPORTED_PTX_VERSION"),
        R::CUDA_ERROR_UNSUPPORTED_PTX_VERSION
    );
    let later_gpu = KERNELS_PTX.replace("sm_90", "sm_100");
    assert_eq!(
        code(with(&later_gpu), "INVALID_PTX"),
        R::CUDA_ERROR_INVALID_PTX
    );
    assert_eq!(
        code(with("not a module"), "INVALID_IMAGE"),
        R::CUDA_ERROR_INVALID_IMAGE
    );
    let foreign_cubin =
        ctx.load_module(Ptx::from_binary(b"\x7fELF\x02\x01\x01\x00garbage".to_vec()));
    assert!(foreign_cubin.is_err());
}

/// Every embedded module of slotproof-cuda (when nvcc built them) loads, cubin and PTX alike,
/// and every entry point the host launches binds to a host-compiled kernel.
#[test]
fn embedded_modules_bind_every_entry_point() {
    use slotproof_cuda::kernels::{ENTRY_POINTS, KERNELS};
    if KERNELS.is_empty() {
        eprintln!("slotproof-cuda was built without nvcc: no embedded modules to load");
        return;
    }
    let ctx = context();
    let mut found = std::collections::HashSet::new();
    for &(name, cubin, ptx) in KERNELS {
        let from_cubin = ctx
            .load_module(Ptx::from_binary(cubin.to_vec()))
            .unwrap_or_else(|e| panic!("{name}.cubin: {e:?}"));
        let from_ptx = ctx
            .load_module(Ptx::from_src(ptx))
            .unwrap_or_else(|e| panic!("{name}.ptx: {e:?}"));
        for &entry in ENTRY_POINTS {
            let (Ok(a), Ok(b)) = (
                from_cubin.load_function(entry),
                from_ptx.load_function(entry),
            ) else {
                continue;
            };
            found.insert(entry);
            // The cubin states registers; the PTX does not (ptxas would decide).
            assert!(a.num_regs().unwrap() > 0, "{entry}");
            assert!(a.max_threads_per_block().unwrap() <= b.max_threads_per_block().unwrap());
        }
    }
    for entry in ENTRY_POINTS {
        assert!(found.contains(entry), "{entry} is in no embedded module");
    }
}

#[test]
fn launches_run_kernels_in_stream_order() {
    let ctx = context();
    let stream = ctx.default_stream();
    let f = fill_function(&ctx, "fill_u32");
    let mut buf = stream.alloc_zeros::<u32>(10_000).unwrap();
    let (ptr, record) = buf.device_ptr_mut(&stream);
    fill(
        &stream,
        &f,
        ptr,
        10_000,
        0x1234_5678,
        cfg((8, 1, 1), (256, 1, 1), 0),
    )
    .unwrap();
    // A second launch over part of it comes after the first.
    fill(
        &stream,
        &f,
        ptr + 400,
        100,
        9,
        cfg((1, 1, 1), (64, 1, 1), 0),
    )
    .unwrap();
    drop(record);
    let host = stream.clone_dtoh(&buf).unwrap();
    assert!(host[..100].iter().all(|&w| w == 0x1234_5678));
    assert!(host[100..200].iter().all(|&w| w == 9));
    assert!(host[200..].iter().all(|&w| w == 0x1234_5678));
}

/// `fill_u32` of a module loaded through the raw API (cudarc keeps CUfunction private); the
/// module stays loaded for the rest of the process.
fn raw_fill_function(ctx: &Arc<CudaContext>) -> sys::CUfunction {
    ctx.bind_to_thread().unwrap();
    let ptx = std::ffi::CString::new(KERNELS_PTX).unwrap();
    let mut module = std::ptr::null_mut();
    let mut func = std::ptr::null_mut();
    // SAFETY: valid out pointers and a NUL-terminated PTX image.
    unsafe {
        assert_eq!(
            sys::cuModuleLoadData(&mut module, ptx.as_ptr().cast()),
            R::CUDA_SUCCESS
        );
        assert_eq!(
            sys::cuModuleGetFunction(&mut func, module, c"fill_u32".as_ptr()),
            R::CUDA_SUCCESS
        );
    }
    func
}

#[test]
fn packed_parameter_buffers_must_have_the_kernels_size() {
    let ctx = context();
    let stream = ctx.default_stream();
    let func = raw_fill_function(&ctx);
    let mut buf = stream.alloc_zeros::<u32>(64).unwrap();
    let (ptr, record) = buf.device_ptr_mut(&stream);
    let params = FillParams {
        dst: ptr,
        n: 64,
        value: 3,
        pad: 0,
    };
    let launch = |size: usize| {
        let mut size = size;
        let mut extra = [
            sys::CU_LAUNCH_PARAM_BUFFER_POINTER_AS_INT as usize as *mut c_void,
            (&params as *const FillParams).cast_mut().cast(),
            sys::CU_LAUNCH_PARAM_BUFFER_SIZE_AS_INT as usize as *mut c_void,
            (&mut size as *mut usize).cast(),
            sys::CU_LAUNCH_PARAM_END_AS_INT as usize as *mut c_void,
        ];
        // SAFETY: `extra` is a well-formed CU_LAUNCH_PARAM list over `params`, which outlives
        // the call; the kernel writes 64 words into `buf`.
        unsafe {
            sys::cuLaunchKernel(
                func,
                1,
                1,
                1,
                64,
                1,
                1,
                0,
                stream.cu_stream(),
                std::ptr::null_mut(),
                extra.as_mut_ptr(),
            )
        }
    };
    assert_eq!(launch(16), R::CUDA_ERROR_INVALID_VALUE);
    assert_eq!(launch(32), R::CUDA_ERROR_INVALID_VALUE);
    assert_eq!(launch(24), R::CUDA_SUCCESS);
    // kernelParams and extra together, or neither for a kernel with parameters, are refused.
    // SAFETY: both calls are refused before the kernel runs.
    unsafe {
        let mut one = [(&params as *const FillParams).cast_mut().cast::<c_void>()];
        let mut end = [std::ptr::null_mut::<c_void>()];
        assert_eq!(
            sys::cuLaunchKernel(
                func,
                1,
                1,
                1,
                64,
                1,
                1,
                0,
                stream.cu_stream(),
                one.as_mut_ptr(),
                end.as_mut_ptr()
            ),
            R::CUDA_ERROR_INVALID_VALUE
        );
        assert_eq!(
            sys::cuLaunchKernel(
                func,
                1,
                1,
                1,
                64,
                1,
                1,
                0,
                stream.cu_stream(),
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            R::CUDA_ERROR_INVALID_VALUE
        );
    }
    drop(record);
    assert!(stream.clone_dtoh(&buf).unwrap().iter().all(|&w| w == 3));
}

#[test]
fn launch_limits_of_the_device_and_the_kernel_are_refused() {
    let ctx = context();
    let stream = ctx.default_stream();
    let f = fill_function(&ctx, "fill_u32");
    let mut buf = stream.alloc_zeros::<u32>(1024).unwrap();
    let (ptr, _record) = buf.device_ptr_mut(&stream);
    let run = |config| fill(&stream, &f, ptr, 1024, 1, config);
    run(cfg((1, 1, 1), (1024, 1, 1), 0)).unwrap();
    run(cfg((1, 1, 1), (32, 32, 1), 0)).unwrap();
    let invalid = |config, what: &str| {
        assert_eq!(
            code(run(config), what),
            R::CUDA_ERROR_INVALID_VALUE,
            "{what}"
        );
    };
    invalid(cfg((1, 1, 1), (1025, 1, 1), 0), "1025 threads");
    invalid(cfg((1, 1, 1), (32, 33, 1), 0), "32 x 33 threads");
    invalid(cfg((1, 1, 1), (1, 1, 65), 0), "block z 65");
    invalid(cfg((1, 65_536, 1), (32, 1, 1), 0), "grid y 65536");
    invalid(cfg((1, 1, 65_536), (32, 1, 1), 0), "grid z 65536");
    invalid(cfg((0, 1, 1), (32, 1, 1), 0), "empty grid");
    invalid(cfg((1, 1, 1), (0, 1, 1), 0), "empty block");
    // Dynamic shared memory: 48 KiB without the opt-in, the opted-in amount with it.
    run(cfg((1, 1, 1), (32, 1, 1), 48 * 1024)).unwrap();
    invalid(
        cfg((1, 1, 1), (32, 1, 1), 48 * 1024 + 1),
        "48 KiB + 1 without opt-in",
    );
    f.set_attribute(F::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 100_000)
        .unwrap();
    run(cfg((1, 1, 1), (32, 1, 1), 100_000)).unwrap();
    invalid(
        cfg((1, 1, 1), (32, 1, 1), 100_001),
        "above the opted-in amount",
    );
    assert_eq!(
        code(
            f.set_attribute(F::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 232_449),
            "INVALID_VALUE"
        ),
        R::CUDA_ERROR_INVALID_VALUE
    );
    f.set_attribute(F::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 232_448)
        .unwrap();
    // Threads above a kernel's __launch_bounds__: too many resources requested.
    let fold = fill_function(&ctx, "fri_fold_bb");
    let mut b = stream.launch_builder(&fold);
    let zeros = [0u64; 8];
    b.arg(&zeros);
    // SAFETY: refused before it runs (257 threads against __launch_bounds__(256)).
    let r = unsafe { b.launch(cfg((1, 1, 1), (257, 1, 1), 0)) };
    assert_eq!(
        code(r, "LAUNCH_OUT_OF_RESOURCES"),
        R::CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES
    );
}

/// A kernel fault fails the launch with the runtime's code (an out-of-bounds write is
/// CUDA_ERROR_ILLEGAL_ADDRESS, as on a GPU) and leaves the context unusable until it is
/// destroyed; other contexts are unaffected.
#[test]
fn a_kernel_fault_is_sticky_until_the_context_is_destroyed() {
    standin();
    let broken = CudaContext::new_non_primary(0, 0).unwrap();
    let stream = broken.default_stream();
    let f = fill_function(&broken, "fill_u32");
    let mut buf = stream.alloc_zeros::<u32>(256).unwrap();
    let (ptr, record) = buf.device_ptr_mut(&stream);
    // 257 words into a buffer of 256: the runtime's bounds check stops the kernel.
    let r = fill(&stream, &f, ptr, 257, 1, cfg((1, 1, 1), (256, 1, 1), 0));
    drop(record);
    let fault = code(r, "a kernel fault");
    assert!(
        matches!(
            fault,
            R::CUDA_ERROR_ILLEGAL_ADDRESS | R::CUDA_ERROR_LAUNCH_FAILED
        ),
        "{fault:?}"
    );
    assert_eq!(code(broken.synchronize(), "sticky"), fault);
    assert_eq!(code(stream.clone_dtoh(&buf), "sticky"), fault);
    assert_eq!(code(stream.alloc_zeros::<u32>(1), "sticky"), fault);
    drop((buf, f, stream));
    drop(broken);
    // The primary context (another context) still works.
    let ctx = context();
    let s = ctx.default_stream();
    let words = s.clone_htod(&[1u32, 2, 3]).unwrap();
    assert_eq!(s.clone_dtoh(&words).unwrap(), [1, 2, 3]);
}

#[test]
fn streams_on_several_threads_work_side_by_side() {
    let ctx = context();
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let stream = ctx.new_stream().unwrap();
                let f = fill_function(&ctx, "fill_u32");
                for round in 0..5u32 {
                    let mut buf = stream.alloc_zeros::<u32>(5000).unwrap();
                    let value = t * 100 + round;
                    let (ptr, record) = buf.device_ptr_mut(&stream);
                    fill(
                        &stream,
                        &f,
                        ptr,
                        5000,
                        value,
                        cfg((4, 1, 1), (128, 1, 1), 0),
                    )
                    .unwrap();
                    drop(record);
                    let host = stream.clone_dtoh(&buf).unwrap();
                    assert!(host.iter().all(|&w| w == value), "thread {t} round {round}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn pinned_host_memory_is_allocated_and_freed() {
    let ctx = context();
    let stream = ctx.default_stream();
    // SAFETY: pinned memory of 1000 u32 words, written before it is read.
    let mut pinned = unsafe { ctx.alloc_pinned::<u32>(1000) }.unwrap();
    pinned
        .as_mut_slice()
        .unwrap()
        .iter_mut()
        .enumerate()
        .for_each(|(i, w)| *w = i as u32);
    let dev = stream.clone_htod(&pinned).unwrap();
    assert_eq!(
        stream.clone_dtoh(&dev).unwrap(),
        (0..1000).collect::<Vec<u32>>()
    );
    drop(pinned);
    ctx.check_err().unwrap();
    // Page-locked memory the way slotproof-cuda's staging slots take it (flags 0).
    ctx.bind_to_thread().unwrap();
    // SAFETY: a plain allocation, freed once below.
    let p = unsafe { result::malloc_host(4096, 0) }.unwrap();
    assert_eq!(p as usize % 4096, 0);
    // SAFETY: `p` came from malloc_host and is freed once.
    unsafe { result::free_host(p) }.unwrap();
    // SAFETY: freeing it again is refused, not undefined.
    assert_eq!(
        code(unsafe { result::free_host(p) }, "INVALID_VALUE"),
        R::CUDA_ERROR_INVALID_VALUE
    );
}
