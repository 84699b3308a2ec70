//! Calls before cuInit, and the device size read from SLOTPROOF_STANDIN_DEVICE_MEMORY at cuInit
//! (its own process, one test: cuInit happens once).

mod driver_support;

use cudarc::driver::sys::{self, CUresult as R};
use driver_support::standin;

#[test]
fn calls_before_init_are_refused_and_init_reads_the_memory_size() {
    standin();
    // SAFETY: raw driver calls with valid out pointers.
    unsafe {
        let mut count = 0;
        assert_eq!(
            sys::cuDeviceGetCount(&mut count),
            R::CUDA_ERROR_NOT_INITIALIZED
        );
        let mut ctx = std::ptr::null_mut();
        assert_eq!(
            sys::cuCtxGetCurrent(&mut ctx),
            R::CUDA_ERROR_NOT_INITIALIZED
        );
        let mut dptr = 0;
        assert_eq!(
            sys::cuMemAlloc_v2(&mut dptr, 64),
            R::CUDA_ERROR_NOT_INITIALIZED
        );
        let mut dev = 0;
        assert_eq!(sys::cuDeviceGet(&mut dev, 0), R::CUDA_ERROR_NOT_INITIALIZED);
        // The version is known before cuInit, as with the real driver.
        let mut version = 0;
        assert_eq!(sys::cuDriverGetVersion(&mut version), R::CUDA_SUCCESS);
        assert_eq!(version, 13000);

        assert_eq!(
            sys::cuInit(1),
            R::CUDA_ERROR_INVALID_VALUE,
            "flags must be 0"
        );
        // SAFETY: this test is the only one in its process, so no other thread reads the
        // environment while it is changed.
        std::env::set_var("SLOTPROOF_STANDIN_DEVICE_MEMORY", "12x");
        assert_eq!(
            sys::cuInit(0),
            R::CUDA_ERROR_INVALID_VALUE,
            "a malformed size"
        );
        std::env::set_var("SLOTPROOF_STANDIN_DEVICE_MEMORY", "3M");
        assert_eq!(sys::cuInit(0), R::CUDA_SUCCESS);
        assert_eq!(sys::cuDeviceGetCount(&mut count), R::CUDA_SUCCESS);
        assert_eq!(count, 1);
        assert_eq!(sys::cuDeviceGet(&mut dev, 1), R::CUDA_ERROR_INVALID_DEVICE);
        assert_eq!(sys::cuDeviceGet(&mut dev, 0), R::CUDA_SUCCESS);
        let mut total = 0;
        assert_eq!(sys::cuDeviceTotalMem_v2(&mut total, dev), R::CUDA_SUCCESS);
        assert_eq!(total, 3 << 20);
        // Initialised, but no context is current yet.
        assert_eq!(
            sys::cuMemAlloc_v2(&mut dptr, 64),
            R::CUDA_ERROR_INVALID_CONTEXT
        );
        assert_eq!(
            sys::cuDevicePrimaryCtxRetain(&mut ctx, dev),
            R::CUDA_SUCCESS
        );
        assert_eq!(sys::cuCtxSetCurrent(ctx), R::CUDA_SUCCESS);
        assert_eq!(
            sys::cuMemAlloc_v2(&mut dptr, 4 << 20),
            R::CUDA_ERROR_OUT_OF_MEMORY
        );
        assert_eq!(sys::cuMemAlloc_v2(&mut dptr, 2 << 20), R::CUDA_SUCCESS);
        assert_eq!(sys::cuMemFree_v2(dptr), R::CUDA_SUCCESS);
        assert_eq!(sys::cuDevicePrimaryCtxRelease_v2(dev), R::CUDA_SUCCESS);
        // Released to zero: the handle stays, but the context is inactive until retained.
        assert_eq!(
            sys::cuMemAlloc_v2(&mut dptr, 64),
            R::CUDA_ERROR_INVALID_CONTEXT
        );
        assert_eq!(
            sys::cuDevicePrimaryCtxRelease_v2(dev),
            R::CUDA_ERROR_INVALID_CONTEXT
        );
    }
}
